// A real OpenID Connect provider (npm oidc-provider) for the tests and the
// demo, on loopback.  It issues RFC 9068 access tokens (typ at+jwt) to
// clients through the client-credentials grant.
//
//   node idp.mjs --port N --key KID:PEM [--key KID:PEM ...]
//                [--audience hoop-gateway] [--client ID:SECRET[:GROUPS]]
//                [--issuer URL] [--tls CERT.pem:KEY.pem]
//
// The first key signs; every key is published in the JWKS, so a test can
// rotate by restarting with a new first key.  GROUPS (comma-separated)
// become a "groups" claim in that client's tokens.
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import Provider from 'oidc-provider';

const args = { key: [], client: [] };
for (let i = 2; i < process.argv.length; i += 2) {
  const name = process.argv[i].replace(/^--/, '');
  const value = process.argv[i + 1];
  if (Array.isArray(args[name])) args[name].push(value); else args[name] = value;
}

const port = Number(args.port);
const audience = args.audience || 'hoop-gateway';
const issuer = args.issuer || `http://127.0.0.1:${port}`;

const keys = args.key.map((spec) => {
  const [kid, file] = spec.split(/:(.*)/s);
  const jwk = createPrivateKey(readFileSync(file)).export({ format: 'jwk' });
  return { ...jwk, kid, use: 'sig', alg: 'RS256' };
});

const groupsOf = {};
const clients = (args.client.length ? args.client : ['agent:agent-secret'])
  .map((spec) => {
    const [id, secret, groups] = spec.split(':');
    groupsOf[id] = groups ? groups.split(',') : [];
    return {
      client_id: id,
      client_secret: secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    };
  });

const provider = new Provider(issuer, {
  clients,
  jwks: { keys },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // a resource indicator must be an absolute URI; the token's aud is
      // the plain audience below
      defaultResource: () => (audience.includes(':') ? audience : `urn:${audience}`),
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'gateway',
        audience,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  extraTokenClaims: (ctx, token) => {
    const groups = groupsOf[token.clientId];
    return groups && groups.length ? { groups } : undefined;
  },
});

const ready = () => console.log(`idp listening on ${issuer}`);

if (args.tls) {
  const [cert, key] = args.tls.split(':');
  createServer({ cert: readFileSync(cert), key: readFileSync(key) },
    provider.callback()).listen(port, '127.0.0.1', ready);
} else {
  provider.listen(port, '127.0.0.1', ready);
}

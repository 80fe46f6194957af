// Verifies a JWT with an independent implementation (jose), so tests can
// check tokens our own helpers mint.
//
//   node jwt-verify.mjs JWKS_FILE_OR_URL TOKEN [ISSUER [AUDIENCE]]
//
// Prints the payload as JSON and exits 0 when valid; prints the reason and
// exits 1 otherwise.
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify } from 'jose';

const [source, token, issuer, audience] = process.argv.slice(2);
const keys = /^https?:/.test(source)
  ? createRemoteJWKSet(new URL(source))
  : createLocalJWKSet(JSON.parse(readFileSync(source, 'utf8')));

try {
  const { payload, protectedHeader } = await jwtVerify(token, keys, {
    issuer: issuer || undefined,
    audience: audience || undefined,
    algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'],
    typ: undefined,
  });
  console.log(JSON.stringify({ header: protectedHeader, payload }));
} catch (e) {
  console.log(`invalid: ${e.code || ''} ${e.message}`);
  process.exit(1);
}

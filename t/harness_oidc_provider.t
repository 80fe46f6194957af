# The real OIDC provider the identity tests talk to: discovery, JWKS and
# client-credentials access tokens in the RFC 9068 form (typ at+jwt) that
# the gateway must accept.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use Hoop::JWT;
use Hoop::Test qw(repo_dir);
use Hoop::Test::IdP;

my $idp = Hoop::Test::IdP->new(clients => ['agent-7:s3cret:dba,sre'])->start;

my $disc = $idp->get_json('/.well-known/openid-configuration');
is($disc->{issuer}, $idp->issuer, 'discovery names the issuer');
like($disc->{jwks_uri}, qr{^http://127\.0\.0\.1:\d+/}, 'and a jwks_uri');

my $jwks = $idp->get_json('/jwks');
is_deeply([map { $_->{kid} } @{ $jwks->{keys} }], ['k1'],
    'the JWKS publishes our key id');
ok(!exists $jwks->{keys}[0]{d}, 'and no private part');

my $token = $idp->token;
my ($h, $c) = Hoop::JWT->decode($token);
is($h->{typ}, 'at+jwt', 'access tokens are RFC 9068 at+jwt');
is($h->{alg}, 'RS256', 'signed RS256');
is($c->{sub}, 'agent-7', 'subject is the client');
is($c->{aud}, 'hoop-gateway', 'audience is the gateway');
is_deeply($c->{groups}, ['dba', 'sre'], 'groups claim present');

my $out = `node ${\ repo_dir()}/t/node/jwt-verify.mjs $disc->{jwks_uri} '$token' ${\ $idp->issuer} hoop-gateway 2>&1`;
is($?, 0, 'the token verifies against the published JWKS') or diag $out;

eval { $idp->token('agent-7:wrong') };
like($@, qr/401|invalid_client/, 'a wrong client secret gets no token');

done_testing;

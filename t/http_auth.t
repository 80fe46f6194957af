# hoop_auth in front of an ordinary proxy_pass location: access tokens from
# a real OIDC provider (client credentials, typ at+jwt) get through as
# Bearer or as the Basic password, the upstream never sees the token but
# sees the identity, and every hostile token is refused with a 401 that
# says why and an error-log line that never holds the token.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use Hoop::JWT;
use Hoop::Test qw(spit slurp);
use Hoop::Test::IdP;
use Hoop::Test::Nginx;

my $idp = Hoop::Test::IdP->new(clients => ['agent-7:s3cret:dba,sre'])->start;
my ($k1) = $idp->keys;
my $iss = $idp->issuer;

my $t = Hoop::Test::Nginx->new(workers => 2);
spit($t->dir . '/jwks.json', JSON::PP->new->encode($idp->get_json('/jwks')));

$t->run(<<"EOF");
http {
    log_format who '\$remote_user|\$hoop_sub|\$hoop_groups|\$http_authorization';
    access_log %%DIR%%/logs/access.log who;

    hoop_oidc_issuer   $iss;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file %%DIR%%/jwks.json;

    server {
        listen 127.0.0.1:%%PORT_backend%%;
        location / {
            return 200 "auth=[\$http_authorization] sub=[\$http_x_sub] groups=[\$http_x_groups] id=[\$http_x_identity] user=[\$http_x_user]\n";
        }
    }

    server {
        listen 127.0.0.1:%%PORT_gw%%;
        hoop_auth on;

        # room for tokens past hoop_oidc_max_token_size, so that it is our
        # cap that refuses them, not nginx's header buffers
        large_client_header_buffers 4 64k;

        proxy_set_header X-Sub \$hoop_sub;
        proxy_set_header X-Groups \$hoop_groups;
        proxy_set_header X-Identity \$hoop_identity;
        proxy_set_header X-User \$remote_user;

        location / {
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
        }

        location /public/ {
            hoop_auth off;
            return 200 "public sub=[\$hoop_sub]\n";
        }

        location /realm/ {
            hoop_auth_realm "agents";
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
        }

        location /tried/ {
            try_files /nonexistent \@named;
        }

        location \@named {
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
        }
    }
}
EOF

my $base = 'http://127.0.0.1:' . $t->port('gw');
my $http = HTTP::Tiny->new;

sub get {
    my ($path, %h) = @_;
    return $http->get("$base$path", { headers => \%h });
}

sub bearer { return (Authorization => "Bearer $_[0]") }

sub challenges {
    my ($res) = @_;
    my $v = $res->{headers}{'www-authenticate'} // [];
    return ref $v ? @$v : ($v);
}

# no token

my $res = get('/api/x');
is($res->{status}, 401, 'no token: 401');
is_deeply([challenges($res)],
    ['Bearer realm="hoop"', 'Basic realm="hoop", charset="UTF-8"'],
    'no token: Bearer and Basic challenges, no error code (RFC 6750 3.1)');

$res = get('/public/x');
is($res->{status}, 200, 'hoop_auth off in a nested location');
is($res->{content}, "public sub=[]\n", 'and no identity there');

# a real provider's token

my $token = $idp->token;
$res = get('/api/x', bearer($token));
is($res->{status}, 200, 'oidc-provider at+jwt access token: 200');
like($res->{content}, qr/auth=\[\] /, 'the token is not forwarded upstream');
like($res->{content}, qr/sub=\[agent-7\] groups=\[dba,sre\]/,
    '$hoop_sub and $hoop_groups reach the upstream');
my ($id) = $res->{content} =~ /id=\[(.*?)\] user/;
my $identity = eval { decode_json($id) };
is($identity->{sub}, 'agent-7', '$hoop_identity is JSON with the subject');
is($identity->{client_id}, 'agent-7', 'the client id');
is($identity->{iss}, $iss, 'the issuer');
ok(length($identity->{jti} // ''), 'and the token id');
like($res->{content}, qr/user=\[\]/,
    'Basic credentials are no $remote_user either');

$res = get('/api/x', bearer($token), 'X-Other' => 'kept');
is($res->{status}, 200, 'again: 200 (verified-token cache or not)');

$res = get('/api/x', Authorization => 'Basic '
    . encode_base64("x-token:$token", ''));
is($res->{status}, 200, 'the token as the Basic password: 200 (git)');
like($res->{content}, qr/auth=\[\] sub=\[agent-7\]/,
    'Basic: credentials not forwarded, identity is');

$res = get('/tried/x', bearer($token));
is($res->{status}, 200, 'try_files to a named location: 200');
like($res->{content}, qr/auth=\[\] sub=\[agent-7\]/,
    'the identity survives the internal redirect');

$res = get('/realm/x');
is((challenges($res))[0], 'Bearer realm="agents"', 'hoop_auth_realm');

# hostile tokens: each refused with the reason in the challenge

my $now = time;
my %good = (iss => $iss, aud => 'hoop-gateway', sub => 'mallory',
    exp => $now + 300, iat => $now, jti => 'j1');
my $mint = sub {
    my (%o) = @_;
    my %c = (%good, %{ delete $o{claims} || {} });
    delete $c{$_} for @{ delete $o{drop} || [] };
    return $k1->mint(claims => \%c, header => { typ => 'at+jwt' }, %o);
};
my $other = Hoop::JWT->rsa_key(file => $t->dir . '/other.pem', kid => 'k1');
my $good = $mint->();
my $pem = $k1->public_pem;
# deep enough to be a bomb, small enough to pass the token size cap
my $bomb = '{"alg":"RS256","kid":"k1","x":' . ('[' x 1200) . (']' x 1200)
    . '}';

my @hostile = (
    ['alg none', $mint->(alg => 'none'), 'signature algorithm not allowed'],
    ['HS256 keyed with the RSA public key',
        $mint->(alg => 'HS256', hmac_secret => $pem),
        'signature algorithm not allowed'],
    ['wrong issuer', $mint->(claims => { iss => 'https://evil.example' }),
        'wrong issuer'],
    ['wrong audience', $mint->(claims => { aud => 'other-app' }),
        'wrong audience'],
    ['expired', $mint->(claims => { exp => $now - 3600 }), 'token expired'],
    ['not yet valid', $mint->(claims => { nbf => $now + 3600 }),
        'token not yet valid'],
    ['no expiry', $mint->(drop => ['exp']), 'token has no expiry'],
    ['unknown kid', $mint->(header => { kid => 'k-unknown',
        typ => 'at+jwt' }), 'unknown signing key'],
    ['signed by another key under the same kid',
        $other->mint(claims => \%good), 'invalid signature'],
    ['truncated', substr($good, 0, length($good) - 10),
        qr/invalid signature|malformed token/],
    ['garbled base64', do { (my $g = $good) =~ s/^(.{5})./$1!/; $g },
        'malformed token'],
    ['two segments', join('.', (split /\./, $good)[0, 1]),
        'malformed token'],
    ['oversized', $mint->(claims => { pad => 'x' x 9000 }),
        'token too large'],
    ['JSON bomb in the header', $k1->mint(raw_header => $bomb,
        claims => \%good), 'invalid token header'],
    ['duplicate claims', $k1->mint(raw_claims =>
        '{"iss":"' . $iss . '","aud":"hoop-gateway","sub":"a","exp":'
        . ($now + 300) . ',"sub":"admin"}'), 'invalid claims'],
    ['typ JOSE+JSON', $mint->(header => { typ => 'JOSE+JSON' }),
        'token type not accepted'],
);

for my $case (@hostile) {
    my ($name, $tok, $reason) = @$case;
    my $r = get('/api/x', bearer($tok));
    is($r->{status}, 401, "$name: 401");
    my ($ch) = challenges($r);
    like($ch, ref $reason ? qr/error_description="(?:$reason)"/
        : qr/error_description="\Q$reason\E"/, "$name: says why")
        or diag $ch;
    like($ch, qr/error="invalid_token"/, "$name: invalid_token");
}

$res = get('/api/x', Authorization => 'Basic '
    . encode_base64("x-token:" . $mint->(claims => { aud => 'x' }), ''));
is($res->{status}, 401, 'a bad token as the Basic password: 401');

$res = get('/api/x', Authorization => 'Digest username="a"');
is($res->{status}, 401, 'another scheme counts as no token');
is((challenges($res))[0], 'Bearer realm="hoop"', 'and gets the plain challenge');

$t->stop;

my $log = $t->error_log;
my $refused = () = $log =~ /hoop_auth: Bearer token refused: /g;
is($refused, scalar @hostile, 'one error-log line per refused Bearer token');
like($log, qr/hoop_auth: Basic token refused: wrong audience/,
    'Basic refusals are logged too');
like($log, qr/token refused: wrong issuer, client: 127\.0\.0\.1/,
    'with the client address');

my $access = slurp($t->dir . '/logs/access.log');
like($access, qr/^-\|agent-7\|dba,sre\|-$/m,
    'access log: $hoop_sub, no Authorization header');
unlike($access, qr/x-token/, 'no Basic user name either');

# nginx itself prints every request header at debug level (the harness runs
# with error_log debug); every other level must be free of tokens
(my $nondebug = $log) =~ s/^.*\[debug\].*\n//mg;
my @secrets = ($token, $good, map { $_->[1] } @hostile);
my @leaks = grep {
    my $sig = (split /\./, $_)[-1] // '';
    length($sig) > 20
        && ($nondebug =~ /\Q$sig\E/ || $access =~ /\Q$sig\E/)
} @secrets;
is(scalar @leaks, 0, 'no token appears in the error or access log')
    or diag explain [map { substr($_, 0, 60) } @leaks];

done_testing;

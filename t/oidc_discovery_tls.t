# Discovery over HTTPS, the way real providers serve it: with the provider's
# CA trusted (hoop_oidc_ssl_trusted_certificate) the keys are fetched and
# tokens verify; with a CA nobody configured the fetch fails on the
# certificate, the tokens are refused, and the log says why.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use Hoop::Test qw(test_dir spit wait_until);
use Hoop::Test::IdP;
use Hoop::Test::Nginx;
use Hoop::Test::Pg;

# a private CA and a certificate for localhost
my $d = test_dir('pki');
spit("$d/san.ext", "subjectAltName=DNS:localhost\n");
for my $cmd (
    "openssl req -x509 -newkey rsa:2048 -nodes -keyout $d/ca.key"
        . " -out $d/ca.pem -subj /CN=hoop-test-ca -days 2",
    "openssl req -newkey rsa:2048 -nodes -keyout $d/srv.key"
        . " -out $d/srv.csr -subj /CN=localhost",
    "openssl x509 -req -in $d/srv.csr -CA $d/ca.pem -CAkey $d/ca.key"
        . " -CAcreateserial -out $d/srv.pem -days 2 -extfile $d/san.ext",
) {
    system("$cmd >/dev/null 2>&1") == 0 or die "failed: $cmd";
}
chmod 0644, "$d/ca.pem";

my $idp = Hoop::Test::IdP->new(clients => ['agent-7:s3cret'],
    tls => ["$d/srv.pem", "$d/srv.key", "$d/ca.pem"])->start;
my $iss = $idp->issuer;
like($iss, qr{^https://localhost:\d+$}, 'the provider is served over HTTPS');

my $pg = Hoop::Test::Pg->new->start;
my $t = Hoop::Test::Nginx->new(workers => 1);
$t->run(<<"EOF");
http {
    hoop_oidc_issuer    $iss;
    hoop_oidc_audience  hoop-gateway;
    hoop_oidc_ssl_trusted_certificate $d/ca.pem;

    server {
        listen 127.0.0.1:%%PORT_http%%;
        location / {
            hoop_auth on;
            proxy_set_header X-Sub \$hoop_sub;
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
        }
    }
    server {
        listen 127.0.0.1:%%PORT_backend%%;
        return 200 "sub=\$http_x_sub\\n";
    }
}
stream {
    hoop_pg_require_tls off;    # loopback: see pg_tls.t
    # the system CAs only: the private CA is not among them
    hoop_oidc_issuer    $iss;
    hoop_oidc_audience  hoop-gateway;

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
    }
}
EOF

my $token = $idp->token;
my $res = HTTP::Tiny->new->get('http://127.0.0.1:' . $t->port('http') . '/x',
    { headers => { Authorization => "Bearer $token" } });
is($res->{status}, 200, 'keys fetched over HTTPS from a trusted provider');
is($res->{content}, "sub=agent-7\n", 'and the token verifies');

{
    local $ENV{PGPASSWORD} = $token;
    my $p = $t->port('pg');
    my $out = `psql -X -At -h 127.0.0.1 -p $p -U postgres -d postgres -c 'SELECT 1' 2>&1`;
    isnt($? >> 8, 0, 'an untrusted provider certificate: no keys, no login');
    like($out, qr/access token refused: unknown signing key/,
        'the client is told the key is unknown') or diag $out;
}

$t->stop;
like($t->error_log,
    qr/certificate of "\Q$iss\E\/\.well-known\/openid-configuration" not trusted/,
    'the log names the untrusted certificate');

done_testing;

# Keys by OIDC discovery, in a mixed http{} + stream{} configuration: the
# gateway finds the JWKS through the issuer's discovery document without
# blocking a worker, picks up a key rotation at the provider (new kid) on
# the first token that needs it, without a reload, keeps verifying with
# cached keys while the provider is down (logging the outage once), and
# refuses a token whose key nobody publishes after one refetch, over HTTP
# and Postgres alike.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use Hoop::JWT;
use Hoop::Test qw(wait_until);
use Hoop::Test::IdP;
use Hoop::Test::Nginx;
use Hoop::Test::Pg;

my $idp = Hoop::Test::IdP->new(clients => ['agent-7:s3cret:dba'])->start;
my ($k1) = $idp->keys;
my $iss = $idp->issuer;
my $pg = Hoop::Test::Pg->new->start;

my $t = Hoop::Test::Nginx->new(workers => 2);
$t->run(<<"EOF");
http {
    hoop_oidc_issuer    $iss;
    hoop_oidc_audience  hoop-gateway;
    hoop_oidc_refetch_interval 1s;
    hoop_oidc_token_cache off;

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
    hoop_oidc_issuer    $iss;
    hoop_oidc_audience  hoop-gateway;
    hoop_oidc_refetch_interval 1s;

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
    }
}
EOF

my $url = 'http://127.0.0.1:' . $t->port('http') . '/x';
my $http = HTTP::Tiny->new(timeout => 10);

sub get {
    my ($token) = @_;
    return $http->get($url, { headers => { Authorization => "Bearer $token" } });
}

sub psql {
    my ($token) = @_;
    local $ENV{PGPASSWORD} = $token;
    my $p = $t->port('pg');
    my $out = `psql -X -At -h 127.0.0.1 -p $p -U postgres -d postgres -c 'SELECT 1' 2>&1`;
    return ($? >> 8, $out);
}

my $token = $idp->token;
my $res = get($token);
is($res->{status}, 200, 'keys found by discovery verify a provider token');
is($res->{content}, "sub=agent-7\n", 'with the identity');

my ($rc, $out) = psql($token);
is($rc, 0, 'the stream side discovers the keys too') or diag $out;

wait_until(sub { $t->error_log =~ /signing keys of "\Q$iss\E" fetched from "\Q$iss\E\/jwks"/ },
    'the fetch to be logged');
pass('the fetch is logged with the issuer and the jwks_uri');

# rotation: the provider signs with a new key k2 and still publishes k1

my $k2 = Hoop::JWT->rsa_key(file => $t->dir . '/k2.pem', kid => 'k2');
$idp->stop;
$idp->start(keys => [$k2, $k1]);
my $rotated = $idp->token;
is((Hoop::JWT->decode($rotated))[0]{kid}, 'k2', 'the provider now signs with k2');

$res = get($rotated);
is($res->{status}, 200, 'a token with the new kid passes, no reload');
($rc, $out) = psql($idp->token);
is($rc, 0, 'on the stream side as well') or diag $out;
is(get($token)->{status}, 200, 'tokens of the old key still pass');

# outage: cached keys keep working

$idp->stop;
my $now = time;
my %claims = (iss => $iss, aud => 'hoop-gateway', sub => 'agent-7',
    exp => $now + 300);
for (1 .. 3) {
    $res = get($k2->mint(claims => { %claims, jti => "o$_" },
        header => { typ => 'at+jwt' }));
    is($res->{status}, 200, "provider down: a k2 token still passes ($_)");
}

my $k3 = Hoop::JWT->rsa_key(file => $t->dir . '/k3.pem', kid => 'k3');
my $t0 = time;
$res = get($k3->mint(claims => \%claims));
is($res->{status}, 401, 'a kid nobody publishes: 401 after the refetch');
like($res->{headers}{'www-authenticate'}[0] // $res->{headers}{'www-authenticate'},
    qr/unknown signing key/, 'saying the key is unknown');
cmp_ok(time - $t0, '<', 8, 'without hanging on the dead provider');

# the Postgres side, same outage: cached keys log in, an unknown kid is
# refused in the client's protocol, and quickly
($rc, $out) = psql($k2->mint(claims => { %claims, jti => 'pg-down' },
    header => { typ => 'at+jwt' }));
is($rc, 0, 'provider down: psql logs in with a k2 token (cached keys)')
    or diag $out;
$t0 = time;
($rc, $out) = psql($k3->mint(claims => { %claims, jti => 'pg-k3' }));
like($out, qr/FATAL:  hoop: access token refused: unknown signing key/,
    'and an unknown kid gets FATAL 28P01 saying why');
cmp_ok(time - $t0, '<', 8, 'without hanging on the dead provider');

# unknown kids ask for a refetch at most once per interval: keep asking
# until one of them finds the provider down
my $n = 0;
my @statuses;
wait_until(sub {
    push @statuses, get($k3->mint(claims => { %claims, jti => 'u' . $n++ }))
        ->{status};
    return $t->error_log =~ /cannot fetch the discovery/;
}, 'a refetch to find the provider down');
is_deeply([grep { $_ != 401 } @statuses], [],
    "unknown kid while down: every one of $n requests gets 401");

# a reload while the provider is down: the keys live in shared memory
# and survive it

my $before = () = $t->error_log =~ /start worker process/g;
kill 'HUP', $t->pid;
wait_until(sub {
    my $now = () = $t->error_log =~ /start worker process/g;
    return $now > $before
        && $t->error_log =~ /gracefully shutting down/;
}, 'the reload');
$http = HTTP::Tiny->new(timeout => 10);    # a new connection: a new worker
$res = get($k2->mint(claims => { %claims, jti => 'after-reload' },
    header => { typ => 'at+jwt' }));
is($res->{status}, 200,
    'after nginx -s reload, with the provider still down, cached keys verify');

# recovery

$idp->start(keys => [$k2, $k1]);
wait_until(sub { $t->error_log =~ /the identity provider is reachable again/ },
    'the recovery to be noticed', 20);
pass('recovery is logged');

$t->stop;

my $log = $t->error_log;
my @outage = $log =~ /\[error\].*(cannot fetch the discovery of "\Q$iss\E")/g;
ok(@outage >= 1 && @outage <= 2, 'the outage is logged at error level at'
    . ' most once per key store (http{}, stream{}), not per request')
    or diag join "\n", grep { /cannot fetch/ } split /\n/, $log;

done_testing;

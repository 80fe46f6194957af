# An identity provider that accepts connections and never answers (a hung
# IdP, a load balancer with no backend): every fetch ends at
# hoop_oidc_fetch_timeout, the outage is logged, tokens are refused in
# bounded time, and a Postgres client that keeps sending while its login
# waits for keys is ended cleanly.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use IO::Socket::INET;
use Hoop::JWT;
use Hoop::Test qw(free_port spawn wait_until port_open);
use Hoop::Test::Nginx;

my $port = free_port();
spawn(cmd => [$^X, '-MIO::Socket::INET', '-e', q{
    my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$ARGV[0]",
        Listen => 64, ReuseAddr => 1) or die $!;
    my @held;
    while (my $c = $l->accept) { push @held, $c }    # and never answer
}, $port]);
wait_until(sub { port_open($port) }, 'the silent IdP to listen');

my $t = Hoop::Test::Nginx->new(workers => 1);
my $key = Hoop::JWT->rsa_key(file => $t->dir . '/k.pem', kid => 'k1');
$t->run(<<"EOF");
http {
    hoop_oidc_issuer    http://127.0.0.1:$port;
    hoop_oidc_audience  hoop-gateway;
    hoop_oidc_fetch_timeout 300ms;
    hoop_oidc_refetch_interval 1s;
    server {
        listen 127.0.0.1:%%PORT_http%%;
        location / { hoop_auth on; return 204; }
        location /x { hoop_auth on; proxy_pass http://127.0.0.1:%%PORT_http%%/y; }
        location /y { return 200; }
    }
}
stream {
    hoop_pg_require_tls off;    # loopback: see pg_tls.t
    hoop_oidc_issuer    http://127.0.0.1:$port;
    hoop_oidc_audience  hoop-gateway;
    hoop_oidc_fetch_timeout 300ms;
    hoop_oidc_refetch_interval 1s;
    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:1;
        hoop_pg_startup_timeout 5s;
    }
}
EOF

my $token = $key->mint(claims => { iss => "http://127.0.0.1:$port",
    aud => 'hoop-gateway', sub => 'a', exp => time + 300 });

wait_until(sub { $t->error_log =~ /cannot fetch the discovery of .*: timed out/ },
    'the first fetch to time out');
pass('a silent provider: the fetch times out and the outage is logged');

# a Postgres client that keeps talking while its login waits for keys

my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port('pg'))
    or die;
my $startup = pack('N', 196608) . "user\0postgres\0\0";
print $s pack('N', length($startup) + 4) . $startup;
sysread($s, my $req, 9);
is($req, pack('aNN', 'R', 8, 3), 'asked for the password');
my $pw = "$token\0";
print $s 'p' . pack('N', length($pw) + 4) . $pw . "Q\0\0\0\x0dSELECT 1\0";
print $s "Q\0\0\0\x0dSELECT 2\0" for 1 .. 5;
my $got = '';
while (sysread($s, my $buf, 4096)) { $got .= $buf }
like($got, qr/access token refused: unknown signing key/,
    'the waiting login ends with a clean refusal');

my $t0 = time;
my $res = HTTP::Tiny->new(timeout => 10)->get(
    'http://127.0.0.1:' . $t->port('http') . '/x',
    { headers => { Authorization => "Bearer $token" } });
is($res->{status}, 401, 'a token meanwhile: 401');
cmp_ok(time - $t0, '<', 5, 'in bounded time');

$t->stop;
like($t->error_log, qr/hoop pg: login waits for signing keys/,
    'the login did wait for keys (the harness logs at debug level)');

done_testing;

# A worker that has just started (every reload starts new ones) is still
# connecting to Redis when its first clients arrive.  Under
# hoop_audit_fail closed, without a spool, those clients used to be
# refused (503, 57P03) for want of an audit trail that was milliseconds
# away.  They now wait for the worker's first connection, bounded by the
# hoop_redis timeout, and are served once it is made.  The window is
# widened here by freezing Redis (SIGSTOP) before nginx starts: the TCP
# connection is accepted by the kernel, the SELECT is not answered.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use Hoop::JWT;
use Hoop::Test qw(spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;
use Hoop::Test::Redis;

my $redis = Hoop::Test::Redis->new->start;
my $pg = Hoop::Test::Pg->new->start;
my $t = Hoop::Test::Nginx->new(workers => 1);
my $d = $t->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));
mkdir "$d/html";
spit("$d/html/index.html", "hello\n");
my $tok = $key->mint(claims => { iss => 'https://idp.test',
    aud => 'hoop-gateway', sub => 'agent-7', exp => time + 600 });

my $common = <<"EOF";
    hoop_redis 127.0.0.1:${\ $redis->port} timeout=20s;
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file $d/jwks.json;
    hoop_audit_fail closed;
EOF

kill 'STOP', $redis->{pid};
$t->run(<<"EOF");
http {
$common
    server {
        listen 127.0.0.1:%%PORT_http%%;
        root $d/html;
        location / {
            hoop_auth on;
            hoop_audit on;
        }
    }
}
stream {
$common
    hoop_pg_require_tls off;    # loopback: see pg_tls.t
    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
    }
    server {                    # audited, without tokens
        listen 127.0.0.1:%%PORT_pgnoauth%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_pg_auth off;
        hoop_audit on;
    }
}
EOF

# a login and a request, each in the background
my $p = $t->port('pg');
open my $psql, '-|', "PGPASSWORD='$tok' psql -X -At -h 127.0.0.1 -p $p"
    . " -U postgres -d postgres -c 'SELECT 42' 2>&1" or die;
open my $noauth, '-|', "psql -X -At -h 127.0.0.1 -p ${\ $t->port('pgnoauth')}"
    . " -U postgres -d postgres -c 'SELECT 43' 2>&1" or die;
my $url = 'http://127.0.0.1:' . $t->port('http') . '/';
open my $get, '-|', $^X, '-MHTTP::Tiny', '-e', q{
    my $r = HTTP::Tiny->new(timeout => 30)->get($ARGV[0],
        { headers => { Authorization => "Bearer $ARGV[1]" } });
    print "$r->{status}\n";
}, $url, $tok or die;

wait_until(sub {
    my $log = $t->error_log;
    my %waiting = map { $_ => 1 }
        $log =~ /\*(\d+) hoop pg: login waits for this worker's first Redis/g;
    keys %waiting == 2
        && $log =~ /request waits for this worker's first Redis connection/;
}, 'all three to wait for the Redis connection');
pass('with Redis not answering yet, the logins (with a token and without)'
    . ' and the request wait');

kill 'CONT', $redis->{pid};
my $out = do { local $/; <$psql> };
is($out, "42\n", 'the Redis connection made: the login goes on');
$out = do { local $/; <$noauth> };
is($out, "43\n", 'so does the one without a token');
$out = do { local $/; <$get> };
is($out, "200\n", 'and so does the request');
unlike($t->error_log, qr/audit trail is unavailable|request refused/,
    'neither was refused');

# the request's event is written after its response: wait for it
my @types;
wait_until(sub {
    @types = map { { @{ $_->[1] } }->{event} =~ /"type":"([\w.]+)"/ }
        @{ $redis->command('XRANGE', 'hoop:audit', '-', '+') // [] };
    (grep { $_ eq 'pg.login' } @types) && (grep { $_ eq 'http.request' } @types);
}, 'both events in the trail');
pass('both are in the trail');

$t->stop;
done_testing;

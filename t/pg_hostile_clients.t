# Clients that misbehave on purpose, each ended cleanly, logged and
# audited, without touching anyone else's session: a client that never
# sends its token, one that trickles its startup packet, a flood of
# connections sending garbage, more connections than nginx's own
# limit_conn allows, a pipeline of 5000 statements in one batch and 5000
# simple queries written in one go, and garbage on the HTTP listener.
# (A client that never reads its results: pg_reload.t.)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;

$SIG{PIPE} = 'IGNORE';    # the gateway hangs up on hostile clients
use DBI;
use IO::Socket::INET;
use IO::Select;
use JSON::PP;
use Time::HiRes qw(time sleep);
use Hoop::JWT;
use Hoop::Test qw(spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;
use Hoop::Test::Redis;

my $redis = Hoop::Test::Redis->new->start;
my $pg = Hoop::Test::Pg->new->start;
my $t = Hoop::Test::Nginx->new(workers => 2, log_level => 'info');
my $d = $t->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));
mkdir "$d/html";
spit("$d/html/index.html", "hello\n");

my $common = <<"EOF";
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file $d/jwks.json;
    hoop_audit_stream hoop:audit maxlen=100000;
EOF

$t->run(<<"EOF");
http {
$common
    server {
        listen 127.0.0.1:%%PORT_http%%;
        location / {
            hoop_auth on;
            root $d/html;
        }
    }
}
stream {
$common
    hoop_pg_require_tls off;    # loopback: see pg_tls.t
    limit_conn_zone \$binary_remote_addr zone=pg:1m;

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
        hoop_pg_startup_timeout 1s;
    }
    server {
        listen 127.0.0.1:%%PORT_limited%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
        limit_conn pg 3;
    }
}
EOF
$t->wait_redis(2);
my $port = $t->port('pg');
my $tok = $key->mint(claims => { iss => 'https://idp.test',
    aud => 'hoop-gateway', sub => 'agent-7', groups => ['dev'],
    exp => time + 600 });

sub events {
    return map { decode_json({ @{ $_->[1] } }->{event}) }
        @{ $redis->command('XRANGE', 'hoop:audit', '-', '+') // [] };
}
sub connect_pg {
    my ($p) = @_;
    return DBI->connect("dbi:Pg:host=127.0.0.1;port=" . ($p // $port)
        . ";dbname=postgres", 'postgres', $tok,
        { RaiseError => 0, PrintError => 0, PrintWarn => 0 });
}
sub msg { my ($type, $body) = @_; $type . pack('N', 4 + length $body) . $body }
sub startup {
    my $p = "user\0postgres\0database\0postgres\0\0";
    return pack('NN', 8 + length $p, 196608) . $p;
}
sub raw { IO::Socket::INET->new(PeerAddr => '127.0.0.1',
    PeerPort => $_[0] // $port, Timeout => 10) or die "connect: $!" }
sub read_all { my ($s) = @_; my $all = ''; $all .= $_ while <$s>; $all }
sub fatal_of {
    my ($bytes) = @_;
    my ($len, $fields) = $bytes =~ /E(....)(.*)\z/s or return {};
    return { map { substr($_, 0, 1) => substr($_, 1) } split /\0/, $fields };
}
sub workers {
    return sort map { (split)[0] } grep { /nginx: worker process/ }
        `ps -o pid=,args= --ppid ${\ $t->pid }`;
}
my @workers = workers();
my $good = connect_pg();
is($good->selectrow_array('SELECT 1'), 1, 'a well-behaved session, kept'
    . ' open throughout');

# the token never comes

my $s = raw();
print $s startup();
my $t0 = time;
my $e = fatal_of(read_all($s));
is($e->{C}, '08P01', 'no token after the startup packet: FATAL 08P01');
like($e->{M}, qr/not received in time/, 'saying what was not received');
cmp_ok(time - $t0, '<', 5, 'within the startup timeout');

# a startup packet trickled a byte at a time: the timeout is for the whole

$s = raw();
$t0 = time;
my $bytes = startup();
my $sent = 0;
for my $b (split //, $bytes) {
    last unless print $s $b;
    $s->flush;
    $sent++;
    last if time - $t0 > 3;
    sleep 0.1;           # the client under test is slow, on purpose
}
$e = fatal_of(read_all($s));
cmp_ok($sent, '<', length $bytes, 'a trickling client is cut off before it'
    . ' finishes its startup packet');
is($e->{C}, '08P01', 'with FATAL 08P01');

# a flood: 300 connections at once, each sending garbage

my @flood;
for my $i (1 .. 300) {
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
        or last;
    print $c pack('N', 8 + $i) . ("\xff" x ($i % 50)) . "GARBAGE $i\0";
    push @flood, $c;
}
is(scalar @flood, 300, '300 connections opened at once');
is($good->selectrow_array('SELECT 2'), 2, 'the open session is served'
    . ' during the flood');
my $refused = 0;
for my $c (@flood) {
    my $r = read_all($c);
    $refused++ if (fatal_of($r)->{C} // '') eq '08P01' || $r eq '';
    close $c;
}
is($refused, 300, 'each garbage connection ends with 08P01 (or its startup'
    . ' timeout)');
my $fresh = connect_pg();
is($fresh && $fresh->selectrow_array('SELECT 3'), 3,
    'a new session after the flood');
$fresh->disconnect if $fresh;
is_deeply([workers()], \@workers, 'no worker died or was replaced');

wait_until(sub { (grep { $_->{type} eq 'pg.refused' } events()) >= 302 },
    'a pg.refused event for each refused connection');
my ($ref) = grep { $_->{type} eq 'pg.refused' } events();
is($ref->{decision}{result}, 'deny', 'pg.refused: decision deny');
is($ref->{decision}{sqlstate}, '08P01', 'with the SQLSTATE sent');
like($ref->{decision}{reason}, qr/not received in time/, 'and the message')
    or diag explain $ref;

# limit_conn in the stream server: nginx's own limit applies before ours

my @held = map { connect_pg($t->port('limited')) } 1 .. 3;
is(scalar(grep { $_ && $_->selectrow_array('SELECT 1') } @held), 3,
    'three sessions on a server with limit_conn 3');
my $fourth = connect_pg($t->port('limited'));
ok(!$fourth, 'a fourth is refused') or $fourth->disconnect;
like($t->error_log, qr/limiting connections by zone "pg"/,
    'nginx logs the limit');
$held[0]->disconnect;
wait_until(sub {
    my $dbh = connect_pg($t->port('limited'));
    $held[0] = $dbh if $dbh;
    $dbh;
}, 'a slot to free up');
is($held[0]->selectrow_array('SELECT 1'), 1, 'once one ends, another gets in');
$_->disconnect for @held;

# 5000 statements in one extended-protocol pipeline (psycopg), and 5000
# simple queries written in one go by a client reading as it writes

my $py = <<'PY';
import sys, psycopg
conn = psycopg.connect(host="127.0.0.1", port=int(sys.argv[1]),
                       user="postgres", dbname="postgres",
                       password=sys.argv[2], autocommit=True)
cur = conn.cursor()
with conn.pipeline():
    for i in range(5000):
        cur.execute("SELECT %s::int * 2", (i,))
    cur.execute("SELECT count(*) FROM pg_class")
total = 0
print(cur.fetchone()[0] > 0)
PY
my $out = `/usr/bin/python3 -c '$py' $port '$tok' 2>&1`;
is($out, "True\n", 'a psycopg pipeline of 5001 statements runs')
    or diag $out;

$s = raw();
print $s startup();
sysread($s, my $r, 9);
print $s msg('p', "$tok\0");
my $got = '';
$got .= do { sysread($s, my $c, 65536); $c } while $got !~ /Z\0\0\0\x05I/;
my $batch = join '', map { msg('Q', "SELECT $_\0") } 1 .. 5000;
my $sel = IO::Select->new($s);
my ($w, $ready, $in) = (0, 0, '');
$s->blocking(0);
while ($ready < 5000) {
    my ($rd, $wr) = IO::Select->select($sel, $w < length $batch ? $sel : undef,
        undef, 10);
    last unless $rd || $wr;
    if ($wr && @$wr) {
        my $n = syswrite($s, $batch, 65536, $w);
        $w += $n if $n;
    }
    if ($rd && @$rd) {
        my $n = sysread($s, my $c, 65536) or last;
        $in .= $c;
        $ready += () = $c =~ /Z\0\0\0\x05I/g;
    }
}
is($ready, 5000, '5000 simple queries written in one go: 5000 answers');
like($in, qr/D\0\0\0\x0e\0\x01\0\0\0\x045000C/, 'the last one in order');
close $s;

wait_until(sub { (grep { $_->{type} eq 'pg.query' } events()) >= 10000 },
    'an event for each of them');
pass('every statement of both floods recorded');

# garbage on the HTTP listener

my $h = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
    PeerPort => $t->port('http')) or die;
print $h "\x16\x03\x01\x00\xff" . ("\0" x 300) . "\r\n\r\n";
like(read_all($h), qr{^HTTP/1\.1 400 }, 'garbage on the HTTP listener: 400');
my $hh = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
    PeerPort => $t->port('http')) or die;
print $hh "GET / HTTP/1.0\r\nAuthorization: Bearer $tok\r\n\r\n";
my $resp = read_all($hh);
like($resp, qr{^HTTP/1\.1 200 .*hello}s, 'the next request is served')
    or diag $resp;

is($good->selectrow_array('SELECT 4'), 4, 'the first session was never'
    . ' disturbed');
$good->disconnect;
is_deeply([workers()], \@workers, 'the same workers as at the start');

$t->stop;
done_testing;

# Hostile bytes at every stage of a Postgres session: a seeded generator
# sends mutated startup packets, password messages, queries, extended-
# protocol batches, COPY data and garbage, cut at random places, to a
# gateway with identity, policy, masking and audit on.  Whatever arrives,
# no worker crashes or leaks (the sanitizer build runs this too), and a
# well-behaved client is served at the end.  The state machines of
# startup, login, framing and statements meet input no client sends.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use IO::Socket::INET;
use IO::Select;
use Hoop::JWT;
use Hoop::Test qw(spit);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;
use Hoop::Test::Redis;

my $seed = $ENV{HOOP_FUZZ_SEED} // 20261126;
my $rounds = $ENV{HOOP_FUZZ_ROUNDS} // 400;
srand($seed);
diag("seed $seed, $rounds connections");

my $redis = Hoop::Test::Redis->new->start;
my $pg = Hoop::Test::Pg->new->start;
$pg->psql(q{CREATE TABLE customers (id int, email text, ssn text);
    INSERT INTO customers VALUES (1, 'a@example.com', '123-45-6789')});

my $t = Hoop::Test::Nginx->new(workers => 2);
my $d = $t->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));
my $token = $key->mint(claims => { iss => 'https://idp.test',
    aud => 'hoop-gateway', sub => 'fuzz', exp => time + 3600 });

$t->run(<<"EOF");
stream {
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file %%DIR%%/jwks.json;
    hoop_audit_stream hoop:audit:fuzz;
    hoop_pg_require_tls off;

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_pg_startup_timeout 2s;
        hoop_pg_max_message 64k;
        hoop_audit on;
        hoop_rule deny sql.ddl;
        hoop_rule allow sql.read;
        hoop_rule allow sql.write;
        hoop_mask column=ssn;
        hoop_mask detect=email;
    }
}
EOF
$t->wait_redis(2);
my $port = $t->port('pg');

sub msg { my ($type, $body) = @_; $type . pack('N', 4 + length $body) . $body }

sub startup {
    my @p = ('user', 'postgres', 'database', 'postgres');
    push @p, 'application_name', 'fuzz' if rand() < 0.5;
    push @p, 'options', '-c role=x' if rand() < 0.05;
    push @p, '_pq_.x', 'y' if rand() < 0.05;
    my $body = pack('N', rand() < 0.9 ? 196608 : int(rand(2**32)))
        . join('', map { "$_\0" } @p) . "\0";
    return pack('N', 4 + length $body) . $body;
}

my @sql = ('SELECT 1', 'SELECT * FROM customers', 'SELECT ssn AS x FROM customers',
    'DROP TABLE customers', 'SELEC', '', 'SELECT 1; SELECT 2',
    "COPY customers TO STDOUT", "COPY customers FROM STDIN",
    'SELECT pg_sleep(0.01)', 'BEGIN', 'ROLLBACK', "SELECT '\\x'");

sub a_message {
    my $r = rand();
    my $q = $sql[int rand @sql];
    return msg('Q', "$q\0") if $r < 0.3;
    return msg('P', "s" . int(rand 3) . "\0$q\0\0\0") if $r < 0.45;
    return msg('B', "\0s" . int(rand 3) . "\0\0\0\0\0\0\0") if $r < 0.55;
    return msg('E', "\0\0\0\0\0") if $r < 0.62;
    return msg('D', rand() < 0.5 ? "P\0" : "Sx\0") if $r < 0.67;
    return msg('S', '') if $r < 0.77;
    return msg('H', '') if $r < 0.8;
    return msg('d', "9\tz\@example.com\t1\n") if $r < 0.85;
    return msg('c', '') if $r < 0.88;
    return msg('C', "S\0") if $r < 0.9;
    return msg('F', pack('NnnN', 1, 0, 0, 0)) if $r < 0.92;
    # garbage: a random type, a random or lying length
    my $body = join '', map { chr int rand 256 } 1 .. int rand 40;
    return chr(int rand 256) . pack('N', rand() < 0.5 ? 4 + length $body
        : int rand 2**31) . $body;
}

sub mutate {
    my ($bytes) = @_;
    my $r = rand();
    return $bytes if $r < 0.6 || length $bytes == 0;
    my $i = int rand length $bytes;
    return substr($bytes, 0, $i) if $r < 0.75;            # cut short
    substr($bytes, $i, 1) = chr int rand 256 if $r < 0.95; # flip a byte
    return $bytes;
}

my $served = 0;
for my $round (1 .. $rounds) {
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
        Timeout => 5) or die "connect: $!";
    $s->autoflush(1);
    my $out = '';
    $out .= pack('NN', 8, 80877103) if rand() < 0.2;       # SSLRequest
    $out .= mutate(startup());
    $out .= mutate(msg('p', (rand() < 0.8 ? $token : 'x' x int rand 300)
        . "\0")) if rand() < 0.9;
    $out .= mutate(a_message()) for 1 .. int rand 12;
    $out .= msg('X', '') if rand() < 0.3;
    syswrite($s, $out);

    # read what comes, briefly; the gateway may answer or close
    my $sel = IO::Select->new($s);
    my $got = 0;
    while ($sel->can_read(0.05)) {
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $got += $n;
    }
    $served++ if $got;
    close $s;
}
ok($served > $rounds / 2, "the gateway answered $served of $rounds hostile sessions");

# a well-behaved client afterwards
{
    local $ENV{PGPASSWORD} = $token;
    my $out = `psql -X -At -h 127.0.0.1 -p $port -U postgres -d postgres -c "SELECT id, ssn, email FROM customers" 2>&1`;
    is($out, "1|[MASKED]|[EMAIL]\n", 'and a good client is served, masked,'
        . ' after all of it');
}

$t->stop;    # no crash, no alert, no sanitizer report
done_testing;

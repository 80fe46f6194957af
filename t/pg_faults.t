# Faults behind a Postgres gateway, with real processes: PostgreSQL
# restarted under a running statement (the client gets the server's own
# error, new sessions work without touching nginx); Redis killed, and
# Redis frozen with SIGSTOP, while sessions run statements (nothing
# waits for it, the spool takes the events, they arrive once it is back
# and every chain verifies); and the spool's disk filling up (fail closed
# refuses statements with 57P03, loudly, and no admitted statement loses
# its event).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use DBI;
use DBD::Pg qw(:async);
use JSON::PP;
use Time::HiRes qw(time);
use Hoop::JWT;
use Hoop::Test qw(repo_dir spit slurp wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;
use Hoop::Test::Redis;

my $repo = repo_dir();

# persistent, so that a restart keeps what was stored before it
my $redis = Hoop::Test::Redis->new(args => ['--appendonly', 'yes',
    '--appendfsync', 'everysec'])->start;
my $pg = Hoop::Test::Pg->new->start;
$pg->psql('CREATE TABLE t (id int)');

my $t = Hoop::Test::Nginx->new(workers => 2, log_level => 'info');
my $d = $t->dir;
mkdir "$d/spool";
chmod 0777, "$d/spool";
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));

# the spool of a second server lives on a small file system of its own,
# to fill it for real
my $small = "$d/small";
mkdir $small;
if ($> != 0) {
    plan skip_all => 'mounting a small tmpfs needs root (CI runs as root)';
}
system('mount', '-t', 'tmpfs', '-o', 'size=2m,mode=0777', 'tmpfs', $small) == 0
    or BAIL_OUT('cannot mount a tmpfs for the disk-full case');
END { system('umount', '-l', $small) if $small && -d $small }

$t->run(<<"EOF");
stream {
    hoop_redis 127.0.0.1:${\ $redis->port} timeout=1s;
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file $d/jwks.json;
    hoop_audit_stream hoop:audit;
    hoop_audit_spool $d/spool;
    hoop_audit_fail closed;
    hoop_pg_require_tls off;    # loopback: see pg_tls.t

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
    }
}
EOF
$t->wait_redis(2);
my $port = $t->port('pg');
my $tok = $key->mint(claims => { iss => 'https://idp.test',
    aud => 'hoop-gateway', sub => 'agent-7', groups => ['dev'],
    exp => time + 600 });

sub connect_pg {
    my ($p) = @_;
    return DBI->connect("dbi:Pg:host=127.0.0.1;port=" . ($p // $port)
        . ";dbname=postgres", 'postgres', $tok,
        { RaiseError => 0, PrintError => 0, PrintWarn => 0 });
}
sub events {
    my ($stream) = @_;
    return map { decode_json({ @{ $_->[1] } }->{event}) }
        @{ $redis->command('XRANGE', $stream // 'hoop:audit', '-', '+') // [] };
}
sub verify {
    my ($stream) = @_;
    my $out = `$repo/tools/hoop-audit-verify --redis ${\ $redis->addr} --stream ${\ ($stream // 'hoop:audit') } 2>&1`;
    return ($? >> 8, $out);
}

# PostgreSQL restarted under a running statement

my $dbh = connect_pg();
$dbh->do('SELECT pg_sleep(60)', { pg_async => PG_ASYNC });
wait_until(sub { $pg->psql(q{SELECT count(*) FROM pg_stat_activity
    WHERE query = 'SELECT pg_sleep(60)'}) == 1 }, 'the statement to run');
$pg->stop('fast');
ok(!defined $dbh->pg_result, 'PostgreSQL stopped under a running statement:'
    . ' the statement fails');
like($dbh->errstr, qr/FATAL:  terminating connection due to administrator command/,
    "with the server's own FATAL");
my $down = connect_pg();
ok(!$down, 'while the database is down, logins fail');
like($DBI::errstr, qr/08006.*not reachable|not reachable/i,
    'saying the database is not reachable');
$pg->start;
my $again = connect_pg();
is($again && $again->selectrow_array('SELECT 1'), 1,
    'PostgreSQL back: new sessions work, nginx untouched');

my @ev;
wait_until(sub {
    @ev = events();
    grep { $_->{type} eq 'pg.query' && $_->{query}{sql} =~ /pg_sleep/ } @ev;
}, 'the interrupted statement in the trail');
my ($sleep) = grep { $_->{type} eq 'pg.query'
    && $_->{query}{sql} =~ /pg_sleep/ } @ev;
is($sleep->{result}{sqlstate}, '57P01', 'recorded with its SQLSTATE');
wait_until(sub { grep { ($_->{session_end}{reason} // '') eq 'server_closed' }
    events() }, 'its session end');
pass('and its session ended with reason server_closed');

# Redis killed (SIGTERM: acknowledged writes are kept), then frozen, while a session runs statements

sub run_statements {
    my ($dbh, $n, $tag) = @_;
    my ($ok, $slowest) = (0, 0);
    for my $i (1 .. $n) {
        my $t0 = time;
        $ok++ if $dbh->do("INSERT INTO t VALUES ($i) /* $tag */");
        $slowest = time - $t0 if time - $t0 > $slowest;
    }
    return ($ok, $slowest);
}
sub spooled {
    my $n = 0;
    $n += () = slurp($_) =~ /\n/g for glob "$d/spool/*.spool";
    return $n;
}

my $xlen = $redis->command('XLEN', 'hoop:audit');
$redis->stop;
my ($ok) = run_statements($again, 20, 'killed');
is($ok, 20, 'Redis killed: the session goes on, 20 statements run');
wait_until(sub { spooled() >= 20 }, 'the events to be spooled');
pass('their events wait in the spool');
my $late = connect_pg();
ok($late && $late->do('SELECT 1'), 'a new login meanwhile (the spool'
    . ' takes its events)');

# a spool record larger than the drain reads at once (256 kB)
# (a comment: kept in the event, where a literal would be a placeholder)
my $long = 'SELECT 7 /* long ' . ('x' x 400_000) . ' */';
is($again->selectrow_array($long), 7, 'a 400 kB statement meanwhile');

# and a statement whose bytes are not UTF-8 (the server refuses it; its
# event must still be JSON that the spool and every reader take)
{
    local $again->{pg_enable_utf8} = 0;     # the byte as it is, not encoded
    ok(!$again->do("SELECT 2 /* caf\xe9 */"), 'a statement with a byte that'
        . ' is not UTF-8 meanwhile');
}
is($again->state, '22021', 'refused by the server (invalid byte sequence)');

$redis->start;
wait_until(sub { ($redis->command('XLEN', 'hoop:audit') // 0) >= $xlen + 24
    && grep { ($_->{query}{sql} // '') =~ /long/ } events() },
    'the spool to be delivered', 30);
my ($rc, $out) = verify();
is($rc, 0, 'Redis back: every spooled event arrived, chains intact')
    or diag $out;
my @killed = grep { $_->{type} eq 'pg.query'
    && ($_->{query}{sql} // '') =~ /killed/ } events();
is(scalar @killed, 20, 'one event per statement');
my ($latin) = grep { ($_->{query}{sql} // '') =~ /caf/ } events();
is($latin && $latin->{query}{sql}, "SELECT \$1 /* caf\x{e9} */",
    'its event arrived from the spool, the byte written as \\u00e9');
is($latin && $latin->{result}{sqlstate}, '22021', 'with the server\'s error');
my @long = grep { ($_->{query}{sql} // '') =~ /long/ } events();
is(scalar @long, 1, 'the long statement\'s event arrived, once');
my ($longev) = @long;
ok($longev && $longev->{query}{sql} eq ($long =~ s/SELECT 7/SELECT \$1/r),
    'the long statement\'s event too, though its spool record is larger'
    . ' than the drain reads at once');
is_deeply([map { $_->{seq} } @killed],
    [sort { $a <=> $b } map { $_->{seq} } @killed], 'in their order');

kill 'STOP', $redis->{pid};
my $slowest;
($ok, $slowest) = run_statements($again, 20, 'frozen');
kill 'CONT', $redis->{pid};
is($ok, 20, 'Redis frozen (SIGSTOP): the session goes on');
cmp_ok($slowest, '<', 3, sprintf('no statement waited on Redis beyond its'
    . ' timeout (slowest %.2fs)', $slowest));
wait_until(sub {
    (grep { ($_->{query}{sql} // '') =~ /frozen/ } events()) >= 20
}, 'the frozen-time events', 30);
($rc, $out) = verify();
is($rc, 0, 'after SIGCONT every event arrives, chains intact') or diag $out;
$_->disconnect for $again, $late;
$dbh->disconnect;

# the spool's file system fills up

my $t2 = Hoop::Test::Nginx->new(workers => 1, log_level => 'info');
my $d2 = $t2->dir;
$t2->run(<<"EOF");
stream {
    hoop_redis 127.0.0.1:${\ $redis->port} timeout=1s;
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file $d/jwks.json;
    hoop_audit_stream hoop:audit:full;
    hoop_audit_spool $small max_size=100m;
    hoop_audit_fail closed;
    hoop_pg_require_tls off;

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
    }
}
EOF
$t2->wait_redis(1);

# leave about 1.3 MB free: the spool keeps 1 MB for admitted requests
system('dd', 'if=/dev/zero', "of=$small/filler", 'bs=1k', 'count=700',
    'status=none') == 0 or die;

my $full = connect_pg($t2->port('pg'));
ok($full, 'a session on the gateway whose spool is on the small disk');
$pg->psql('CREATE TABLE disk (id int)');

# prepared once, while the trail is there; then run by Bind and Execute
my $ins = $full->prepare('INSERT INTO disk VALUES ($1) /* disk */',
    { pg_server_prepare => 1 });
ok($ins->execute(0), 'a statement prepared and run while Redis is up');
$redis->stop;
wait_until(sub { $t2->error_log =~ /hoop redis \(stream\).*(disconnected|refused|closed)/ },
    'the gateway to notice Redis is gone');
my ($served, $refused) = (1, 0);
for my $i (1 .. 5000) {
    if ($ins->execute($i)) { $served++; next }
    $refused = $full->state;
    last;
}
is($refused, '57P03', "the disk filled: after $served executions, the"
    . ' next Execute is refused with 57P03');
like($full->errstr, qr/the audit trail is unavailable, so no statement can run/,
    'saying why');
cmp_ok($served, '>', 50, 'the spool took events until then');
ok(!$full->do('INSERT INTO disk VALUES (-1) /* disk */'),
    'a simple Query is refused too');
is($full->state, '57P03', 'with 57P03');
is($pg->psql('SELECT count(*) FROM disk'), $served,
    'what was refused did not run');
like($t2->error_log, qr/hoop audit spool: the file system of "[^"]+" has \d+ bytes free, under the 1048576 kept for admitted requests/,
    'the error log says the disk is full, at alert level')
    or diag join "\n", grep { /spool|audit/ } split /\n/, $t2->error_log;
like($t2->error_log, qr/statement refused \(hoop_audit_fail closed\)/,
    'and that statements are refused for it');
unlike($t2->error_log, qr/event LOST/, 'no admitted statement lost its event');

$redis->start;
my @disk;
wait_until(sub {
    @disk = grep { ($_->{query}{sql} // '') =~ /disk/ } events('hoop:audit:full');
    @disk >= $served;
}, 'the spooled events to reach Redis', 30);
is(scalar @disk, $served, 'every statement served has its event, once');
is(scalar(grep { $_->{decision}{result} eq 'allow'
    && $_->{result}{sqlstate} eq '00000' } @disk), $served,
    'each an allowed statement that ran; the refused ones are in the error'
    . ' log only');
($rc, $out) = verify('hoop:audit:full');
is($rc, 0, 'the chain verifies') or diag $out;
wait_until(sub { $full->do('SELECT 1') }, 'room again once delivered');
ok($ins->execute(-2), 'with the spool delivered, the prepared statement'
    . ' runs again: the refusal left it as it was');
$full->disconnect;

$t2->stop(allow => qr/bytes free, under the \d+ kept for admitted requests/);
$t->stop;
done_testing;

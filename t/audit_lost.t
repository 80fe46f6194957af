# An admitted statement or request whose event cannot be stored is not
# dropped silently, and does not take the worker down.  Without a spool,
# under hoop_audit_fail closed: a statement admitted while Redis was up
# and answered after Redis went away has nowhere for its event; the error
# log says so at alert level ("event LOST", with the session and the
# event's start), and the next statement is refused with 57P03 (a session
# logged in with a token, and one on a server without hoop_pg_auth).  An
# HTTP request served while Redis is frozen: its XADD is never answered,
# the connection is dropped at the hoop_redis timeout, and the event is
# reported LOST the same way.  (Both used to crash the worker: the code
# that spools an event Redis did not take assumed a spool.)  And a Redis
# that answers but refuses writes (maxmemory) counts as down: its error is
# logged, requests are refused until it takes writes again.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use DBI;
use DBD::Pg qw(:async);
use Hoop::JWT;
use Hoop::Test qw(spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;
use Hoop::Test::Redis;

my $redis = Hoop::Test::Redis->new->start;
my $pg = Hoop::Test::Pg->new->start;
my $t = Hoop::Test::Nginx->new(workers => 1, log_level => 'info');
my $d = $t->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));
mkdir "$d/html";
spit("$d/html/index.html", "ok\n");
my $tok = $key->mint(claims => { iss => 'https://idp.test',
    aud => 'hoop-gateway', sub => 'agent-7', exp => time + 600 });

$t->run(<<"EOF");
http {
    hoop_redis 127.0.0.1:${\ $redis->port} timeout=1s;
    hoop_audit_fail closed;

    server {
        listen 127.0.0.1:%%PORT_http%%;
        hoop_audit on;
        root $d/html;           # (not 'return': it ends a request before
                                # the access phase)
    }
}
stream {
    hoop_redis 127.0.0.1:${\ $redis->port} timeout=1s;
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file $d/jwks.json;
    hoop_audit_fail closed;
    hoop_pg_require_tls off;    # loopback: see pg_tls.t

    server {
        listen 127.0.0.1:%%PORT_token%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
    }
    server {
        listen 127.0.0.1:%%PORT_notoken%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_pg_auth off;
        hoop_audit on;
    }
}
EOF
$t->wait_redis(1);

sub connect_pg {
    my ($port, $password) = @_;
    return DBI->connect("dbi:Pg:host=127.0.0.1;port=$port;dbname=postgres",
        'postgres', $password,
        { RaiseError => 0, PrintError => 0, PrintWarn => 0 });
}

# the lock the statements wait for, held straight on the server
my $holder = connect_pg($pg->port, '');
my $token = connect_pg($t->port('token'), $tok);
my $notoken = connect_pg($t->port('notoken'), '');
ok($token && $notoken, 'a session with a token, and one without');
my $tx = connect_pg($t->port('token'), $tok);
$tx->begin_work;
ok($tx->do('SELECT 1 /* in a transaction */'), 'and one in a transaction');

$holder->do('SELECT pg_advisory_lock(7)');
for my $dbh ($token, $notoken) {
    # (a transaction's lock: released when the statement ends)
    $dbh->do('SELECT pg_advisory_xact_lock(7) /* lost */',
        { pg_async => PG_ASYNC });
}
wait_until(sub { $pg->psql(q{SELECT count(*) FROM pg_stat_activity
    WHERE query LIKE '%/* lost */' AND wait_event_type = 'Lock'}) == 2 },
    'both statements to wait for the lock');
pass('both statements admitted, and waiting');

$redis->stop;
wait_until(sub { $t->error_log =~ /hoop redis \(stream\).*(disconnected|refused|closed)/ },
    'the gateway to notice Redis is gone');

$holder->do('SELECT pg_advisory_unlock(7)');
for my $dbh ($token, $notoken) {
    ok(defined $dbh->pg_result, 'the statement ends once the lock is free');
}
wait_until(sub { (() = $t->error_log =~ /\[alert\].*event LOST.*"type":"pg\.query"/g) == 2 },
    'the events to be reported');
pass('each statement\'s event, which nothing could take, is reported LOST'
    . ' at alert level');

for my $dbh ($token, $notoken) {
    ok(!$dbh->do('SELECT 1'), 'the next statement is refused');
    is($dbh->state, '57P03', 'with 57P03');
}
ok(!$token->do('SELECT 1; SELECT 2; SELECT 3'), 'so is a Query of three');
ok(!$token->do(('ROLLBACK; ' x 20) . 'SELECT 1'), 'and one that hides a'
    . ' statement behind twenty ROLLBACKs');
is(scalar(() = $t->error_log =~ /event LOST.*"type":"pg\.query"/g), 2,
    'refused statements, which did not run, have no event to lose');

# a refusal aborts the transaction; ROLLBACK, which only undoes, gets out
ok(!$tx->do('SELECT 2'), 'in the transaction, a statement is refused');
is($tx->state, '57P03', 'with 57P03');
ok($tx->rollback && !$tx->err, 'ROLLBACK runs all the same: it only'
    . ' undoes');
wait_until(sub { (() = $t->error_log =~ /event LOST.*"type":"pg\.query"/g) == 3 },
    'the ROLLBACK\'s event to be reported');
pass('its event, which nothing could take, is reported LOST');

$_->disconnect for $token, $notoken, $holder;

# HTTP: Redis frozen under a served request
$redis->start;
$t->wait_redis(4);              # http and stream, each connected again
kill 'STOP', $redis->{pid};
my $r = HTTP::Tiny->new->get('http://127.0.0.1:' . $t->port('http') . '/');
is($r->{status}, 200, 'Redis frozen: a request is served (the connection'
    . ' is not known to be gone yet)');
wait_until(sub { $t->error_log =~ /\[alert\].*event LOST.*"type":"http\.request"/ },
    'the request\'s event to be reported');
pass('its event, unanswered until the hoop_redis timeout, is reported LOST');
kill 'CONT', $redis->{pid};
wait_until(sub { my $v = $tx->selectrow_array('SELECT 42'); $v && $v == 42 },
    'the trail to take statements again');
pass('the session that rolled back is out of its failed transaction');
$tx->disconnect;

# Redis up, but refusing writes (maxmemory reached; a read-only replica
# after a failover, or a failed save, look the same)
my $http = HTTP::Tiny->new;
my $get = sub { $http->get('http://127.0.0.1:' . $t->port('http') . '/')->{status} };
wait_until(sub { $get->() == 200 }, 'Redis to be back for HTTP');

# no event still on its way: one more request, and its event stored
my $xlen = $redis->command('XLEN', 'hoop:audit');
$get->();
wait_until(sub { $redis->command('XLEN', 'hoop:audit') > $xlen },
    'the last request\'s event to be stored');
$xlen = $redis->command('XLEN', 'hoop:audit');
$redis->command('CONFIG', 'SET', 'maxmemory', '1');
is($get->(), 200, 'Redis refusing writes: a request on the open connection'
    . ' is served');
wait_until(sub { $t->error_log =~ /hoop redis \(http\): [^:]+: XADD refused: OOM command not allowed[^\n]*; reconnecting/ },
    'the refusal to be logged');
pass('Redis\'s refusal is in the error log, in its own words');
wait_until(sub { $get->() == 503 }, 'requests to be refused');
pass('then the audit trail counts as down: requests get 503 (fail closed)');

# through reconnections (each tries a write first), nothing more is served
my %status;
wait_until(sub { $status{$get->()}++;
    (() = $t->error_log =~ /hoop redis \(http\): \S+ still refuses writes: OOM/g) >= 2 },
    'two reconnections, each refused its first write');
is_deeply([keys %status], [503], 'requests keep getting 503 across'
    . ' reconnections to a Redis that still refuses writes');
my ($after) = $t->error_log =~ /still refuses writes(.*)\z/s;
is(scalar(() = $after =~ /event LOST[^\n]*"type":"http\.request"/g), 0,
    'so no event is lost after those already sent when Redis refused');
$redis->command('CONFIG', 'SET', 'maxmemory', '0');
wait_until(sub { $get->() == 200
    && $redis->command('XLEN', 'hoop:audit') > $xlen }, 'Redis to take events again', 30);
pass('Redis taking writes again: requests are served, their events stored');
# Redis stores the event before the worker reads Redis's answer and says so
wait_until(sub { $t->error_log =~ /hoop redis \(http\): [^ ]+ takes writes again/ },
    'the error log to say Redis takes writes again');
pass('which the error log says, once Redis took a first write');

# a Redis that takes the probe's write but not the events (the stream's
# key holds something else): on probation, said once, retried later and
# later, until events are taken again
$redis->command('DEL', 'hoop:audit');
$redis->command('SET', 'hoop:audit', 'not a stream');
my $mark = length $t->error_log;
wait_until(sub { $get->(); (() = substr($t->error_log, $mark)
    =~ /hoop redis \(http\): \S+: probe taken, events tried again/g) >= 3 },
    'three reconnections on probation', 30);
my $tail = substr($t->error_log, $mark);
is(scalar(() = $tail =~ /\[error\][^\n]*XADD refused: WRONGTYPE/g), 1,
    'Redis taking writes but not events: the refusal is logged once, not'
    . ' at every reconnection');
$redis->command('DEL', 'hoop:audit');
wait_until(sub { $get->() == 200
    && ($redis->command('XLEN', 'hoop:audit') // 0) > 0 },
    'events to be taken again', 30);
# as above: Redis stores the event before the worker reads its answer
wait_until(sub { substr($t->error_log, $mark) =~ /takes writes again/ },
    'the error log to say Redis takes writes again', 30);
pass('once the key is a stream again, events are stored, and that is logged');
unlike($t->error_log, qr/exited on signal/, 'no worker crashed');
$t->stop(allow => qr/event LOST|neither Redis nor the spool|XADD refused|Redis came back without audit events/);
done_testing;

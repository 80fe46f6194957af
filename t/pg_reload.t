# nginx -s reload with Postgres sessions open: the old worker keeps them
# (an open transaction commits after the reload, a statement held for
# review is approved through the new workers' API and runs), new sessions
# get the new configuration, and the trail loses nothing: every statement
# one event, every session its end, the chains verify.  Then
# hoop_pg_timeout: a session with no traffic is told 57P05 and closed,
# and so is one whose client stops reading; one whose statement runs long
# is not.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use DBI;
use DBD::Pg qw(:async);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use Hoop::JWT;
use Hoop::Test qw(repo_dir spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;
use Hoop::Test::Redis;

my $redis = Hoop::Test::Redis->new->start;
my $pg = Hoop::Test::Pg->new->start;
$pg->psql(q{CREATE TABLE payments (id int PRIMARY KEY, amount int);
    INSERT INTO payments VALUES (1, 100), (2, 200);
    CREATE TABLE notes (id int); CREATE TABLE secrets (v text)});

my $t = Hoop::Test::Nginx->new(workers => 2);
my $d = $t->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));

sub conf {
    my ($extra) = @_;
    my $common = <<"EOF";
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file $d/jwks.json;
    hoop_audit_stream hoop:audit;
EOF
    return <<"EOF";
http {
$common
    server {
        listen 127.0.0.1:%%PORT_http%%;
        location /hoop/ {
            hoop_auth on;
            hoop_review_api;
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
        hoop_rule review sql.write table=payments name=payments approvers=dba;
$extra
        hoop_rule allow sql.read;
        hoop_rule allow sql.write;
    }
    server {
        listen 127.0.0.1:%%PORT_short%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
        hoop_pg_timeout 1500ms;
        hoop_pg_buffer_size 16k;
    }
}
EOF
}

$t->run(conf(''));
$t->wait_redis(4);
my $port = $t->port('pg');
my $api = 'http://127.0.0.1:' . $t->port('http') . '/hoop/reviews';

sub token {
    my ($sub, @groups) = @_;
    return $key->mint(claims => { iss => 'https://idp.test',
        aud => 'hoop-gateway', sub => $sub, groups => \@groups,
        exp => time + 600 });
}
my %tok = (agent => token('agent-7', 'dev'), dba => token('dba-1', 'dba'));

sub connect_pg {
    my ($p) = @_;
    return DBI->connect("dbi:Pg:host=127.0.0.1;port=" . ($p // $port)
        . ";dbname=postgres", 'postgres', $tok{agent},
        { RaiseError => 0, PrintError => 0, PrintWarn => 0 });
}

my $http = HTTP::Tiny->new;
sub api {
    my ($method, $path) = @_;
    my $r = $http->request($method, "$api$path", {
        headers => { Authorization => "Bearer $tok{dba}" } });
    return eval { decode_json($r->{content}) };
}

sub events {
    return map { decode_json({ @{ $_->[1] } }->{event}) }
        @{ $redis->command('XRANGE', 'hoop:audit', '-', '+') // [] };
}

sub workers {
    return grep { /nginx: worker process/ }
        `ps -o pid=,args= --ppid ${\ $t->pid }`;
}

# before the reload: an open transaction, and a statement held for review

my $tx = connect_pg();
ok($tx->do('BEGIN') && $tx->do('INSERT INTO notes VALUES (1)'),
    'a session opens a transaction');

my $held = connect_pg();
$held->do('UPDATE payments SET amount = 150 WHERE id = 1',
    { pg_async => PG_ASYNC });
my $review;
wait_until(sub {
    ($review) = grep { $_->{rule} eq 'payments' }
        @{ api('GET', '?status=pending') // [] };
    $review;
}, 'the statement to be held for review');

my @old = workers();
my $links = () = $t->error_log =~ /hoop redis \(\w+\): connected to/g;
is(scalar @old, 2, 'two workers');

# the reload: a rule added, for new sessions

$t->write_conf(conf('        hoop_rule deny sql.read table=secrets;'));
kill 'HUP', $t->pid;
wait_until(sub {
    (() = $t->error_log =~ /hoop redis \(\w+\): connected to/g) >= 2 * $links
},
    'the new workers to reach Redis');

# until an old worker hears of the reload, it may still accept a session
for my $pid (map { (split)[0] } @old) {
    wait_until(sub { $t->error_log =~ /$pid#\d+: gracefully shutting down/ },
        "worker $pid to start shutting down");
}

my @now = workers();
my %is_old = map { (split)[0] => 1 } @old;
ok((grep { !$is_old{(split)[0]} } @now) >= 2, 'new workers started');
ok(kill(0, map { (split)[0] } @old) >= 1,
    'the old workers that have sessions stay while they are open');

is($tx->do('INSERT INTO notes VALUES (2)'), 1,
    'the open transaction goes on after the reload');
ok($tx->do('COMMIT'), 'and commits');
is($pg->psql('SELECT count(*) FROM notes'), 2, 'with both rows');

my $res = api('POST', "/$review->{id}/approve");
is($res->{result}, 'approved', 'the held statement is approved through'
    . ' the new workers');
ok($held->pg_result, 'and it runs in the old worker that holds it');
is($pg->psql('SELECT amount FROM payments WHERE id = 1'), 150,
    'its change is in the database');

my $new = connect_pg();
ok(!defined $new->selectall_arrayref('SELECT * FROM secrets'),
    'a new session gets the new configuration');
is($new->state, '42501', 'denied by the rule added');
ok(defined $tx->selectall_arrayref('SELECT * FROM secrets'),
    'a session from before the reload keeps the rules it started with');

$_->disconnect for $tx, $held, $new;
wait_until(sub { !kill(0, map { (split)[0] } @old) },
    'the old workers to exit once their sessions ended');
pass('the old workers exited');

# the trail: each statement once, each session ended, chains intact

my @ev;
wait_until(sub {
    @ev = events();
    (grep { $_->{type} eq 'pg.session.end' } @ev) >= 3;
}, 'the session ends');
my @q = grep { $_->{type} eq 'pg.query' } @ev;
my %count;
$count{ "$_->{session} $_->{seq}" }++ for @q;
is(scalar(grep { $_ != 1 } values %count), 0,
    'no event recorded twice');
is(scalar @q, 7, 'and none lost: 7 statements, 7 events')
    or diag join "\n", map { $_->{query}{sql} } @q;
my @ends = grep { $_->{type} eq 'pg.session.end' } @ev;
is(scalar(grep { $_->{session_end}{reason} eq 'client_closed' } @ends), 3,
    'every session ended, the client closing it');
my $repo = repo_dir();
my $v = `$repo/tools/hoop-audit-verify --redis ${\ $redis->addr} --stream hoop:audit 2>&1`;
like($v, qr/^ok: \d+ events in 3 sessions/, 'the chains verify') or diag $v;

# hoop_pg_timeout: no traffic either way

my $idle = connect_pg($t->port('short'));
is($idle->selectrow_array('SELECT 1'), 1, 'a session on a 1.5s timeout');
is($idle->selectrow_array('SELECT 7 FROM pg_sleep(2.5)'), 7,
    'a statement running longer than the timeout is not idleness');
wait_until(sub { grep { ($_->{session_end}{reason} // '') eq 'timeout' }
    events() }, 'the idle session to time out');
ok(!defined $idle->selectrow_array('SELECT 1'), 'after it, the session is'
    . ' gone');
like($idle->errstr, qr/idle-session timeout|terminat|closed/i,
    'the client was told why, or saw the connection close');
like($t->error_log, qr/hoop pg: no traffic for 1500 ms, session closed/,
    'logged');

# a client that stops reading its results: bounded, then closed

sub rss_kb {
    my $kb = 0;
    for my $w (workers()) {
        my ($pid) = split ' ', $w;
        open my $fh, '<', "/proc/$pid/status" or next;
        /^VmRSS:\s+(\d+)/ and $kb += $1 while <$fh>;
    }
    return $kb;
}

my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
    PeerPort => $t->port('short')) or die;
sub msg { my ($type, $body) = @_; $type . pack('N', 4 + length $body) . $body }
my $startup = "user\0postgres\0database\0postgres\0\0";
print $sock pack('NN', 8 + length $startup, 196608) . $startup;
sysread($sock, my $r, 9);
print $sock msg('p', "$tok{agent}\0");
my $got = '';
while ($got !~ /Z\0\0\0\x05I/) {
    sysread($sock, my $chunk, 65536) or last;
    $got .= $chunk;
}
like($got, qr/Z\0\0\0\x05I$/, 'a raw client logged in');

my $before = rss_kb();
print $sock msg('Q', "SELECT repeat('x', 1000) FROM generate_series(1,"
    . " 2000000)\0");
my $other = connect_pg();
is($other->selectrow_array('SELECT count(*) FROM payments'), 2,
    'while one client reads nothing, the others are served');
wait_until(sub { (grep { ($_->{session_end}{reason} // '') eq 'timeout' }
    events()) >= 2 }, 'the stalled reader to time out');
my $grew = rss_kb() - $before;
cmp_ok($grew, '<', 4096, "the workers' memory stayed bounded (+$grew kB"
    . ' for a 2 GB result unread)');
close $sock;
$other->disconnect;

$t->stop;
done_testing;

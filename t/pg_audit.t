# hoop_audit in a stream-only gateway: every Postgres session is an audit
# session in Redis: pg.login with the verified identity, pg.session.end
# with its bytes, auth.failure with the reason a token was refused; the
# chains verify; and with Redis gone, fail closed refuses logins in the
# client's own protocol.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use JSON::PP;
use Hoop::JWT;
use Hoop::Test qw(repo_dir spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;
use Hoop::Test::Redis;

my $repo = repo_dir();
my $redis = Hoop::Test::Redis->new->start;
my $pg = Hoop::Test::Pg->new->start;
my $t = Hoop::Test::Nginx->new(workers => 1);
my $d = $t->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));

$t->run(<<"EOF");
stream {
    hoop_pg_require_tls off;    # loopback: see pg_tls.t
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file %%DIR%%/jwks.json;
    hoop_audit_stream hoop:audit:pg;

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
    }
}
EOF
$t->wait_redis(1);
my $port = $t->port('pg');

sub psql {
    my ($tok) = @_;
    local $ENV{PGPASSWORD} = $tok;
    my $out = `psql -X -At -h 127.0.0.1 -p $port -U postgres -d postgres -c 'SELECT 42' 2>&1`;
    return ($? >> 8, $out);
}

my %c = (iss => 'https://idp.test', aud => 'hoop-gateway', sub => 'agent-7',
    groups => ['dba']);
my ($rc, $out) = psql($key->mint(claims => { %c, exp => time + 600 }));
is($out, "42\n", 'a session through the gateway');
($rc, $out) = psql($key->mint(claims => { %c, exp => time - 600 }));
isnt($rc, 0, 'an expired token is refused');

# (each worker's first checkpoint comes before its first event)
sub events {
    return grep { $_->{type} ne 'audit.checkpoint' }
        map { decode_json({ @{ $_->[1] } }->{event}) }
        @{ $redis->command('XRANGE', 'hoop:audit:pg', '-', '+') // [] };
}
wait_until(sub { scalar(my @e = events()) >= 4 }, 'four events');
my @ev = events();
is_deeply([map { $_->{type} } @ev], ['pg.login', 'pg.query',
    'pg.session.end', 'auth.failure'], 'login, statement, end, refusal');
my $q = splice @ev, 1, 1;
is($q->{query}{sql}, 'SELECT $1', 'the statement, its literal masked');
is($q->{query}{kind}, 'read', 'classified');
is($q->{result}{rows}, 1, 'with its row count');
is($q->{result}{sqlstate}, '00000', 'and its outcome');
is($q->{session}, $ev[0]{session}, 'in the session of its login');
is($ev[0]{identity}{sub}, 'agent-7', 'the login names the identity');
is_deeply($ev[0]{identity}{groups}, ['dba'], 'and its groups');
is($ev[0]{client}{protocol}, 'postgresql', 'on the Postgres gateway');
is_deeply($ev[0]{resource}, { database => 'postgres', user => 'postgres',
    login => undef }, 'the database and user the client asked for');
is($ev[0]{session}, $ev[1]{session}, 'login and end: one session');
is($ev[1]{seq}, 3, 'numbered');
cmp_ok($ev[1]{session_end}{bytes_to_client}, '>', 0, 'the end counts bytes');
is($ev[2]{decision}{result}, 'deny', 'the refusal is a denial');
is($ev[2]{decision}{reason}, 'token expired', 'with its reason');
is($ev[2]{identity}, undef, 'and no identity');

my $v = `$repo/tools/hoop-audit-verify --redis ${\ $redis->addr} --stream hoop:audit:pg 2>&1`;
like($v, qr/^ok: 4 events in 2 sessions/, 'the chains verify') or diag $v;

$redis->stop;
wait_until(sub { $t->error_log =~ /hoop redis \(stream\).*(disconnected|refused)/ },
    'the gateway to notice Redis is gone');
($rc, $out) = psql($key->mint(claims => { %c, exp => time + 600 }));
isnt($rc, 0, 'Redis gone, fail closed: the login is refused');
like($out, qr/FATAL:  hoop: the audit trail is unavailable/,
    'and psql says why') or diag $out;

$t->stop;

# with a spool, Postgres sessions go on while Redis is away, and their
# events arrive once it is back

$redis->start;
mkdir "$d/spool";
chmod 0777, "$d/spool";
my $t2 = Hoop::Test::Nginx->new(workers => 1);
spit($t2->dir . '/jwks.json', Hoop::JWT->jwks_json($key));
$t2->run(<<"EOF");
stream {
    hoop_pg_require_tls off;    # loopback: see pg_tls.t
    hoop_redis 127.0.0.1:${\ $redis->port} timeout=300ms;
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file %%DIR%%/jwks.json;
    hoop_audit_stream hoop:audit:pg2;
    hoop_audit_spool $d/spool;

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
    }
}
EOF
$t2->wait_redis(1);
$port = $t2->port('pg');
$redis->stop;
wait_until(sub { $t2->error_log =~ /hoop redis \(stream\).*(disconnected|refused)/ },
    'the gateway to notice');
($rc, $out) = psql($key->mint(claims => { %c, exp => time + 600 }));
is($out, "42\n", 'Redis gone, a spool: the session is served');
wait_until(sub { grep { -s } glob("$d/spool/audit-stream-*.spool") },
    "the spooled events");
$redis->start;
wait_until(sub {
    ($redis->command('XLEN', 'hoop:audit:pg2') // 0) >= 4
}, 'the spool to reach Redis');
$v = `$repo/tools/hoop-audit-verify --redis ${\ $redis->addr} --stream hoop:audit:pg2 2>&1`;
like($v, qr/^ok: 3 events in 1 sessions/,
    'login, statement and end, delivered and chained')
    or diag $v;
$t2->stop;

done_testing;

# hoop_rule on Postgres statements: every statement is classified by the
# real PostgreSQL parser and decided before it reaches the server.  A
# denial is an ErrorResponse 42501 naming the rule, after which the
# session goes on, in the simple and the extended protocol, in and out of
# transactions (whose true status the client keeps seeing), in pipelines;
# a multi-statement Query with one denied statement runs none of it; and
# every decision is an audit event.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use DBI;
use JSON::PP;
use Hoop::JWT;
use Hoop::Test qw(spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;
use Hoop::Test::Redis;

my $redis = Hoop::Test::Redis->new->start;
my $pg = Hoop::Test::Pg->new->start;
$pg->psql(q{CREATE TABLE t (id int PRIMARY KEY, v text);
    INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 10) g;
    CREATE TABLE audit_log (id serial, what text);
    CREATE SEQUENCE s});

my $t = Hoop::Test::Nginx->new(workers => 2);
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

        hoop_rule deny  sql.ddl name=no-ddl "reason=schema changes go through migrations";
        hoop_rule deny  sql.delete where=none name=no-bulk-delete;
        hoop_rule deny  sql.write table=audit_log name=audit-log-is-append-only;
        hoop_rule allow sql.read;
        hoop_rule allow sql.write groups=writers;
    }

    # allow rules that name what they allow
    server {
        listen 127.0.0.1:%%PORT_named%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_rule allow sql.select name=selects;
        hoop_rule allow table=t,audit_log name=two-tables;
    }
}
EOF
$t->wait_redis(2);
my $port = $t->port('pg');

sub token {
    my (@groups) = @_;
    return $key->mint(claims => { iss => 'https://idp.test',
        aud => 'hoop-gateway', sub => 'agent-7', groups => \@groups,
        exp => time + 600 });
}
my $writer = token('writers');
my $reader = token('readers');

sub psql {
    my ($tok, $sql) = @_;
    local $ENV{PGPASSWORD} = $tok;
    my $out = `psql -X -At -v VERBOSITY=verbose -h 127.0.0.1 -p $port -U postgres -d postgres -c "$sql" 2>&1`;
    return ($? >> 8, $out);
}

my ($rc, $out) = psql($reader, 'SELECT count(*) FROM t');
is($out, "10\n", 'a read is allowed');

($rc, $out) = psql($writer, 'CREATE TABLE x (a int)');
like($out, qr/^ERROR:  42501: hoop: ddl statement denied by rule "no-ddl": schema changes go through migrations$/m,
    'DDL: ERROR 42501 naming the rule and its reason') or diag $out;
like($out, qr/^HINT:  .*policy/m, 'with a hint');
is($pg->psql(q{SELECT count(*) FROM pg_class WHERE relname = 'x'}), 0,
    'the table was not created');

($rc, $out) = psql($reader, 'INSERT INTO t VALUES (11)');
like($out, qr/42501: hoop: write statement denied: no rule allows it/,
    'no rule matches a reader\'s write: the default denies');

($rc, $out) = psql($writer,
    'INSERT INTO t VALUES (100); DROP TABLE t; INSERT INTO t VALUES (101)');
like($out, qr/denied by rule "no-ddl"/, 'one denied statement in three');
is($pg->psql('SELECT count(*) FROM t WHERE id >= 100'), 0,
    'and none of the three ran');

($rc, $out) = psql($writer, 'WITH d AS (DELETE FROM t RETURNING *) SELECT count(*) FROM d');
like($out, qr/denied by rule "no-bulk-delete"/,
    'a DELETE without WHERE inside a SELECT is a bulk delete');
($rc, $out) = psql($reader, "SELECT nextval('s')");
like($out, qr/write statement denied/,
    'nextval() in a SELECT is a write');
($rc, $out) = psql($reader, "SELECT set_config('default_transaction_read_only', 'off', false)");
like($out, qr/write statement denied/,
    'set_config() lifting read-only is a write');
($rc, $out) = psql($writer, "SELECT set_config('session_authorization', 'x', false)");
like($out, qr/admin statement denied/,
    'set_config() of who the session is: an admin statement');
($rc, $out) = psql($writer, 'SELEC 1');
like($out, qr/42501: hoop: unknown statement denied: the gateway cannot parse it\nDETAIL:  syntax error at or near "SELEC"/,
    'what the parser refuses is denied, with the parser\'s message');
($rc, $out) = psql($writer, "INSERT INTO audit_log (what) VALUES ('x')");
like($out, qr/denied by rule "audit-log-is-append-only"/,
    'a rule on a table');

# a multi-byte client encoding would let the server read a quote the
# classifier does not see: refused at startup and as SET
{
    local $ENV{PGCLIENTENCODING} = 'SJIS';
    ($rc, $out) = psql($writer, 'SELECT 1');
}
like($out, qr/FATAL:  hoop: startup parameter "client_encoding" is not allowed/,
    'client_encoding SJIS at startup: refused');
($rc, $out) = psql($writer, "SET client_encoding = 'SJIS'");
like($out, qr/42501: hoop: admin statement denied/,
    'SET client_encoding: an admin statement, denied by default');

# what an allow rule names must be all there is: a DELETE in a CTE is no
# SELECT, and a join with another table is not a read of the named ones
{
    my $named = $t->port('named');
    local $ENV{PGPASSWORD} = $reader;
    my $q = sub {
        my $o = `psql -X -At -h 127.0.0.1 -p $named -U postgres -d postgres -c "$_[0]" 2>&1`;
        return $o;
    };
    like($q->('WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) SELECT count(*) FROM d'),
        qr/hoop: write statement denied: no rule allows it/,
        'allow sql.select: a SELECT over a DELETE is not allowed by it');
    is($pg->psql('SELECT count(*) FROM t WHERE id = 1'), 1, '  nothing deleted');
    is($q->('SELECT count(*) FROM t'), "10\n", '  a plain SELECT is');
    like($q->('SHOW search_path'), qr/read statement denied/,
        'allow table=t,audit_log: a statement with no table is not');
    like($q->("INSERT INTO t SELECT 77, relname FROM pg_class LIMIT 1"),
        qr/write statement denied/, '  nor one that also reads another table');
    is($q->("INSERT INTO audit_log (what) SELECT v FROM t WHERE id = 1"),
        "INSERT 0 1\n", '  one of only those tables is');
}

# one session, both protocols, denial then more work

for my $prepare (0, 1) {
    my $proto = $prepare ? 'extended' : 'simple';
    my $dbh = DBI->connect("dbi:Pg:host=127.0.0.1;port=$port;dbname=postgres",
        'postgres', $writer, { RaiseError => 0, PrintError => 0,
        AutoCommit => 1, pg_server_prepare => $prepare });
    ok($dbh, "$proto: DBD::Pg connects") or diag $DBI::errstr;
    my $ok = $dbh->do('DELETE FROM t');
    ok(!$ok, "$proto: a bulk DELETE fails");
    is($dbh->state, '42501', "$proto: with SQLSTATE 42501");
    like($dbh->errstr, qr/no-bulk-delete/, "$proto: naming the rule");
    is($dbh->selectrow_array('SELECT count(*) FROM t WHERE id > $1', undef, 5),
        5, "$proto: the session goes on");

    $dbh->{AutoCommit} = 0;
    $dbh->do('INSERT INTO t VALUES (' . (200 + $prepare) . ", 'tx')");
    ok(!$dbh->do('DROP TABLE t'), "$proto: denied inside a transaction");
    ok(!$dbh->do('SELECT 1'), "$proto: the server refuses more in it");
    is($dbh->state, '25P02', "$proto: in_failed_sql_transaction");
    $dbh->rollback;
    is($dbh->selectrow_array('SELECT count(*) FROM t WHERE id >= 200'), 0,
        "$proto: after ROLLBACK the insert is gone, the session fine");
    $dbh->disconnect;
}

# a pipeline: the denied statement and what follows it to Sync are
# discarded, and the batch is rolled back, as a server does after any
# error; the same pipeline straight to the server, failing on its own at
# the same place, is the reference
my $py = <<"PY";
import psycopg, sys
port, password, bad, base = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = psycopg.connect(host='127.0.0.1', port=port, dbname='postgres',
                    user='postgres', password=password, autocommit=True)
out = []
try:
    with c.pipeline():
        c.execute("INSERT INTO t VALUES (%s, 'p')" % base)
        c.execute(bad)
        c.execute("INSERT INTO t VALUES (%s, 'p')" % (base + 1))
except psycopg.Error as e:
    out.append(e.sqlstate)
out.append(str(c.execute("SELECT count(*) FROM t WHERE id >= %s AND id < %s"
                         % (base, base + 2)).fetchone()[0]))
print(" ".join(out))
PY
spit("$d/pipe.py", $py);
my $direct = `/usr/bin/python3 $d/pipe.py ${\ $pg->port} '' 'DELETE FROM t WHERE 1/0 = 1' 400 2>>$d/pipe.err`;
like($direct, qr/^22012 \d\n$/, 'the reference: a pipeline failing mid-way')
    or diag $direct;
my ($kept) = $direct =~ / (\d)$/;
is(`/usr/bin/python3 $d/pipe.py $port '$writer' 'DELETE FROM t' 300 2>>$d/pipe.err`,
    "42501 $kept\n",
    'psycopg pipeline with a denied statement: 42501, and what ran is what'
    . ' a server keeps after an error');

# the legacy fast path (libpq's large objects) calls functions by number
my $dbh = DBI->connect("dbi:Pg:host=127.0.0.1;port=$port;dbname=postgres",
    'postgres', $writer, { RaiseError => 0, PrintError => 0, AutoCommit => 0 });
my $lo = $dbh->pg_lo_creat($dbh->{pg_INV_WRITE});
ok(!$lo, 'FunctionCall (lo_creat) is denied');
$dbh->rollback;
is($dbh->selectrow_array('SELECT 1'), 1, 'and the session goes on');
$dbh->disconnect;

# the evidence

my @ev;
wait_until(sub {
    @ev = grep { $_->{type} eq 'pg.query' }
        map { decode_json({ @{ $_->[1] } }->{event}) }
        @{ $redis->command('XRANGE', 'hoop:audit:pg', '-', '+') // [] };
    grep { $_->{query}{command} eq 'fastpath' } @ev;
}, 'the statement events');

my ($fp) = grep { $_->{query}{command} eq 'fastpath' } @ev;
is($fp->{decision}{result}, 'deny', 'the FunctionCall is recorded, denied');
my ($ddl) = grep { $_->{query}{command} eq 'create table' } @ev;
is($ddl->{decision}{result}, 'deny', 'the denied DDL is recorded as denied');
is($ddl->{decision}{rule}, 'no-ddl', 'with its rule');
is($ddl->{result}{sqlstate}, '42501', 'and its SQLSTATE');
is($ddl->{result}{ran}, JSON::PP::false, 'and did not run');
my ($multi) = grep { ($_->{query}{sql} // '') =~ /^INSERT INTO t VALUES \(\$1\)$/ } @ev;
ok($multi, 'statements of a multi-statement Query are recorded one by one,'
    . ' literals masked');
my ($sel) = grep { ($_->{query}{sql} // '') eq 'SELECT count(*) FROM t' } @ev;
is($sel->{result}{rows}, 1, 'an allowed read: its rows');
is_deeply($sel->{query}{tables}, ['t'], 'and its tables');
my ($unk) = grep { $_->{query}{kind} eq 'unknown' } @ev;
is($unk->{query}{sql}, undef, 'unparseable text is not recorded');
is($unk->{query}{sql_bytes}, 7, 'its size is');
my @ext = grep { $_->{query}{protocol} eq 'extended' } @ev;
ok(scalar(@ext) >= 2, 'extended-protocol executions are recorded too');

$t->stop;
done_testing;

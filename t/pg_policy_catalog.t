# A statement's kind comes from what the database's catalog says its names
# resolve to, whatever syntax calls them: attribute notation ((x).f,
# t.f), operators, casts, aggregates, views, row security policies,
# domains, SQL function bodies.  The gateway's role is a superuser, so
# nothing but the gateway stands between the agent and each effect, and
# every effect is checked on the database itself.  The catalog is read at
# login, shared by sessions of the same database, read again when it
# changed; a function created after a session began is not trusted by it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use DBI;
use Hoop::JWT;
use Hoop::Test qw(spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;
use Hoop::Test::Redis;

my $redis = Hoop::Test::Redis->new->start;
my $pg = Hoop::Test::Pg->new->start;
$pg->psql(<<'SQL');
CREATE TABLE t (id int PRIMARY KEY, v text);
INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 3) g;
CREATE TABLE effects (what text);
CREATE SEQUENCE s;
CREATE FUNCTION fx(anyelement) RETURNS int LANGUAGE sql VOLATILE
    AS $$ INSERT INTO effects VALUES ('fx'); SELECT 1 $$;
CREATE FUNCTION fx_int(int, int) RETURNS boolean LANGUAGE sql VOLATILE
    AS $$ INSERT INTO effects VALUES ('operator'); SELECT true $$;
CREATE OPERATOR === (LEFTARG = int, RIGHTARG = int, FUNCTION = fx_int);
CREATE TYPE pair AS (a int, b int);
CREATE FUNCTION fx_pair(int) RETURNS pair LANGUAGE sql VOLATILE
    AS $$ INSERT INTO effects VALUES ('cast'); SELECT ROW($1, $1)::pair $$;
CREATE CAST (int AS pair) WITH FUNCTION fx_pair(int);
CREATE FUNCTION fx_step(int, int) RETURNS int LANGUAGE sql VOLATILE
    AS $$ INSERT INTO effects VALUES ('aggregate'); SELECT coalesce($1, 0) + $2 $$;
CREATE AGGREGATE fx_agg(int) (sfunc = fx_step, stype = int);
CREATE VIEW v_fx AS SELECT fx(1) AS x;
CREATE VIEW v_v AS SELECT * FROM v_fx;
CREATE VIEW v_ok AS SELECT id, now() AS at FROM t;
CREATE FUNCTION seq_next() RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT nextval('s') $$;
CREATE TABLE rls_t (id int);
INSERT INTO rls_t VALUES (1);
ALTER TABLE rls_t ENABLE ROW LEVEL SECURITY;
ALTER TABLE rls_t FORCE ROW LEVEL SECURITY;
CREATE POLICY p ON rls_t USING (fx(id) = 1);
CREATE FUNCTION report(int) RETURNS int LANGUAGE sql STABLE AS $$ SELECT $1 $$;
-- STABLE is a promise PostgreSQL does not hold a PL/pgSQL body to
CREATE FUNCTION stab(int) RETURNS int LANGUAGE plpgsql STABLE
    AS $$ BEGIN RETURN fx($1); END $$;
CREATE FUNCTION atomic_fx(int) RETURNS int STABLE
    BEGIN ATOMIC SELECT fx($1); END;
CREATE FUNCTION return_fx(int) RETURNS int STABLE RETURN fx($1);
-- casts reached through a domain over the target, negators the planner
-- picks, foreign tables, extension functions run the SQL they are given
CREATE TYPE mood AS ENUM ('a', 'b');
CREATE FUNCTION mood_mac(mood) RETURNS macaddr8 LANGUAGE sql VOLATILE
    AS $$ INSERT INTO effects VALUES ('cast');
          SELECT '08:00:2b:01:02:03:04:05'::macaddr8 $$;
CREATE CAST (mood AS macaddr8) WITH FUNCTION mood_mac(mood);
CREATE DOMAIN mymac AS macaddr8;
CREATE FUNCTION mood_eq(mood, mood) RETURNS boolean LANGUAGE sql IMMUTABLE
    AS 'SELECT $1::text = $2::text';
CREATE FUNCTION mood_ne(mood, mood) RETURNS boolean LANGUAGE sql VOLATILE
    AS $$ INSERT INTO effects VALUES ('negator');
          SELECT $1::text <> $2::text $$;
CREATE OPERATOR =% (LEFTARG = mood, RIGHTARG = mood, FUNCTION = mood_eq,
    NEGATOR = <>%);
CREATE OPERATOR <>% (LEFTARG = mood, RIGHTARG = mood, FUNCTION = mood_ne,
    NEGATOR = =%);
CREATE TABLE tm (m mood);
INSERT INTO tm VALUES ('a'), ('b');
CREATE EXTENSION tablefunc;
CREATE EXTENSION citext;
CREATE TABLE ct (e citext);
INSERT INTO ct VALUES ('Ada');
CREATE EXTENSION file_fdw;
CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;
-- what a call runs besides the body: defaults, an aggregate's functions
CREATE FUNCTION with_default(a int DEFAULT fx(1)) RETURNS int
    LANGUAGE sql STABLE AS 'SELECT $1';
CREATE FUNCTION stable_step(int, int) RETURNS int LANGUAGE sql STABLE
    AS 'SELECT coalesce($1, 0) + fx($2)';
CREATE AGGREGATE stable_agg(int) (sfunc = stable_step, stype = int);
SQL
$pg->psql('CREATE DATABASE evil_db');
$pg->psql('CREATE DATABASE domain_db');

# a foreign table whose wrapper runs a program: here, one that writes
{
    my $psql = Hoop::Test::Pg::bindir() . '/psql';
    my $cmd = "$psql -X -q -h 127.0.0.1 -p ${\ $pg->port} -U postgres"
        . q{ -d postgres -c "INSERT INTO effects VALUES ('fdw')"};
    $cmd =~ s/'/''/g;
    $pg->psql("CREATE FOREIGN TABLE ft_prog (x text) SERVER files"
        . " OPTIONS (program '$cmd')");
}

# a domain whose CHECK calls a volatile function: PostgreSQL runs it
# wherever a value becomes one, named or not
$pg->psql(<<'SQL', db => 'domain_db');
CREATE TABLE effects (what text);
CREATE FUNCTION fx(anyelement) RETURNS int LANGUAGE sql VOLATILE
    AS $$ INSERT INTO effects VALUES ('fx'); SELECT 1 $$;
CREATE DOMAIN dx AS int CHECK (fx(VALUE) = 1);
CREATE DOMAIN dy AS dx;
CREATE TYPE holds_dx AS (a dx);
CREATE TABLE dx_t (id int, a dy);
INSERT INTO dx_t VALUES (1, 1);
CREATE FUNCTION takes_dx(dx) RETURNS int LANGUAGE sql STABLE
    AS 'SELECT $1 + 1';
CREATE DOMAIN abs AS int CHECK (fx(VALUE) = 1);
TRUNCATE effects;   -- the row above ran the CHECK
SQL

# a database with an "=" a search path may put before the built-in one:
# the session's (JOIN ... USING) and the gateway's own (oid = oid), which
# its role's default search path puts first
$pg->psql(<<'SQL', db => 'evil_db');
CREATE TABLE t (id int PRIMARY KEY);
INSERT INTO t VALUES (1);
CREATE TABLE effects (what text);
CREATE SCHEMA evil;
CREATE FUNCTION evil.eq(int, int) RETURNS boolean LANGUAGE sql VOLATILE
    AS $$ INSERT INTO public.effects VALUES ('using');
          SELECT $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR evil.= (LEFTARG = int, RIGHTARG = int, FUNCTION = evil.eq);
CREATE FUNCTION evil.oideq(oid, oid) RETURNS boolean LANGUAGE sql VOLATILE
    AS $$ INSERT INTO public.effects VALUES ('gateway');
          SELECT $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR evil.= (LEFTARG = oid, RIGHTARG = oid,
    FUNCTION = evil.oideq);
ALTER DATABASE evil_db SET search_path = evil, pg_catalog, public;
SQL

# what each denied statement would do, seen on the database itself: it
# changes "effects", in a transaction rolled back
my %oracle = map {
    my $o = DBI->connect("dbi:Pg:host=127.0.0.1;port=${\ $pg->port};"
        . "dbname=$_", 'postgres', '',
        { RaiseError => 0, PrintError => 0, AutoCommit => 0 });
    BAIL_OUT(DBI->errstr) unless $o;
    ($_ => $o) } qw(postgres evil_db domain_db);

sub has_effect {
    my ($sql, $db) = @_;
    my $oracle = $oracle{ $db // 'postgres' };
    $oracle->selectall_arrayref($sql);
    my $err = $oracle->errstr;
    my ($n) = $err ? (0) : @{ $oracle->selectcol_arrayref(
        'SELECT count(*) FROM public.effects') };
    $oracle->rollback;
    diag "$sql: $err" if $err;
    return $n > 0;
}

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
        listen 127.0.0.1:%%PORT_ro%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
        hoop_rule allow sql.read;
    }

    # what the operator vouches for
    server {
        listen 127.0.0.1:%%PORT_vouched%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_pg_read_safe public.fx;
        hoop_rule allow sql.read;
    }

    # everything but one function, denied by name
    server {
        listen 127.0.0.1:%%PORT_named%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_rule deny function=fx name=no-fx;
        hoop_default allow;
    }
}
EOF
$t->wait_redis(1);

my $token = $key->mint(claims => { iss => 'https://idp.test',
    aud => 'hoop-gateway', sub => 'agent-7', exp => time + 600 });

sub connect_to {
    my ($port, $db) = @_;
    my $dbh = DBI->connect("dbi:Pg:host=127.0.0.1;port=${\ $t->port($port)};"
        . "dbname=${\ ($db // 'postgres')}", 'postgres', $token,
        { RaiseError => 0, PrintError => 0, AutoCommit => 1 });
    BAIL_OUT(DBI->errstr) unless $dbh;
    return $dbh;
}

my $dbh = connect_to('ro');

my $effects = "SELECT count(*) || ':' || (SELECT last_value FROM s)"
    . ' FROM effects';

# statement, kind, what the denial says
my @denied = (
    ['SELECT fx(1)', 'call', qr/public\.fx\(\) is VOLATILE/],
    ['SELECT (1).fx', 'call', qr/public\.fx\(\) is VOLATILE/],
    ['SELECT t.fx FROM t', 'call', qr/public\.fx\(\)/],
    ['SELECT x.fx FROM (SELECT 1) x(a)', 'call', qr/public\.fx\(\)/],
    ["SELECT ('s').nextval", 'write', qr/pg_catalog\.nextval\(\)/],
    ["SELECT ('s'::regclass).nextval", 'write', qr/nextval/],
    ['SELECT 1 === 2', 'call', qr/public\.fx_int\(\)/],
    ['SELECT 1 OPERATOR(public.===) 2', 'call', qr/fx_int/],
    ['SELECT 1::pair', 'call', qr/public\.fx_pair\(\)/],
    ['SELECT CAST(2 AS pair)', 'call', qr/fx_pair/],
    ['SELECT fx_agg(id) FROM t', 'call', qr/fx_agg/],
    ['SELECT * FROM v_fx', 'call', qr/public\.v_fx: public\.fx\(\)/],
    ['SELECT * FROM v_v', 'call', qr/public\.v_v: public\.fx\(\)/],
    ['SELECT * FROM rls_t', 'call', qr/public\.rls_t: public\.fx\(\)/],
    ['SELECT seq_next()', 'write', qr/public\.seq_next: pg_catalog\.nextval/],
    ['SELECT * FROM pg_authid', 'admin', qr/pg_authid is not readable/],
    ["SELECT ('PG_VERSION').pg_read_file", 'admin', qr/pg_read_file/],
    ['SELECT * FROM pg_catalog.pg_config()', 'admin',
     qr/pg_config\(\) is not executable by PUBLIC/],
    ['SELECT no_such_fn(1)', 'call', qr/no function "no_such_fn"/],
);

# each with its effect checked on the database
my @effects = (
    ['SELECT stab(1)', 'call', qr/public\.stab\(\) is not SQL/],
    ['SELECT atomic_fx(1)', 'call', qr/public\.atomic_fx: public\.fx\(\)/],
    ['SELECT return_fx(1)', 'call', qr/public\.return_fx: public\.fx\(\)/],
    [q{SELECT 'a'::mood::mymac}, 'call',
     qr/public\.mymac: public\.mood_mac\(\)/],
    [q{SELECT count(*) FROM tm WHERE NOT (m =% 'b')}, 'call',
     qr/public\.mood_ne\(\) is VOLATILE/],
    ['SELECT * FROM ft_prog', 'call',
     qr/public\.ft_prog is a foreign table/],
    [q{SELECT * FROM crosstab('SELECT ''a''::text, ''b''::text,}
     . q{ fx(1)::text') AS t(r text, c text)}, 'call',
     qr/public\.crosstab\(\) is not SQL/],
    ['SELECT with_default()', 'call',
     qr/public\.with_default: public\.fx\(\)/],
    ['SELECT stable_agg(id) FROM t', 'call',
     qr/public\.stable_agg: public\.fx\(\)/],
);

for my $c (@effects) {
    ok(has_effect($c->[0]), "$c->[0]: has an effect on the database");
    push @denied, $c;
}

# (the foreign table's program commits what it writes)
my $none = $pg->psql($effects);

for my $c (@denied) {
    my ($sql, $kind, $why) = @$c;
    my $r = $dbh->selectall_arrayref($sql);
    my $err = $dbh->errstr // '';
    like($err, qr/hoop: $kind statement denied: no rule allows it/,
        "$sql: a $kind statement, denied") or diag $err;
    like($err, qr/DETAIL:  It may .*$why/s, '  and the denial says why')
        or diag $err;
}

is($pg->psql($effects), $none, 'none of them had an effect');

# JOIN ... USING and NATURAL JOIN compare with the search path's "=";
# the gateway's own queries do not use the session's
{
    my $e = connect_to('ro', 'evil_db');
    is_deeply($e->selectall_arrayref('SHOW search_path'),
        [['evil, pg_catalog, public']],
        'a session whose search path puts evil.= first logs in');
    is($pg->psql('SELECT count(*) FROM effects', db => 'evil_db'), 0,
        '  and reading the catalog called none of its operators');
    for my $sql ('SELECT * FROM t JOIN t t2 USING (id)',
        'SELECT * FROM t NATURAL JOIN (SELECT 1 AS id) x')
    {
        ok(has_effect($sql, 'evil_db'), "$sql: has an effect on the database");
        $e->selectall_arrayref($sql);
        like($e->errstr // '',
            qr/call statement denied.*evil\.\w+\(\) is VOLATILE/s,
            "  and is denied as a call") or diag $e->errstr;
    }
    $e->disconnect;
}

# a domain's CHECK that calls a volatile function: every statement may
# run it (a Parse's parameter types, record_in(), a whole-row value
# populated from JSON name no type), so every statement is a call
{
    my $e = connect_to('ro', 'domain_db');
    for my $sql ('SELECT 1::dx', 'SELECT 1::dy', q{SELECT '{1}'::_dx},
        q{SELECT * FROM json_to_record('{"a":1}') AS r(a dx)},
        q{SELECT x FROM xmltable('/a' PASSING '<a>1</a>' COLUMNS x dx}
            . q{ PATH '.')},
        q{SELECT '(1)'::holds_dx}, 'SELECT takes_dx(2)',
        q{SELECT jsonb_populate_record(d, '{"a":7}') FROM dx_t d},
        q{SELECT domain_in('5', 'public.dx'::regtype, -1) IS NULL},
        q{SELECT record_in('(1,5)', 'dx_t'::regtype::oid, -1) IS NULL},
        q{SELECT abs('5')})
    {
        ok(has_effect($sql, 'domain_db'),
            "$sql: has an effect on the database");
        $e->selectall_arrayref($sql);
        like($e->errstr // '',
            qr/call statement denied.*public\.\w+: public\.fx\(\) is/s,
            "  and is denied as a call") or diag $e->errstr;
    }
    $e->selectall_arrayref('SELECT 1');
    like($e->errstr // '', qr/call statement denied/,
        'in that database, every statement is a call');
    is($pg->psql('SELECT count(*) FROM effects', db => 'domain_db'), 0,
        '  none ran');
    $e->disconnect;
}

# the catalog also says what is only a read
for my $sql ('SELECT random(), pg_table_size(\'t\'), now()',
    'SELECT c.id, c.v FROM t c WHERE c.id BETWEEN 1 AND 3 ORDER BY 1',
    'SELECT * FROM v_ok', 'SELECT report(1), (2).report',
    q{SELECT e FROM ct WHERE e = 'ADA' AND e LIKE 'a%'},
    "SELECT id FROM t WHERE v LIKE 'v%' AND id IN (1, 2)")
{
    my $r = $dbh->selectall_arrayref($sql);
    ok($r && !$dbh->err, "$sql: allowed") or diag $dbh->errstr;
}

# the trail names what a statement may call, however it was written
{
    $dbh->selectall_arrayref('SELECT (2).report');
    my $ev = wait_until(sub {
        (grep { ($_->{query}{sql} // '') eq 'SELECT ($1).report' }
            $redis->events('hoop:audit:pg'))[0] }, 'the event of (2).report');
    is_deeply($ev && $ev->{query}{functions}, ['report'],
        'the audit event lists report() called as (2).report');
    my ($denied) = grep { ($_->{query}{sql} // '') eq 'SELECT ($1).fx' }
        $redis->events('hoop:audit:pg');
    is($denied && $denied->{query}{kind}, 'call', 'and (1).fx as a call');
    is_deeply($denied && $denied->{query}{functions}, ['fx'], '  of fx()');
}

# a function created after the session began is not known to it
$pg->psql(q{CREATE FUNCTION late() RETURNS int LANGUAGE sql STABLE AS 'SELECT 7'});
$dbh->selectall_arrayref('SELECT late()');
like($dbh->errstr // '', qr/call statement denied.*no function "late"/s,
    'a function created during the session: not trusted by it');

# a session that begins within a second of another takes that one's
# catalog without asking (connection storms); after that, the new one
my $fresh;
wait_until(sub {
    $fresh = connect_to('ro');
    my $r = $fresh->selectall_arrayref('SELECT late()');
    $r && $r->[0][0] == 7 }, 'a new session to see the new function', 5);
pass('a session that began after it reads the changed catalog');

like($t->error_log, qr/hoop pg: catalog \w{32} read: \d+ objects/,
    'the gateway logs each catalog it reads');
my $reads = () = $t->error_log =~ /hoop pg: catalog \w{32} read/g;
my $recent = () = $t->error_log =~ /hoop pg: catalog \w{32} of a moment ago/g;
connect_to('ro')->selectall_arrayref('SELECT 1') for 1 .. 3;
is(scalar(() = $t->error_log =~ /hoop pg: catalog \w{32} read/g), $reads,
    'sessions of an unchanged catalog share the one read');
cmp_ok(scalar(() = $t->error_log =~ /hoop pg: catalog \w{32} of a moment ago/g),
    '>', $recent, 'and logins within a second of another do not even ask'
    . ' its fingerprint');

# what the operator vouches for is a read, to the gateway; PostgreSQL,
# which the gateway keeps read-only for this policy, still refuses the
# INSERT fx() does
{
    my $v = connect_to('vouched');
    $v->selectall_arrayref('SELECT (1).fx');
    like($v->errstr // '',
        qr/cannot execute INSERT in a read-only transaction/,
        'hoop_pg_read_safe public.fx: passed as a read, refused by'
        . ' the read-only session') or diag $v->errstr;
    $v->selectall_arrayref('SELECT * FROM v_fx');
    like($v->errstr // '', qr/read-only transaction/,
        '  and so is a view that calls it');
    $v->selectall_arrayref('SELECT 1 === 2');
    like($v->errstr // '', qr/call statement denied/,
        '  other volatile functions are still calls');
    is($pg->psql($effects), $none, '  none ran');
}

# a function denied by name, in every syntax
{
    my $n = connect_to('named');
    for my $sql ('SELECT fx(1)', 'SELECT (1).fx', 'SELECT t.fx FROM t',
        'SELECT * FROM v_v')
    {
        $n->selectall_arrayref($sql);
        like($n->errstr // '', qr/denied by rule "no-fx"/,
            "deny function=fx: $sql") or diag $n->errstr;
    }

    is($pg->psql($effects), $none, '  none ran');
    is_deeply($n->selectall_arrayref('SELECT 1 === 2'), [[1]],
        '  other functions run');
}

$dbh->disconnect;
$fresh->disconnect;
$t->stop;
done_testing();

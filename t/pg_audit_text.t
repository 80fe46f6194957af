# The trail says exactly what ran, and no value the agent typed: every
# literal is replaced, also where pg_query_normalize leaves them (NOTIFY
# payloads, file names, ALTER SYSTEM values, CALL, PREPARE and EXECUTE
# arguments, COMMENT texts, dollar-quoted and E'' strings); an SQL-level
# EXECUTE is recorded as what it runs; a statement refused in the
# extended protocol carries its SQLSTATE; the statements of a refused
# Query that never ran are recorded as refused with it; commands are
# named as PostgreSQL names them.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use DBI;
use Hoop::JWT;
use Hoop::Test qw(spit wait_until secret);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;
use Hoop::Test::Redis;

my $redis = Hoop::Test::Redis->new->start;
my $pg = Hoop::Test::Pg->new->start;
$pg->psql(<<'SQL');
CREATE TABLE t (id int PRIMARY KEY, v text);
INSERT INTO t VALUES (1, 'a'), (2, 'b');
CREATE PROCEDURE keep(card bigint, who text) LANGUAGE sql AS $$ SELECT 1 $$;
SQL

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
        hoop_rule deny sql.admin name=no-admin;
        hoop_rule deny sql.ddl name=no-ddl;
        hoop_rule allow sql.read;
        hoop_rule allow sql.write;
        hoop_rule allow sql.call;
    }
}
EOF
$t->wait_redis(1);

my $token = $key->mint(claims => { iss => 'https://idp.test',
    aud => 'hoop-gateway', sub => 'agent-7', exp => time + 600 });

sub session {
    my ($prepare) = @_;
    my $dbh = DBI->connect("dbi:Pg:host=127.0.0.1;port=${\ $t->port('pg')};"
        . 'dbname=postgres', 'postgres', $token,
        { RaiseError => 0, PrintError => 0, PrintWarn => 0, AutoCommit => 1,
          pg_server_prepare => $prepare });
    BAIL_OUT(DBI->errstr) unless $dbh;
    return $dbh;
}

my $dbh = session(0);

# values that must never reach the trail, whatever statement carries them
my $card = '4111111111111111';
my $payload = 'payload-of-a-secret-kind';
secret($payload, 'a NOTIFY payload');
secret('/tmp/hoop-secret-file-name', 'a file name');
secret('secret-setting-value', 'an ALTER SYSTEM value');
secret('dollar-quoted-secret', 'a dollar-quoted string');
secret('escaped-secret', 'an E string');
secret($card, 'a card number');

# statement => what the trail must say of it
my @cases = (
    ["NOTIFY ch, '$payload'", 'NOTIFY ch, $1'],
    ["COPY t TO '/tmp/hoop-secret-file-name'", 'COPY t TO $1'],
    ["ALTER SYSTEM SET work_mem = 'secret-setting-value'",
     'ALTER SYSTEM SET work_mem = $1'],
    ["LOAD '/tmp/hoop-secret-file-name'", 'LOAD $1'],
    ["CALL keep($card, 'alice')", 'CALL keep($1, $2)'],
    ["NOTIFY ch, \$\$dollar-quoted-secret\$\$", 'NOTIFY ch, $1'],
    ["NOTIFY ch, E'escaped-secret\\n'", 'NOTIFY ch, $1'],
    ["SELECT * FROM t WHERE id = 1 ORDER BY 1", 'SELECT * FROM t WHERE id = $1 ORDER BY 1'],
    ['CHECKPOINT', 'CHECKPOINT'],
);

$dbh->do($_->[0]) for @cases;

sub events {
    return grep { $_->{type} eq 'pg.query' } $redis->events('hoop:audit:pg');
}

sub event_of {
    my ($sql) = @_;
    return wait_until(sub { (grep { ($_->{query}{sql} // '') eq $sql } events())[0] },
        "the event of $sql");
}

for my $c (@cases) {
    my $ev = event_of($c->[1]);
    is($ev->{query}{sql}, $c->[1], "recorded as $c->[1]");
}

is(event_of('CHECKPOINT')->{query}{command}, 'checkpoint',
    'CHECKPOINT is named checkpoint');
$dbh->do('ANALYZE t');
is(event_of('ANALYZE t')->{query}{command}, 'analyze', 'ANALYZE, analyze');

# SQL-level PREPARE and EXECUTE: the same names as the protocol's

ok($dbh->do("PREPARE byid(int) AS SELECT v FROM t WHERE id = \$1"),
    'PREPARE of a read');
is_deeply($dbh->selectall_arrayref("EXECUTE byid(2)"), [['b']],
    'EXECUTE of it runs');
my $ex = event_of('EXECUTE byid($1)');
is($ex->{query}{kind}, 'read', '  recorded as the read it runs');
is($ex->{query}{command}, 'execute', '  command execute');
is_deeply($ex->{query}{tables}, ['t'], '  its tables');

ok($dbh->do('DEALLOCATE byid'), 'DEALLOCATE');
$dbh->do('EXECUTE byid(2)');
like($dbh->errstr // '',
    qr/unknown statement denied: it runs a prepared statement the gateway does not know/,
    'EXECUTE of a name deallocated: what it would run is not known');

is_deeply($dbh->selectall_arrayref(
    'PREPARE pair2 AS SELECT count(*) FROM t; EXECUTE pair2'), [[2]],
    'PREPARE and EXECUTE in one Query') or diag $dbh->errstr;

{
    my $ext = session(1);
    my $sth = $ext->prepare('SELECT v FROM t WHERE id = ?',
        { pg_prepare_now => 1 });
    $sth->execute(1);
    my $name = $sth->{pg_prepare_name} // '';
    $sth->fetchall_arrayref;
    is_deeply($ext->selectcol_arrayref('SELECT name FROM pg_prepared_statements'
        . " WHERE name = '$name'"), [$name],
        "a statement the driver prepared ($name)");
    is_deeply($ext->selectall_arrayref("EXECUTE $name(1)"), [['a']],
        '  EXECUTE of it, by the name the protocol gave it')
        or diag $ext->errstr;
    is(event_of("EXECUTE $name(\$1)")->{query}{kind}, 'read',
        '  recorded as the read it is');

    my $v = $ext->prepare('SELECT pg_reload_conf() WHERE 1 = ?');
    ok(!$v->execute(1), 'an admin call refused in the extended protocol');
    my $vac = wait_until(sub {
        (grep { ($_->{query}{sql} // '') eq 'SELECT pg_reload_conf() WHERE $2 = $1' } events())[0] },
        'the event of the admin call');
    is($vac->{query}{protocol}, 'extended', '  recorded as extended');
    is($vac->{result}{sqlstate}, '42501',
        'a statement refused in the extended protocol: its SQLSTATE');
    is($vac->{decision}{result}, 'deny', '  refused');
}

# a Query with one statement refused: none ran, and the trail says so

$dbh->do("INSERT INTO t VALUES (9, 'z'); VACUUM t; INSERT INTO t VALUES (10, 'y')");
my @q = wait_until(sub {
    my @e = grep { ($_->{query}{sql} // '') eq 'INSERT INTO t VALUES ($1, $2)' }
        events();
    @e >= 2 ? \@e : undef }, 'the events of the refused Query');
@q = @{ $q[0] };
is(scalar(grep { $_->{decision}{result} eq 'deny' } @q), 2,
    'the allowed statements of a refused Query are recorded as refused');
like($q[0]{decision}{reason}, qr/another statement of the same Query was refused/,
    '  with why');
is($q[0]{result}{ran}, JSON::PP::false, '  and as not run');
is($q[0]{result}{sqlstate}, '42501', '  with the denial\'s SQLSTATE');
is($pg->psql('SELECT count(*) FROM t WHERE id >= 9'), 0, '  none ran');

$dbh->disconnect;
$t->stop;
done_testing();

# Statements that differ only in their values share a classification, kept
# per worker by the statement's shape, found without the parser: what an
# agent sees and what the audit trail says must be exactly what the full
# parse gives, for the first statement of a shape and for every other.
# Each case runs a statement, then others of its shape (cache hits), and
# compares the pg.query events with pg_query_normalize's text.
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
$pg->psql(q{CREATE TABLE items (id int, name text, price numeric);
    INSERT INTO items VALUES (1, 'a', 1.5), (2, 'b', 2.5), (3, 'c', 3.5);
    CREATE TABLE secrets (id int, v text); INSERT INTO secrets VALUES (1, 'x')});

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
        hoop_rule deny  sql.read table=secrets name=no-secrets;
        hoop_rule deny  sql.delete where=none name=no-bulk-delete;
        hoop_rule allow sql.read;
        hoop_rule allow sql.write;
    }

    # the statements' own text in the trail, not their normalized form
    server {
        listen 127.0.0.1:%%PORT_literal%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
        hoop_pg_audit_literals on;
        hoop_rule allow sql.read;
    }
}
EOF
$t->wait_redis(1);

my $token = $key->mint(claims => { iss => 'https://idp.test',
    aud => 'hoop-gateway', sub => 'agent-7', exp => time + 600 });
my $dbh = DBI->connect("dbi:Pg:host=127.0.0.1;port=${\ $t->port('pg')};"
    . 'dbname=postgres', 'postgres', $token,
    { RaiseError => 0, PrintError => 0, AutoCommit => 1,
      pg_server_prepare => 0 });
ok($dbh, 'a session through the gateway') or BAIL_OUT(DBI->errstr);

# statement, what the audit trail must say of it, its kind
my @cases = (
    ['SELECT name FROM items WHERE id = 1',
     'SELECT name FROM items WHERE id = $1', 'read'],
    ['SELECT name FROM items WHERE id = 2',
     'SELECT name FROM items WHERE id = $1', 'read'],
    ['SELECT name FROM items WHERE id = 3',
     'SELECT name FROM items WHERE id = $1', 'read'],

    # the literals the normalizer keeps must match too: ORDER BY 1, then 2
    ['SELECT id, name FROM items WHERE price > 1.0 ORDER BY 1',
     'SELECT id, name FROM items WHERE price > $1 ORDER BY 1', 'read'],
    ['SELECT id, name FROM items WHERE price > 2.0 ORDER BY 2',
     'SELECT id, name FROM items WHERE price > $1 ORDER BY 2', 'read'],
    ['SELECT id, name FROM items WHERE price > 3.0 ORDER BY 2',
     'SELECT id, name FROM items WHERE price > $1 ORDER BY 2', 'read'],

    # quotes doubled inside a string; a quote inside a comment
    ["SELECT count(*) FROM items WHERE name = 'it''s' -- o'clock\n",
     "SELECT count(*) FROM items WHERE name = \$1 -- o'clock\n", 'read'],
    ["SELECT count(*) FROM items WHERE name = 'b' -- o'clock\n",
     "SELECT count(*) FROM items WHERE name = \$1 -- o'clock\n", 'read'],

    # comments are the statement's own, whatever came before in its shape
    # (sqlcommenter's trace ids), nested ones included
    ["SELECT name FROM items WHERE id = 1 /*traceparent='00-aaa-01'*/",
     "SELECT name FROM items WHERE id = \$1 /*traceparent='00-aaa-01'*/",
     'read'],
    ["SELECT name FROM items WHERE id = 2 /*traceparent='00-bbbb-01',"
     . "route='%2Fx'*/",
     "SELECT name FROM items WHERE id = \$1 /*traceparent='00-bbbb-01',"
     . "route='%2Fx'*/", 'read'],
    ['/* a /* nested */ one */ UPDATE items SET price = 2.5 WHERE id = 2',
     '/* a /* nested */ one */ UPDATE items SET price = $1 WHERE id = $2',
     'write'],
    ['/* other */ UPDATE items SET price = 3.5 WHERE id = 2',
     '/* other */ UPDATE items SET price = $1 WHERE id = $2', 'write'],

    # a type modifier is not a value to the normalizer
    ["SELECT 'abc'::varchar(2)", 'SELECT $1::varchar(2)', 'read'],
    ["SELECT 'xyz'::varchar(2)", 'SELECT $1::varchar(2)', 'read'],
    ["SELECT 'xyz'::varchar(3)", 'SELECT $1::varchar(3)', 'read'],

    ['UPDATE items SET price = 9.5 WHERE id = 1',
     'UPDATE items SET price = $1 WHERE id = $2', 'write'],
    ['UPDATE items SET price = 1.5 WHERE id = 1',
     'UPDATE items SET price = $1 WHERE id = $2', 'write'],

    # left to the parser: a negative number, an E'' string
    ['SELECT name FROM items WHERE id = -1',
     'SELECT name FROM items WHERE id = $1', 'read'],
    ["SELECT name FROM items WHERE name = E'a'",
     'SELECT name FROM items WHERE name = $1', 'read'],
);

for my $c (@cases) {
    ok(defined $dbh->do($c->[0]), "ran: $c->[0]") or diag($dbh->errstr);
}

# a rule on a table holds for every statement of a shape
for my $id (1, 2) {
    ok(!defined $dbh->selectrow_array("SELECT v FROM secrets WHERE id = $id"),
        "a read of secrets (id $id) is denied");
    like($dbh->errstr, qr/no-secrets/, '  by the table rule');
    is($dbh->state, '42501', '  as insufficient privilege');
}
ok(!defined $dbh->do('DELETE FROM items'), 'a DELETE without WHERE is denied');
ok(defined $dbh->do('DELETE FROM items WHERE id = 99'),
    'one with a WHERE is not');
ok(defined $dbh->do('DELETE FROM items WHERE id = 98'), 'nor another');

is_deeply([map { $_->[0] } @{ $dbh->selectall_arrayref(
    'SELECT name FROM items WHERE id = 2') }], ['b'],
    'results are what the server gives');

# a number where a string was is another shape: the parser decides
ok(defined $dbh->do("SELECT date '2020-01-01'"), 'a typed string literal');
ok(!defined $dbh->do('SELECT date 7'), 'a number in its place is refused');
like($dbh->errstr, qr/unknown statement denied.*syntax error at or near "7"/s,
    '  by the gateway: its parser refuses it');
$dbh->disconnect;

# a token with many groups: every statement's event names them all
my $many = $key->mint(claims => { iss => 'https://idp.test',
    aud => 'hoop-gateway', sub => 'agent-8', exp => time + 600,
    groups => [map { "group-$_" } 1 .. 300] });
my $dbh2 = DBI->connect("dbi:Pg:host=127.0.0.1;port=${\ $t->port('pg')};"
    . 'dbname=postgres', 'postgres', $many,
    { RaiseError => 0, PrintError => 0, pg_server_prepare => 0 });
ok($dbh2, 'a session with 300 groups');
ok(defined $dbh2->do("SELECT name FROM items WHERE id = $_"), "statement $_")
    for 1 .. 3;
$dbh2->disconnect;

# a statement padded to make its event too big to keep: the event is
# kept, with the text cut, and says so (control characters in a comment
# are escaped six-fold in JSON: 900 kB of them would make a 5 MB event)
my $dbh3 = DBI->connect("dbi:Pg:host=127.0.0.1;port=${\ $t->port('pg')};"
    . 'dbname=postgres', 'postgres', $token,
    { RaiseError => 0, PrintError => 0, pg_server_prepare => 0 });
my $padded = 'SELECT 42 -- ' . ("\x01" x (900 * 1024)) . "\n";
is($dbh3->selectrow_array($padded), 42, 'a statement with a 900 kB comment');

# what a nested comment hides is a comment; after a closed one, a statement
# (the second text would be the first's shape to a scanner that does not
# nest comments, and be taken from the cache as a read)
is($dbh3->selectrow_array('SELECT 7 /* a /* b */ ; DELETE FROM items; -- */'),
    7, 'a DELETE inside a nested comment does not run');
ok(!defined $dbh3->do('SELECT 7 /* x */ ; DELETE FROM items; -- y'),
    'one after a closed comment is a statement of its own');
like($dbh3->errstr, qr/no-bulk-delete/, '  denied by its rule');
is($dbh3->selectrow_array('SELECT count(*) FROM items'), 3,
    '  and nothing was deleted');
$dbh3->disconnect;

my @q;
wait_until(sub {
    @q = grep { $_->{type} eq 'pg.query' } $redis->events('hoop:audit:pg');
    @q >= @cases + 12 }, 'an event per statement');

wait_until(sub {
    @q = grep { $_->{type} eq 'pg.query' } $redis->events('hoop:audit:pg');
    grep { ($_->{query}{sql} // '') =~ /^SELECT count/ } @q },
    'the events of the comments and the count');
my ($hidden) = grep {
    ($_->{query}{sql} // '') =~ /^SELECT \$1 \/\* a \/\*/ } @q;
is($hidden && $hidden->{query}{command}, 'select',
    'the statement with a nested comment recorded as a SELECT');
my @bulk = grep { ($_->{query}{sql} // '') eq 'DELETE FROM items' } @q;
is_deeply([map { $_->{decision}{result} } @bulk], ['deny', 'deny'],
    'the DELETE after a closed comment recorded as denied, as one alone');

my ($cut) = grep { ($_->{query}{sql_bytes} // 0) > 900 * 1024 } @q;
ok($cut, 'its event is recorded');
ok($cut && $cut->{query}{sql_truncated}, '  saying its text was cut');
ok($cut && length($cut->{query}{sql}) < 600 * 1024
    && $cut->{query}{sql} =~ /^SELECT \$1 -- \x01/, '  the start of it kept');

for my $i (0 .. $#cases) {
    my ($sql, $norm, $kind) = @{ $cases[$i] };
    (my $shown = $norm) =~ s/\n/\\n/g;
    is($q[$i]{query}{sql}, $norm, "recorded: $shown");
    is($q[$i]{query}{kind}, $kind, "  as $kind");
    is($q[$i]{query}{sql_bytes}, length $sql, '  with its own length');
}
is_deeply($q[0]{query}{tables}, ['items'], 'tables from the parse');
is_deeply($q[2]{query}{tables}, ['items'], 'and from the cache');

my @secrets = @q[@cases .. @cases + 1];
is_deeply([map { $_->{decision}{result} } @secrets], ['deny', 'deny'],
    'both reads of secrets recorded as denied');
is_deeply([map { $_->{query}{sql} } @secrets],
    [('SELECT v FROM secrets WHERE id = $1') x 2],
    '  with their text normalized');
is_deeply([map { $_->{decision}{result} } @q[@cases + 2 .. @cases + 4]],
    ['deny', 'allow', 'allow'], 'DELETE: without WHERE denied, with allowed');
ok($q[@cases + 2]{query}{no_where}, '  the first recorded without WHERE');
ok(!$q[@cases + 4]{query}{no_where}, '  a cached one with its WHERE');

is($q[@cases + 6]{query}{kind}, 'read', "date '2020-01-01': read");
is($q[@cases + 7]{query}{kind}, 'unknown', 'date 7: unknown, not cached');

my @big = @q[@cases + 8 .. @cases + 10];
is_deeply([map { scalar @{ $_->{identity}{groups} } } @big], [300, 300, 300],
    'each event of the session with 300 groups names them all');
is($big[2]{identity}{groups}[299], 'group-300', '  the last one too');
is($big[2]{resource}{database}, 'postgres', '  and the database');

# Empty statements before one (a comment, then ";") move where it starts
# by the comment's length: each text finds its own start, and a text
# shorter than where the first one's statement started is no harm
# (it used to crash the worker).  Terminated or not, a statement is as
# long in its event whether it was parsed or found in the cache.
my $lit = DBI->connect("dbi:Pg:host=127.0.0.1;port=${\ $t->port('literal')};"
    . 'dbname=postgres', 'postgres', $token,
    { RaiseError => 0, PrintError => 0, pg_server_prepare => 0 });
my @lead = ('/* ' . ('x' x 60) . ' */; SELECT 1',
    '/* ' . ('y' x 30) . ' SELECT 42 FROM secrets */; SELECT 2',
    '/**/; SELECT 3', 'SELECT 4 /* a */;', 'SELECT 5 /* bb */;',
    "SELECT 6; -- one\n", "SELECT 7; -- and two\n",
    "/* a */;\n/* b */;SELECT 8 /* c */; /* d */",
    "/* aa */;\n/* bbb */;SELECT 9 /* cccc */; /* ddddd */");
is_deeply([map { scalar $lit->selectrow_array($_) } @lead], [1 .. 9],
    'statements after empty ones, and before a ";", all answered');
is($lit->selectrow_array('SELECT 10'), 10, '  and the worker lives on');
$lit->disconnect;
my ($last, @l);
wait_until(sub { ($last) = grep { ($_->{query}{sql} // '') eq 'SELECT 10' }
    $redis->events('hoop:audit:pg') }, 'their events');
@l = grep { $_->{type} eq 'pg.query' && $_->{session} eq $last->{session} }
    $redis->events('hoop:audit:pg');
is_deeply([map { $_->{query}{sql} } @l[0 .. 8]],
    ['SELECT 1', 'SELECT 2', 'SELECT 3', 'SELECT 4 /* a */',
     'SELECT 5 /* bb */', 'SELECT 6', 'SELECT 7', 'SELECT 8 /* c */',
     'SELECT 9 /* cccc */'],
    '  each recorded as its own statement');
is_deeply([map { $_->{query}{sql_bytes} } @l[0 .. 8]],
    [8, 8, 8, 16, 17, 8, 8, 16, 19], '  with its own length');

$t->stop;
done_testing();

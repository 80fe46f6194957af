# An allow by command vouches for what those commands do by themselves,
# and one by table for what is done to those tables; not for what the
# statement does beyond them.  Under "allow sql.select", a SELECT that
# calls a function which writes, advances a sequence, takes an advisory
# lock, creates a large object or a table (SELECT INTO), or locks rows
# (FOR UPDATE) is denied: it needs a rule that names its kind or its
# functions.  Each effect is one PostgreSQL would have: checked on the
# database itself, in a transaction rolled back (the oracle), and after
# the gateway denied it (nothing happened).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use DBI;
use Hoop::Test::Nginx;
use Hoop::Test::Pg;

my $pg = Hoop::Test::Pg->new->start;
$pg->psql(<<'SQL');
CREATE TABLE t (id int PRIMARY KEY, v text);
INSERT INTO t VALUES (1, 'a'), (2, 'b');
CREATE TABLE effects (what text);
CREATE SEQUENCE s;
CREATE FUNCTION fx(int) RETURNS int LANGUAGE sql VOLATILE
    AS $$ INSERT INTO effects VALUES ('fx'); SELECT $1 $$;
SQL

my $t = Hoop::Test::Nginx->new(workers => 1);
$t->run(<<"EOF");
stream {
    hoop_pg_auth off;

    server {
        listen 127.0.0.1:%%PORT_select%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_rule allow sql.select;
        hoop_rule allow sql.show;
        hoop_default deny;
    }

    server {
        listen 127.0.0.1:%%PORT_table%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_rule allow table=t;
        hoop_default deny;
    }

    server {
        listen 127.0.0.1:%%PORT_function%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_rule allow sql.select function=fx,current_setting;
        hoop_default deny;
    }
}
EOF

# what the database says, asked directly
my $db = DBI->connect("dbi:Pg:host=127.0.0.1;port=${\ $pg->port};"
    . 'dbname=postgres', 'postgres', '', { RaiseError => 1, PrintError => 0,
    AutoCommit => 1 });
sub state_of {
    my ($h) = @_;
    join '|', map { join ',', map { $_ // '' } @$_ } @{ ($h // $db)->selectall_arrayref(
        q{SELECT (SELECT count(*) FROM effects),
                 (SELECT last_value || '/' || is_called FROM s),
                 (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'),
                 (SELECT count(*) FROM pg_largeobject_metadata),
                 (SELECT count(*) FROM pg_class WHERE relname = 'newt')}) };
}

# the oracle: the statement run directly changes that state, rolled back
# before anything else looks (an advisory lock outlives a rollback: it is
# released explicitly)
sub has_effect {
    my ($sql) = @_;
    my $o = DBI->connect("dbi:Pg:host=127.0.0.1;port=${\ $pg->port};"
        . 'dbname=postgres', 'postgres', '', { RaiseError => 1,
        PrintError => 0, AutoCommit => 0 });
    my $before = state_of($o);
    $o->do($sql);
    my $changed = state_of($o) ne $before;
    $o->rollback;
    $o->do('SELECT pg_advisory_unlock_all()');
    $o->disconnect;
    return $changed;
}

sub through {
    my ($port, $sql) = @_;
    my $out = `psql -X -At -h 127.0.0.1 -p $port -U postgres -d postgres -c "$sql" 2>&1`;
    return $out;
}

my @beyond = (
    'SELECT fx(1)',
    q{SELECT nextval('s')},
    'SELECT pg_advisory_lock(4242)',
    q{SELECT lo_from_bytea(0, 'x')},
    'SELECT * INTO TEMP newt FROM t',
    'SELECT fx(id) FROM t WHERE id = 1',
);

for my $sql (@beyond) {
    ok(has_effect($sql), "oracle: $sql has an effect");
    my $before = state_of();
    my $out = through($t->port('select'), $sql);
    like($out, qr/hoop: \w+ statement denied/, "allow sql.select: $sql"
        . ' is denied') or diag $out;
    is(state_of(), $before, '... and had no effect');
}

like(through($t->port('select'), 'SELECT id FROM t FOR UPDATE'),
    qr/hoop: write statement denied/, 'allow sql.select: FOR UPDATE denied');
like(through($t->port('select'), 'SELECT upper(v) FROM t WHERE id = 1'),
    qr/^A$/m, 'allow sql.select: a read with a function'
    . ' that only reads runs');
like(through($t->port('select'), 'SHOW server_version_num'),
    qr/^\d{6}$/m, 'allow sql.show: SHOW runs');

# and PostgreSQL keeps such a session read-only itself (hoop_pg_read_only
# auto): nothing the rules allow writes, so nothing lifts it
like(through($t->port('select'), 'SHOW transaction_read_only'), qr/^on$/m,
    'allow sql.select and sql.show only: the session is read-only in'
    . ' PostgreSQL too');
like(through($t->port('function'),
    q{SELECT current_setting('transaction_read_only')}), qr/^off$/m,
    'a rule that names a function that writes: not pinned');

my $before = state_of();
like(through($t->port('table'), 'SELECT fx(id) FROM t WHERE id = 1'),
    qr/hoop: call statement denied/,
    'allow table=t: a function called on its rows is not vouched for');
is(state_of(), $before, '... and had no effect');
like(through($t->port('table'), 'SELECT v FROM t WHERE id = 2'),
    qr/^b$/m, 'allow table=t: reading it runs');

like(through($t->port('function'), 'SELECT fx(1)'), qr/^1$/m,
    'allow sql.select function=fx: the rule names the function: it runs');
isnt(state_of(), $before, '... with its effect');

$t->stop;
done_testing;

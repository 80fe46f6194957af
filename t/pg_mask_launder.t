# Masked values laundered through storage: an agent that sees a column
# masked copies it somewhere masking does not follow (another table, a
# renamed column, a temporary table, a setting, a notification, a file)
# and reads it back.  Every such statement is denied with 42501; the
# oracle is PostgreSQL itself, asked directly afterwards: the destination
# holds nothing.  Statements that write without copying a masked value
# (a DELETE or UPDATE that filters on one) run.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use JSON::PP;
use Hoop::Test qw(secret spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;
use Hoop::Test::Redis;

my $redis = Hoop::Test::Redis->new->start;
my $pg = Hoop::Test::Pg->new->start;
$pg->psql(q{
    CREATE TABLE customers (id int PRIMARY KEY, name text, email text,
        ssn text, status text);
    INSERT INTO customers VALUES
        (1, 'Ada', 'ada@example.com', '078-05-1120', 'active'),
        (2, 'Bob', 'bob@example.com', '219-09-9999', 'active');
    CREATE TABLE notes (id serial, body text);
    CREATE TABLE archive (id int, contact text);
    CREATE FUNCTION remember(v text) RETURNS text LANGUAGE plpgsql VOLATILE
        AS $$ BEGIN INSERT INTO notes (body) VALUES (v); RETURN 'ok'; END $$;
});
secret($_, 'a sample value stored unmasked')
    for qw(ada@example.com bob@example.com 078-05-1120 219-09-9999);

my $t = Hoop::Test::Nginx->new;
$t->run(<<"EOF");
stream {
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_audit_stream hoop:audit:pg;
    hoop_pg_auth off;

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
        hoop_mask column=customers.ssn,customers.email;
    }
}
EOF
$t->wait_redis(1);
my $port = $t->port('pg');

sub gateway {
    my ($sql) = @_;
    my $out = `psql -X -At -v VERBOSITY=verbose -h 127.0.0.1 -p $port -U postgres -d postgres -c "$sql" 2>&1`;
    return $out;
}

# what PostgreSQL itself holds, asked directly
sub direct { $pg->psql($_[0]) }

my @laundering = (
    [ 'INSERT INTO notes (body) SELECT reverse(ssn) FROM customers',
      'SELECT count(*) FROM notes', '0', 'INSERT ... SELECT' ],
    [ 'INSERT INTO notes (body) VALUES ((SELECT email FROM customers'
        . ' WHERE id = 1))',
      'SELECT count(*) FROM notes', '0', 'a subquery in VALUES' ],
    [ q{UPDATE customers SET name = translate(ssn, '-', '')},
      q{SELECT string_agg(name, ',' ORDER BY id) FROM customers},
      'Ada,Bob', 'UPDATE ... SET another column' ],
    [ 'UPDATE customers SET status = c.email FROM customers c'
        . ' WHERE c.id = customers.id',
      q{SELECT string_agg(status, ',' ORDER BY id) FROM customers},
      'active,active', 'UPDATE ... FROM' ],
    [ 'CREATE TABLE copied AS SELECT email AS e FROM customers',
      q{SELECT count(*) FROM pg_class WHERE relname = 'copied'}, '0',
      'CREATE TABLE AS' ],
    [ 'SELECT ssn AS s INTO selected FROM customers',
      q{SELECT count(*) FROM pg_class WHERE relname = 'selected'}, '0',
      'SELECT INTO' ],
    [ 'WITH w AS (INSERT INTO archive SELECT id, email FROM customers'
        . ' RETURNING 1) SELECT count(*) FROM w',
      'SELECT count(*) FROM archive', '0', 'a data-modifying CTE' ],
    [ 'MERGE INTO archive a USING customers c ON a.id = c.id'
        . ' WHEN NOT MATCHED THEN INSERT VALUES (c.id, c.ssn)',
      'SELECT count(*) FROM archive', '0', 'MERGE' ],
    [ 'SELECT remember(ssn) FROM customers',
      'SELECT count(*) FROM notes', '0',
      'a volatile function that stores its argument' ],
    [ 'PREPARE p AS INSERT INTO archive SELECT id, ssn FROM customers',
      'SELECT count(*) FROM archive', '0', 'a PREPARE of such a write' ],
);

for my $case (@laundering) {
    my ($sql, $check, $want, $name) = @$case;
    my $out = gateway($sql);
    like($out, qr/ERROR:  42501: hoop: \w+ statement denied: it reads a masked column and could write what it read where masking does not follow/,
        "$name: denied, 42501, saying why");
    is(direct($check), $want, "$name: PostgreSQL holds nothing of it");
}

# settings and notifications carry a value to whoever reads them
like(gateway(q{SELECT set_config('app.stash', ssn, false) FROM customers}
        . q{ WHERE id = 1}),
    qr/42501: hoop: admin statement denied: it reads a masked column/,
    'set_config() of a masked value: denied');
like(gateway(q{SELECT pg_notify('stash', email) FROM customers}),
    qr/42501: hoop: write statement denied: it reads a masked column/,
    'pg_notify() of a masked value: denied');

# COPY data is masked by detectors only: a masked column copied out,
# whole or reshaped, is refused (the value a detector would not see is
# the point); COPY of columns not masked runs
for my $copy ('COPY customers TO STDOUT',
    'COPY customers (id, ssn) TO STDOUT',
    'COPY (SELECT reverse(ssn) FROM customers) TO STDOUT',
    q{COPY (SELECT translate(ssn, '-', '') FROM customers) TO STDOUT},
    q{COPY customers (ssn) TO STDOUT (FORMAT csv, FORCE_QUOTE *, QUOTE '4')},
    'COPY (SELECT c.* FROM customers c) TO STDOUT (FORMAT binary)')
{
    my $out = gateway($copy);
    like($out, qr/42501: hoop: read statement denied: it copies out a masked column, and column masks do not apply to COPY data/,
        "$copy: denied") or diag $out;
    unlike($out, qr/078|1120|ada\@|9999|0211/, '  and nothing of a value');
}
is(gateway('COPY (SELECT id, name FROM customers ORDER BY id) TO STDOUT'),
    "1\tAda\n2\tBob\n", 'COPY of columns not masked runs');

# writing without copying a masked value runs
is(gateway(q{UPDATE customers SET status = 'gone'}
        . q{ WHERE email = 'bob@example.com'}), "UPDATE 1\n",
    'an UPDATE that filters on a masked column runs');
is(direct('SELECT status FROM customers WHERE id = 2'), 'gone',
    '  and PostgreSQL has it');
is(gateway(q{INSERT INTO notes (body) SELECT name FROM customers}),
    "INSERT 0 2\n", 'an INSERT ... SELECT of columns not masked runs');
is(gateway(q{DELETE FROM notes WHERE body = 'Ada'}), "DELETE 1\n",
    'a DELETE runs');
is(gateway('SELECT reverse(ssn) FROM customers WHERE id = 1'), "[MASKED]\n",
    'and reading stays masked');

# the audit event says why
my $ev;
wait_until(sub {
    ($ev) = grep { ($_->{query}{sql} // "") =~ /CREATE TABLE copied/ }
        map { decode_json({ @{ $_->[1] } }->{event}) }
        @{ $redis->command('XRANGE', 'hoop:audit:pg', '-', '+') };
    $ev;
}, 'the event of a denied CREATE TABLE AS');
is($ev->{decision}{result}, 'deny', 'the event: denied');
like($ev->{decision}{reason}, qr/reads a masked column and could write/,
    'with the reason');

$t->stop;
done_testing;

# hoop_mask on Postgres results.  Columns are masked by name and by where
# they come from (table OID + attribute number from the catalog), so an
# alias does not escape; detectors mask values inside text cells, COPY
# output and error texts; cells that cannot stay well-typed become NULL;
# every protocol path (simple, extended, binary results, asyncpg's own
# protocol code) is covered; a million-row result streams through in
# bounded memory; and the audit event counts what was masked.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use DBI;
use JSON::PP;
use Hoop::Test qw(secret spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;
use Hoop::Test::Redis;
use Hoop::Test::Wire qw(execute sync query wire_session read_until
    rows_of);

my $redis = Hoop::Test::Redis->new->start;
my $pg = Hoop::Test::Pg->new->start;
$pg->psql(q{
    CREATE TABLE customers (id int PRIMARY KEY, name text, email text UNIQUE,
        ssn text, card_number text, notes text, card_as_number numeric,
        profile jsonb);
    INSERT INTO customers VALUES
        (1, 'Ada', 'ada@example.com', '123-45-6789', '4111111111111111',
         'call +1 415 555 2671 or write to ada.l@example.org',
         4111111111111111, '{"backup": "ada2@example.net"}'),
        (2, 'Bob', 'bob@example.com', '234-56-7890', '5500005555555559',
         'nothing to see', 42, '{}');
    CREATE TABLE cards (id int, card_number text);
    INSERT INTO cards VALUES (1, 'not-a-card-0001');
    CREATE VIEW customer_contacts AS SELECT id, email FROM customers;
    CREATE TABLE t_uniq (v text);
    CREATE VIEW v_renamed AS SELECT id, reverse(ssn) AS r FROM customers;
    CREATE VIEW v_tax AS SELECT id, ssn AS tax FROM customers;
    CREATE VIEW v_of_v AS SELECT * FROM v_tax;
    CREATE FUNCTION get_ssn(int) RETURNS text LANGUAGE sql STABLE
        AS 'SELECT ssn FROM customers WHERE id = $1';
    CREATE MATERIALIZED VIEW mv_tax AS SELECT id, ssn AS tax FROM customers;
    CREATE TABLE accounts (id int, token text);
    CREATE TABLE accounts_old () INHERITS (accounts);
    INSERT INTO accounts_old VALUES (1, 'tok-old-0001');
    CREATE TABLE payments (id int, token text) PARTITION BY RANGE (id);
    CREATE TABLE payments_1 PARTITION OF payments FOR VALUES FROM (0) TO (100)
        PARTITION BY LIST (id);
    CREATE TABLE payments_1a1 PARTITION OF payments_1 FOR VALUES IN (1);
    INSERT INTO payments VALUES (1, 'tok-pay-0001');
});
secret($_, 'a sample value stored unmasked') for qw(tok-old-0001
    tok-pay-0001);
secret($_, 'a sample value stored unmasked') for qw(ada@example.com
    123-45-6789 4111111111111111 ada.l@example.org bob@example.com
    234-56-7890 5500005555555559 ada2@example.net);

my $t = Hoop::Test::Nginx->new(workers => 2);
my $d = $t->dir;
spit("$d/mask.key", "0123456789abcdef0123456789abcdef\n");

$t->run(<<"EOF");
stream {
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_audit_stream hoop:audit:pg;
    hoop_pg_auth off;

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
        hoop_mask_key $d/mask.key;
        hoop_mask column=ssn,customers.card_number,accounts.token;
        hoop_mask column=payments.token;
        hoop_mask column=email strategy=hash;
        hoop_mask detect=email,credit_card,us_ssn,phone;
    }
}
EOF
$t->wait_redis(2);
my $port = $t->port('pg');

sub psql {
    my ($sql) = @_;
    my $out = `psql -X -At -h 127.0.0.1 -p $port -U postgres -d postgres -c "$sql" 2>&1`;
    return $out;
}

is(psql('SELECT id, ssn FROM customers ORDER BY id'),
    "1|[MASKED]\n2|[MASKED]\n", 'a masked column, by name');
is(psql('SELECT ssn AS x FROM customers WHERE id = 1'), "[MASKED]\n",
    'an alias does not escape: masked by where the column comes from');
like(psql('SELECT email FROM customer_contacts WHERE id = 1'),
    qr/^\[HASH:[0-9a-f]{16}\]\n$/, 'a view of the column: masked (hash)');
is(psql('SELECT email FROM customers WHERE id = 1'),
    psql('SELECT email AS e FROM customer_contacts WHERE id = 1'),
    'the hash is stable: the same value, the same mask');
is(psql('SELECT lower(email) FROM customers WHERE id = 2'), "[MASKED]\n",
    'an expression of a masked column: masked whole (lineage)');
is(psql('SELECT card_number FROM customers WHERE id = 1'), "[MASKED]\n",
    'table.column: masked in that table');
is(psql('SELECT card_number FROM cards'), "not-a-card-0001\n",
    'and not in another table with a column of that name');
is(psql('SELECT notes FROM customers WHERE id = 1'),
    "call [PHONE] or write to [EMAIL]\n",
    'detectors inside a text cell');
is(psql('SELECT card_as_number, id FROM customers ORDER BY id'),
    "|1\n42|2\n", 'a card number in a numeric column: NULL, the row kept');
is(psql(q{SELECT profile->>'backup' FROM customers WHERE id = 1}),
    "[EMAIL]\n", 'a value out of jsonb: masked');
is(psql('SELECT id, name FROM customers ORDER BY id'), "1|Ada\n2|Bob\n",
    'other columns pass untouched');

like(psql(q{INSERT INTO customers (id, email) VALUES (3, 'ada@example.com')}),
    qr/DETAIL:  Key \(email\)=\(\[EMAIL\]\) already exists/,
    'the value quoted in an error\'s detail: masked');
is(psql('COPY (SELECT id, notes FROM customers ORDER BY id) TO STDOUT'),
    "1\tcall [PHONE] or write to [EMAIL]\n2\tnothing to see\n",
    'COPY TO STDOUT: detectors on the data');

# a comma ends a value: CSV, a record's text, a list the agent built
# (values of no masked column: a masked column is not copied out at all)
is(psql(q{COPY (SELECT id, s, s || ',' || id, c || ',2' FROM customers,}
        . q{ (VALUES ('123-45-6789', '4111111111111111')) v(s, c)}
        . q{ ORDER BY id) TO STDOUT (FORMAT csv)}),
    qq{1,[US_SSN],"[US_SSN],1","[CREDIT_CARD],2"\n}
    . qq{2,[US_SSN],"[US_SSN],2","[CREDIT_CARD],2"\n},
    'COPY (FORMAT csv): values before a comma are found');
like(psql(q{COPY (SELECT id, ssn FROM customers) TO STDOUT (FORMAT csv)}),
    qr/hoop: read statement denied: it copies out a masked column/,
    'COPY of a masked column: refused');
is(psql(q{SELECT ROW(id, '078-05-1120')::text,}
        . q{ concat_ws(',', '078-05-1120', id, '10.1.2.3')}
        . q{ FROM customers WHERE id = 1}),
    "(1,[US_SSN])|[US_SSN],1,10.1.2.3\n",
    'a record\'s text and a comma-separated list: found');

# text a client decodes: escapes and zero-width characters read as it
# reads them (JSON.parse, a browser, a URL decoder)
is(psql(q{SELECT 'mail ada\u0040example.com', 'ada&#64;example.com',}
        . q{ 'ada%40example.com', '4111' || chr(8203) || '1111'}
        . q{ || chr(8288) || '1111' || chr(173) || '1111'}),
    "mail [EMAIL]|[EMAIL]|[EMAIL]|[CREDIT_CARD]\n",
    'escaped values and values split by zero-width characters: masked');
is(psql(q{COPY (SELECT '078' || chr(8203) || '-05-1120', 'a\u0040b.example')}
        . q{ TO STDOUT}),
    "[US_SSN]\t[EMAIL]\n", 'in COPY text too');
is(psql(q{SELECT '50% off & more \ not an escape: \q %zz &nope;'}),
    "50% off & more \\ not an escape: \\q %zz &nope;\n",
    'text with escape characters but no value: as it was');

# lineage: a value computed from a masked column is masked whole,
# whatever the expression (what detectors cannot recognise any more)
is(psql(q{SELECT id, reverse(ssn), translate(ssn, '-', ''), ssn || 'x',}
        . q{ encode(convert_to(email, 'UTF8'), 'base64'), md5(ssn)}
        . q{ FROM customers WHERE id = 1}),
    "1|[MASKED]|[MASKED]|[MASKED]|[MASKED]|[MASKED]\n",
    'lineage: reversed, re-separated, suffixed, base64, hashed: masked');
is(psql(q{SELECT reverse(s) FROM (SELECT ssn AS s FROM customers}
        . q{ WHERE id = 1) q}), "[MASKED]\n",
    'lineage: through a subquery\'s alias');
is(psql(q{SELECT translate(z, '-', ' ') FROM (SELECT 1, a.*, 2 FROM}
        . q{ (SELECT id, ssn FROM customers WHERE id = 1) a) b(w, q, z)}),
    "[MASKED]\n",
    'lineage: a subquery\'s "*" renamed by its alias, the name shifted');
is(psql(q{WITH w(k) AS (SELECT card_number FROM customers WHERE id = 1)}
        . q{ SELECT k || '' FROM w}), "[MASKED]\n",
    'lineage: through a CTE\'s column list');
is(psql(q{SELECT 'x' UNION ALL SELECT reverse(ssn) FROM customers}
        . q{ WHERE id = 1}), "[MASKED]\n[MASKED]\n",
    'lineage: a UNION column with a masked arm: the column, whole');
is(psql('SELECT length(ssn), id FROM customers WHERE id = 1'), "|1\n",
    'lineage: a number computed from one: NULL');
is(psql(q{SELECT count(*), max(id), min(name) FROM customers}
        . q{ WHERE ssn LIKE '1%'}), "1|1|Ada\n",
    'lineage: what depends on no masked value passes, even where a masked'
    . ' column filters');
is(psql(q{BEGIN; DECLARE k CURSOR FOR SELECT upper(ssn), id FROM customers}
        . q{ ORDER BY id; FETCH 1 FROM k}),
    "BEGIN\nDECLARE CURSOR\n[MASKED]|1\n",
    'lineage: a cursor\'s FETCH');
is(psql(q{UPDATE customers SET name = name WHERE id = 1}
        . q{ RETURNING id, reverse(ssn)}), "1|[MASKED]\nUPDATE 1\n",
    'lineage: RETURNING');
is(psql(q{SELECT reverse(value) FROM customers c,}
        . q{ jsonb_each_text(to_jsonb(c)) WHERE key = 'ssn' AND c.id = 1}),
    "[MASKED]\n", 'lineage: the columns of a function in FROM (jsonb_each_text'
    . ' of a whole row)');
is(psql('SELECT r, id FROM v_renamed WHERE id = 1'), "[MASKED]|1\n",
    'lineage through the catalog: a view\'s column computed from a masked'
    . ' one');
for my $q ('SELECT * FROM v_renamed WHERE id = 1',
    'TABLE v_renamed ORDER BY id LIMIT 1', 'SELECT * FROM v_tax WHERE id = 1',
    'SELECT * FROM v_of_v WHERE id = 1',
    'SELECT s.* FROM (SELECT * FROM v_tax) s WHERE id = 1') {
    is(psql($q), "1|[MASKED]\n",
        "a \"*\" over a view whose column is computed from, or renames, a"
        . " masked one: $q");
}
# a materialized view's rows are what its definition returned; a child
# table's or a partition's column is its parent's (by the catalog:
# pg_inherits, however deep)
is(psql('SELECT tax, reverse(tax), id FROM mv_tax WHERE id = 1'),
    "[MASKED]|[MASKED]|1\n", 'a materialized view over a masked column');
is(psql('SELECT token, id FROM accounts_old'), "[MASKED]|1\n",
    'a table that inherits a masked column');
is(psql('SELECT token FROM ONLY payments_1a1'), "[MASKED]\n",
    'a partition, two levels down, of a table with a masked column');
is(psql('SELECT x FROM payments_1 AS p(i, x)'), "[MASKED]\n",
    '  renamed by an alias');
is(psql('SELECT p FROM payments_1a1 p'), "\n",
    '  its whole row: NULL, as a masked table\'s');
is(psql('SELECT token FROM payments'), "[MASKED]\n", '  and its parent');
{
    my $py = <<"PY";
import psycopg
c = psycopg.connect(host='127.0.0.1', port=$port, dbname='postgres',
                    user='postgres')
cur = c.cursor(name='agent_cursor')
cur.execute('SELECT * FROM v_tax ORDER BY id')
print('named', cur.fetchall())
PY
    spit("$d/named.py", $py);
    my $out = `/usr/bin/python3 $d/named.py 2>&1`;
    like($out, qr/^named \[\(1, '\[MASKED\]'\), \(2, '\[MASKED\]'\)\]$/m,
        'psycopg\'s server-side cursor (DECLARE, FETCH) over such a view:'
        . ' masked') or diag $out;
}
is(psql('SELECT reverse(get_ssn(1)), id FROM customers WHERE id = 1'),
    "[MASKED]|1\n", '  an SQL function whose body returns one');
is(psql(q{WITH w(a, b, c, s) AS (SELECT * FROM customers WHERE id = 1)}
        . q{ SELECT reverse(s) FROM w}), "[MASKED]\n",
    'lineage: a CTE\'s column list over a "*"');
like(psql(q{INSERT INTO t_uniq SELECT reverse(ssn) FROM customers}
        . q{ WHERE id = 1 RETURNING v}),
    qr/ERROR:  hoop: write statement denied: it reads a masked column and could write/,
    'lineage: writing what was computed from a masked value is denied'
    . ' (t/pg_mask_launder.t has the rest)');
{
    my $w = wire_session(port => $port);
    print $w query(q{BEGIN; DECLARE k CURSOR FOR SELECT reverse(ssn)}
        . q{ FROM customers ORDER BY id});
    read_until($w, 'Z');
    print $w execute('k'), sync();
    is_deeply([rows_of(read_until($w, 'Z'))], ['[MASKED]', '[MASKED]'],
        'lineage: a cursor\'s portal executed by name on the wire');
    close $w;
}
{
    my $out = psql(q{SELECT (ssn || 'x')::int FROM customers WHERE id = 1});
    like($out, qr/ERROR:  hoop: the error's text is withheld: the statement reads a masked column/,
        'an error raised by a statement reading a masked column: its text'
        . ' withheld') or diag $out;
    unlike($out, qr/6789/, '  the value it would quote is not there');
    like(psql(q{SELECT 'x'::int}), qr/invalid input syntax for type integer: "x"/,
        '  other errors keep their text');

    my $c = DBI->connect("dbi:Pg:host=127.0.0.1;port=$port;dbname=postgres",
        'postgres', '', { RaiseError => 0, PrintError => 0,
        pg_server_prepare => 1 });
    is($c->selectrow_array(q{SELECT reverse(ssn) FROM customers WHERE id = ?},
        undef, 1), '[MASKED]', 'lineage: the extended protocol (DBD::Pg)');
    ok(!$c->selectrow_array(q{SELECT (ssn || ?)::int FROM customers}
        . q{ WHERE id = 1}, undef, 'x'), '  an error in the extended protocol');
    is($c->state, '22P02', '  keeps its SQLSTATE');
    unlike($c->errstr, qr/6789/, '  not its value');
    $c->disconnect;
}

# binary COPY: fields with a value found become NULL, and the stream stays
# one PostgreSQL reads back (the oracle: \copy FROM of the file, straight
# into PostgreSQL)
{
    my $file = "$d/customers.bin";
    my $out = `psql -X -At -h 127.0.0.1 -p $port -U postgres -d postgres -c "\\copy (SELECT id, name, CASE id WHEN 1 THEN '123-45-6789' END, card_as_number::int8, notes FROM customers ORDER BY id) TO '$file' WITH (FORMAT binary)" 2>&1`;
    is($out, "COPY 2\n", 'binary COPY TO through the gateway') or diag $out;
    $pg->psql('CREATE TABLE copied (id int, name text, ssn text,'
        . ' card int8, notes text)');
    $out = `psql -X -At -h 127.0.0.1 -p ${\ $pg->port} -U postgres -d postgres -c "\\copy copied FROM '$file' WITH (FORMAT binary)" 2>&1`;
    is($out, "COPY 2\n", '  PostgreSQL reads the rewritten stream back')
        or diag $out;
    is($pg->psql(q{SELECT id, name, coalesce(ssn, 'NULL'),
            coalesce(card::text, 'NULL'), coalesce(notes, 'NULL')
            FROM copied ORDER BY id}),
        "1|Ada|NULL|NULL|NULL\n2|Bob|NULL|42|nothing to see",
        '  an SSN, a card number as int8 and a text with a phone: NULL;'
        . ' the rest as it was');
}

# what the server sends that is not a row: a column's name, a
# notification (from this session, and from another one while this one
# waits), a parameter's value the client keeps
{
    my $c = DBI->connect("dbi:Pg:host=127.0.0.1;port=$port;dbname=postgres",
        'postgres', '', { RaiseError => 1, PrintError => 0 });
    my $sth = $c->prepare(q{SELECT 1 AS "ada@example.com", 2 AS plain});
    $sth->execute;
    is_deeply($sth->{NAME}, ['[EMAIL]', 'plain'],
        'RowDescription: a column named after a value, masked');
    $sth->finish;

    $c->do('LISTEN jobs');
    $c->do('LISTEN "123-45-6789"');
    $c->do(q{NOTIFY jobs, 'ssn 123-45-6789 for ada@example.com'});
    my $n = $c->pg_notifies;
    is_deeply([$n->[0], $n->[2]], ['jobs', 'ssn [US_SSN] for [EMAIL]'],
        'NOTIFY in the session: its payload masked, the channel kept');

    $pg->psql(q{SELECT pg_notify('123-45-6789', 'card 4111111111111111')});
    wait_until(sub { $n = $c->pg_notifies }, 'the other session\'s notification');
    is_deeply([$n->[0], $n->[2]], ['[US_SSN]', 'card [CREDIT_CARD]'],
        'pg_notify from another session while this one is idle: channel'
        . ' and payload masked');
    $c->disconnect;

    my $py = <<"PY";
import psycopg
c = psycopg.connect(host='127.0.0.1', port=$port, dbname='postgres',
                    user='postgres', autocommit=True)
c.execute("SELECT set_config('application_name', 'for bob\@example.com', false)")
print("status", c.info.parameter_status('application_name'))
PY
    spit("$d/status.py", $py);
    my $out = `/usr/bin/python3 $d/status.py 2>&1`;
    like($out, qr/^status for \[EMAIL\]$/m,
        'ParameterStatus: application_name as the client keeps it, masked')
        or diag $out;
}

# once a session has read a masked column, what a statement sends aside
# (a notification, application_name) is withheld, whatever it computed
{
    my $py = <<"PY";
import psycopg
c = psycopg.connect(host='127.0.0.1', port=$port, dbname='postgres',
                    user='postgres', autocommit=True)
got = []
c.add_notify_handler(lambda n: got.append(n.payload))
c.execute("LISTEN jobs")
c.execute("SELECT reverse(ssn) FROM customers WHERE id = 1")
c.execute("SELECT pg_notify('jobs', 'not computed from it'),"
          " set_config('application_name', 'nor this', false)")
c.execute("SELECT 1")
print("aside", got, c.info.parameter_status('application_name'))
PY
    spit("$d/aside.py", $py);
    my $out = `/usr/bin/python3 $d/aside.py 2>&1`;
    like($out, qr/^aside \['\[MASKED\]'\] \[MASKED\]$/m,
        'after a masked read, pg_notify() and set_config(application_name):'
        . ' withheld') or diag $out;
}

# the extended protocol: the gateway asks for the row layout itself
my $dbh = DBI->connect("dbi:Pg:host=127.0.0.1;port=$port;dbname=postgres",
    'postgres', '', { RaiseError => 1, PrintError => 0,
    pg_server_prepare => 1 });
my $sth = $dbh->prepare('SELECT ssn, notes, id FROM customers WHERE id = $1');
for my $round (1, 2) {
    $sth->execute(1);
    is_deeply($sth->fetchrow_arrayref,
        ['[MASKED]', 'call [PHONE] or write to [EMAIL]', 1],
        "extended protocol, prepared statement, execution $round");
    $sth->finish;
}
$dbh->disconnect;

# binary results: psycopg 3 (libpq) and asyncpg (its own protocol code)
my $py = <<"PY";
import asyncio, psycopg, asyncpg
c = psycopg.connect(host='127.0.0.1', port=$port, dbname='postgres',
                    user='postgres')
cur = c.cursor(binary=True)
cur.execute("SELECT ssn, notes, card_as_number, id FROM customers WHERE id = 1")
print("psycopg-binary", cur.fetchone())
cur.execute("SELECT c, ROW(email, id), to_tsvector('simple', notes),"
            " array_agg(ssn) OVER (), tstzrange(now(), NULL) IS NOT NULL,"
            " ARRAY[id, 7], convert_to(card_number, 'UTF8')"
            " FROM customers c WHERE id = 1")
print("psycopg-containers", cur.fetchone())
async def main():
    a = await asyncpg.connect(host='127.0.0.1', port=$port,
                              database='postgres', user='postgres', ssl=False)
    r = await a.fetchrow("SELECT ssn, notes, email, id FROM customers WHERE id = \$1", 1)
    print("asyncpg", tuple(r))
    r = await a.fetchrow("SELECT c, array_agg(ssn) OVER (), ARRAY[id] FROM customers c WHERE id = 1")
    print("asyncpg-containers", tuple(r))
    await a.close()
asyncio.run(main())
PY
spit("$d/binary.py", $py);
my $bin = `/usr/bin/python3 $d/binary.py 2>&1`;
like($bin, qr/^psycopg-binary \('\[MASKED\]', 'call \[PHONE\] or write to \[EMAIL\]', None, 1\)$/m,
    'binary text cells are masked as text; a binary number with a card: NULL')
    or diag $bin;
like($bin, qr/^asyncpg \('\[MASKED\]', 'call \[PHONE\] or write to \[EMAIL\]', '\[HASH:[0-9a-f]{16}\]', 1\)$/m,
    'asyncpg (binary, its own protocol code): masked the same') or diag $bin;

like($bin, qr/^psycopg-containers \(None, None, None, None, True, \[1, 7\], None\)$/m,
    'binary containers (a masked table\'s row, a record, a tsvector, an'
    . ' array, bytea) holding values: NULL; an array of numbers passes')
    or diag $bin;
like($bin, qr/^asyncpg-containers \(None, None, \[1\]\)$/m,
    'asyncpg: a whole row and an array of SSNs NULL, an array of ids kept')
    or diag $bin;

# node-postgres asking for binary results (what it cannot decode it keeps
# as a string of the bytes as they arrived)
{
    my $js = <<'JS';
const pg = require('pg');
(async () => {
    const c = new pg.Client({ host: '127.0.0.1', port: +process.argv[2],
                              user: 'postgres', database: 'postgres' });
    await c.connect();
    const r = await c.query({ text: 'SELECT c, ROW(ssn, id), ARRAY[notes],'
                              + ' ROW(id, name) FROM customers c WHERE id = $1',
                              values: [1], binary: true, rowMode: 'array' });
    console.log('node-pg', JSON.stringify(r.rows[0]));
    await c.end();
})().catch(e => { console.log('error', e.message); });
JS
    spit("$d/binary.cjs", $js);
    local $ENV{NODE_PATH} = "$FindBin::Bin/node/node_modules";
    my $out = `node $d/binary.cjs $port 2>&1`;
    my $direct = `node $d/binary.cjs ${\ $pg->port} 2>&1`;
    my ($plain) = $direct =~ /^node-pg \[.*,("(?:[^"\\]|\\.)*")\]$/m;
    ok($plain, 'node pg, binary, straight to PostgreSQL: a record of id and'
        . ' name as bytes') or diag $direct;
    like($out, qr/^node-pg \[null,null,null,\Q$plain\E\]$/m,
        'through the gateway: a whole row of customers, a record of an SSN,'
        . ' an array of notes with a phone NULL; the record of id and name'
        . ' byte for byte') or diag $out;
}

# a million rows: streamed, masked, in bounded memory
sub rss {
    my @kb = map { /(\d+)/ } grep { /^VmRSS/ } `cat /proc/$_[0]/status 2>/dev/null`;
    return $kb[0] // 0;
}
my @workers = map { (split)[0] } grep { /nginx: worker/ } `ps -eo pid,args`;
my %before = map { $_ => rss($_) } @workers;
open my $big, '-|', 'psql', '-X', '-At', '-h', '127.0.0.1', '-p', $port,
    '-U', 'postgres', '-d', 'postgres', '-c',
    "SELECT g, 'user' || g || '\@example.com' FROM generate_series(1, 1000000) g"
    or die;
my ($rows, $masked, $peak) = (0, 0, 0);
while (my $line = <$big>) {
    $rows++;
    $masked++ if $line =~ /^\d+\|\[EMAIL\]$/;
    if ($rows % 100000 == 0) {
        for (@workers) { my $g = rss($_) - $before{$_}; $peak = $g if $g > $peak }
    }
}
close $big;
is($rows, 1000000, 'a million rows arrive');
is($masked, 1000000, 'every one masked');
cmp_ok($peak, '<', 16 * 1024,
    "the workers grew by ${peak} kB at most while ~40 MB streamed through");

# the evidence
my @ev;
wait_until(sub {
    @ev = grep { $_->{type} eq 'pg.query' }
        map { decode_json({ @{ $_->[1] } }->{event}) }
        @{ $redis->command('XRANGE', 'hoop:audit:pg', '-', '+') // [] };
    grep { ($_->{query}{sql} // '') =~ /generate_series/ } @ev;
}, 'the statement events');
my ($ssn) = grep { ($_->{query}{sql} // '') eq 'SELECT id, ssn FROM customers ORDER BY id' } @ev;
is_deeply($ssn->{result}{masked}, { column => 2 },
    'the event counts the masked cells');
my ($notes) = grep { ($_->{query}{sql} // '') =~ /^SELECT notes FROM customers WHERE id = \$1$/ } @ev;
is_deeply($notes->{result}{masked}, { email => 1, phone => 1 },
    'and what the detectors found, by kind');

$t->stop;
unlike($t->error_log, qr/123-45-6789|ada\@example\.com/,
    'no unmasked value in the error log');
done_testing;

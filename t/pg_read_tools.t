# Ordinary read tools work through the gateway under a read-only policy
# (allow sql.read, nothing else, the session pinned read-only), logged in
# as a role that may read the application's tables: psql's describe
# commands, pg_dump of the schema and of the data, and what DBD::Pg,
# psycopg and asyncpg run when they connect and introspect.  Each must
# complete as it does against the server directly, as the same role.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use DBI;
use Hoop::JWT;
use Hoop::Test qw(spit);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;

my $pg = Hoop::Test::Pg->new->start;
$pg->psql(<<'SQL');
CREATE SCHEMA app;
CREATE TABLE app.customers (id serial PRIMARY KEY, name text NOT NULL,
    email text UNIQUE, created timestamptz DEFAULT now());
INSERT INTO app.customers (name, email)
    SELECT 'c' || g, 'c' || g || '@example.com' FROM generate_series(1, 20) g;
CREATE TABLE app.orders (id bigserial PRIMARY KEY,
    customer int REFERENCES app.customers, total numeric(10,2));
INSERT INTO app.orders (customer, total) VALUES (1, 9.99), (2, 20);
CREATE TABLE app.events (at timestamptz, kind text) PARTITION BY RANGE (at);
CREATE TABLE app.events_2026 PARTITION OF app.events
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE VIEW app.big_customers AS SELECT * FROM app.customers WHERE id > 10;
CREATE MATERIALIZED VIEW app.totals AS SELECT customer, sum(total) FROM app.orders GROUP BY 1;
CREATE FUNCTION app.add(a int, b int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT a + b';
CREATE TYPE app.mood AS ENUM ('ok', 'meh');
CREATE INDEX ON app.customers (lower(name));
CREATE SEQUENCE app.tickets;
COMMENT ON TABLE app.customers IS 'who buys';
CREATE ROLE reader LOGIN;
GRANT USAGE ON SCHEMA app TO reader;
GRANT SELECT ON ALL TABLES IN SCHEMA app TO reader;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA app TO reader;
SQL

my $t = Hoop::Test::Nginx->new(workers => 1);
my $d = $t->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));
spit("$d/reader.pass", "unused: the test cluster trusts loopback\n", 0600);

$t->run(<<"EOF");
stream {
    hoop_pg_require_tls off;    # loopback: see pg_tls.t
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file %%DIR%%/jwks.json;

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_pg_login reader file=%%DIR%%/reader.pass;
        hoop_rule allow sql.read;
    }
}
EOF

my $token = $key->mint(claims => { iss => 'https://idp.test',
    aud => 'hoop-gateway', sub => 'agent-7', exp => time + 600 });
my $port = $t->port('pg');
my $bin = Hoop::Test::Pg::bindir();

# the same command, through the gateway and straight to the server
sub both {
    my (@cmd) = @_;
    local $ENV{PGPASSWORD} = $token;
    local $ENV{PGHOST} = '127.0.0.1';
    local $ENV{PGUSER} = 'postgres';
    local $ENV{PGDATABASE} = 'postgres';
    local $ENV{PGPORT} = $port;
    my $via = `@cmd 2>&1`;
    my $rc = $? >> 8;
    $ENV{PGPORT} = $pg->port;
    $ENV{PGUSER} = 'reader';
    my $direct = `@cmd 2>&1`;

    # pg_dump's \restrict key is random on each run
    s/^(\\(?:un)?restrict) \S+$/$1 KEY/mg for $via, $direct;

    return ($rc, $via, $direct);
}

my (undef, $ro) = both('psql', '-X', '-At', '-c',
    "'SHOW default_transaction_read_only'");
is($ro, "on\n", 'the session is read-only in PostgreSQL');

for my $meta ('\d', '\d app.customers', '\d+ app.customers', '\dt app.*',
    '\dt+ app.*', '\dv app.*', '\dm app.*', '\ds app.*', '\di app.*',
    '\df app.*', '\df+ app.add', '\dT app.*', '\dn', '\dn+', '\l', '\l+',
    '\du', '\dp app.*', '\dd app.*', '\dx', '\dP+ app.*', '\sf app.add',
    '\sv app.big_customers', '\dconfig work_mem')
{
    my ($rc, $via, $direct) = both('psql', '-X', '-c', "'$meta'");
    is($rc, 0, "psql $meta through the gateway") or diag $via;
    is($via, $direct, '  the same output as straight to the server')
        unless $meta =~ /^\\(l\+|dconfig)/;     # sizes and settings move
}

{
    my ($rc, $via, $direct) = both("$bin/pg_dump", '--schema-only', '-n', 'app');
    is($rc, 0, 'pg_dump --schema-only through the gateway') or diag $via;
    is($via, $direct, '  the same dump as straight to the server');
    like($via, qr/CREATE TABLE app\.customers/, '  a real one');

    ($rc, $via, $direct) = both("$bin/pg_dump", '--data-only', '-n', 'app');
    is($rc, 0, 'pg_dump --data-only through the gateway') or diag $via;
    is($via, $direct, '  the same data');
    like($via, qr/c20\@example\.com/, '  every row');

    ($rc, $via) = both("$bin/pg_dump", '-Fc', '-f', "$d/dump.custom", '-n',
        'app');
    is($rc, 0, 'pg_dump -Fc through the gateway') or diag $via;
}

# drivers: connect, introspect, read

{
    my $dbh = DBI->connect("dbi:Pg:host=127.0.0.1;port=$port;dbname=postgres",
        'postgres', $token, { RaiseError => 0, PrintError => 0 });
    ok($dbh, 'DBD::Pg connects') or diag DBI->errstr;
    my $sth = $dbh->table_info(undef, 'app', '%', 'TABLE');
    my @tables = sort map { $_->[2] } @{ $sth ? $sth->fetchall_arrayref : [] };
    is_deeply([grep { /^(customers|orders)$/ } @tables],
        ['customers', 'orders'], '  table_info') or diag $dbh->errstr;
    $sth = $dbh->column_info(undef, 'app', 'customers', '%');
    is(scalar @{ $sth ? $sth->fetchall_arrayref : [] }, 4, '  column_info')
        or diag $dbh->errstr;
    is_deeply([$dbh->primary_key(undef, 'app', 'customers')], ['id'],
        '  primary_key') or diag $dbh->errstr;
    $sth = $dbh->foreign_key_info(undef, 'app', 'customers', undef, 'app',
        'orders');
    ok($sth && @{ $sth->fetchall_arrayref }, '  foreign_key_info')
        or diag $dbh->errstr;
    is($dbh->selectrow_array('SELECT count(*) FROM app.customers WHERE id > ?',
        undef, 5), 15, '  a read with a placeholder');
    $dbh->disconnect;
}

my $py = <<'PY';
import asyncio, sys
import psycopg, asyncpg

port, token = sys.argv[1], sys.argv[2]
out = []

with psycopg.connect(host='127.0.0.1', port=port, dbname='postgres',
                     user='postgres', password=token) as c:
    out.append('psycopg:%s' % c.info.server_version)
    cur = c.execute("SELECT name FROM app.customers WHERE id = %s", (3,))
    out.append(cur.fetchone()[0])
    with c.cursor(binary=True) as b:
        b.execute("SELECT id, created FROM app.customers ORDER BY id LIMIT 2")
        out.append(str(len(b.fetchall())))
    info = psycopg.types.TypeInfo.fetch(c, "app.mood")
    out.append('mood' if info else 'nomood')
    c.rollback()

async def main():
    conn = await asyncpg.connect(host='127.0.0.1', port=int(port),
                                 database='postgres', user='postgres',
                                 password=token)
    rows = await conn.fetch("SELECT id, email, created FROM app.customers"
                            " WHERE id <= $1 ORDER BY id", 2)
    out.append('asyncpg:%d' % len(rows))
    out.append(str(await conn.fetchval("SELECT 'ok'::app.mood")))
    await conn.reset()          # what its pool runs on release
    out.append(str(await conn.fetchval("SELECT count(*) FROM app.orders")))
    await conn.close()

asyncio.run(main())
print(' '.join(out))
PY
spit("$d/drivers.py", $py);
my $out = `/usr/bin/python3 $d/drivers.py $port '$token' 2>&1`;
like($out, qr/^psycopg:150\d+ c3 2 mood asyncpg:2 ok 2$/m,
    'psycopg (text and binary) and asyncpg (introspection, pool reset)')
    or diag $out;

$t->stop;
done_testing();

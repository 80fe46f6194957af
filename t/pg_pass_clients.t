# Real Postgres clients work through hoop_pg_pass: psql, DBD::Pg (libpq,
# extended protocol with server-side prepares) and psycopg2; results larger
# than the relay buffer arrive whole; and a client whose upstream is down
# gets a Postgres error it can show, not a reset.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use DBI;
use Hoop::Test qw(free_port);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;

my $pg = Hoop::Test::Pg->new->start;
$pg->psql(q{CREATE TABLE customers (id int PRIMARY KEY, email text);
    INSERT INTO customers SELECT g, 'user' || g || '@example.com'
    FROM generate_series(1, 5000) g});

my $dead = free_port();
my $t = Hoop::Test::Nginx->new(workers => 2);
$t->run(<<"EOF");
stream {
    # the relay under test, without identity (see pg_auth.t)
    hoop_pg_auth off;

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_pg_buffer_size 4k;
    }
    server {
        listen 127.0.0.1:%%PORT_unix%%;
        hoop_pg_pass unix:${\ $pg->dir}/sock/.s.PGSQL.${\ $pg->port};
    }
    server {
        listen 127.0.0.1:%%PORT_dead%%;
        hoop_pg_pass 127.0.0.1:$dead;
    }
}
EOF
my $port = $t->port('pg');

sub psql {
    my ($p, $sql) = @_;
    my $out = `psql -X -At -h 127.0.0.1 -p $p -U postgres -d postgres -c "$sql" 2>&1`;
    return ($? >> 8, $out);
}

my ($rc, $out) = psql($port,
    'SELECT count(*), min(id), max(id) FROM customers');
is($rc, 0, 'psql connects through the gateway');
is($out, "5000|1|5000\n", 'and reads the upstream data');

($rc, $out) = psql($port,
    "SELECT string_agg(md5(g::text), '') FROM generate_series(1, 20000) g");
is(length($out), 20000 * 32 + 1,
    'a 640 kB value crosses a 4 kB relay buffer whole');

($rc, $out) = psql($port, 'SELECT * FROM generate_series(1, 100000)');
is(scalar(() = $out =~ /\n/g), 100000, '100k rows arrive, none lost');

my $dbh = DBI->connect("dbi:Pg:host=127.0.0.1;port=$port;dbname=postgres",
    'postgres', '', { RaiseError => 1, PrintError => 0, AutoCommit => 1,
    pg_server_prepare => 1 });
ok($dbh, 'DBD::Pg connects');
my $sth = $dbh->prepare('SELECT email FROM customers WHERE id = $1');
my @got = map { $sth->execute($_); my ($e) = $sth->fetchrow_array;
    $sth->finish; $e } 7, 4242;
is_deeply(\@got, ['user7@example.com', 'user4242@example.com'],
    'DBD::Pg server-side prepared statement, executed twice');
$dbh->do('INSERT INTO customers VALUES (5001, ?)', undef, 'new@example.com');
is($pg->psql('SELECT email FROM customers WHERE id = 5001'),
    'new@example.com', 'a write through the gateway reaches the server');
$dbh->disconnect;

my $py = <<"PY";
import psycopg2
c = psycopg2.connect(host='127.0.0.1', port=$port, user='postgres', dbname='postgres')
cur = c.cursor()
cur.execute('SELECT id FROM customers WHERE email = %s', ('user12\@example.com',))
print(cur.fetchone()[0])
PY
$out = `/usr/bin/python3 -c "$py" 2>&1`;
is($out, "12\n", 'psycopg2 works through the gateway');

($rc, $out) = psql($t->port('unix'), 'SELECT 6 * 7');
is($out, "42\n", 'hoop_pg_pass to a unix socket works too');

($rc, $out) = psql($t->port('dead'), 'SELECT 1');
isnt($rc, 0, 'upstream down: psql fails');
like($out, qr/FATAL:\s+hoop: the database server behind the gateway is not reachable/,
    'with the gateway\'s Postgres error message, not a reset');
like($out, qr/HINT:.*hoop_pg_pass/, 'and a hint for the operator');
like($t->error_log, qr/hoop pg: upstream 127\.0\.0\.1:$dead unreachable/,
    'the error log names the upstream');

$t->stop;
done_testing;

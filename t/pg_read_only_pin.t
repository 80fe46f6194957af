# PostgreSQL itself keeps a session read-only when the policy allows no
# writes: the gateway logs in with default_transaction_read_only on, so a
# write the classification missed is refused by the database (25006), and
# no syntax the client has lifts it.  hoop_pg_read_only on forces it,
# off leaves it; with auto the caller's identity decides.  Startup
# parameters are decided as the SET statements they are.
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
CREATE TABLE t (id int PRIMARY KEY, v text);
INSERT INTO t VALUES (1, 'a');
CREATE TABLE effects (what text);
CREATE FUNCTION fx(int) RETURNS int LANGUAGE sql VOLATILE
    AS $$ INSERT INTO effects VALUES ('fx'); SELECT $1 $$;
SQL

my $t = Hoop::Test::Nginx->new(workers => 1);
my $d = $t->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));

$t->run(<<"EOF");
stream {
    hoop_pg_require_tls off;    # loopback: see pg_tls.t
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file %%DIR%%/jwks.json;

    # readers read; writers write (auto: read-only by identity)
    server {
        listen 127.0.0.1:%%PORT_auto%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_rule allow sql.read;
        hoop_rule allow sql.write groups=writers;
    }

    # the classification made to miss: calls allowed, the session pinned
    server {
        listen 127.0.0.1:%%PORT_on%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_pg_read_only on;
        hoop_rule allow sql.read;
        hoop_rule allow sql.call;
        hoop_rule allow sql.write;
    }

    server {
        listen 127.0.0.1:%%PORT_off%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_pg_read_only off;
        hoop_rule allow sql.read;
    }

    # SET itself is not allowed here, at startup neither
    server {
        listen 127.0.0.1:%%PORT_noset%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_rule deny sql.set name=no-settings;
        hoop_rule allow sql.read;
    }
}
EOF

sub token {
    my (@groups) = @_;
    return $key->mint(claims => { iss => 'https://idp.test',
        aud => 'hoop-gateway', sub => 'agent-7', groups => \@groups,
        exp => time + 600 });
}

sub session {
    my ($port, $tok, %attr) = @_;
    my $dbh = DBI->connect("dbi:Pg:host=127.0.0.1;port=${\ $t->port($port)};"
        . 'dbname=postgres', 'postgres', $tok,
        { RaiseError => 0, PrintError => 0, PrintWarn => 0, AutoCommit => 1,
          %attr });
    BAIL_OUT(DBI->errstr) unless $dbh;
    return $dbh;
}

sub show {
    my ($dbh) = @_;
    my $r = $dbh->selectall_arrayref('SHOW default_transaction_read_only');
    return $r ? $r->[0][0] : 'error: ' . $dbh->errstr;
}

my $reader = session('auto', token('readers'));
my $writer = session('auto', token('writers'));

is(show($reader), 'on', 'auto, a reader: the session is read-only in'
    . ' PostgreSQL');
is(show($writer), 'off', 'auto, a writer: it is not');
ok($writer->do(q{INSERT INTO t VALUES (2, 'b')}), '  and the writer writes')
    or diag $writer->errstr;

# every syntax that could lift it is refused, however the policy reads
my @lifts = (
    'BEGIN READ WRITE',
    'START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE',
    'SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE',
    'SET default_transaction_read_only = off',
    'SET SESSION default_transaction_read_only TO false',
    'SET LOCAL default_transaction_read_only = 0',
    "SET default_transaction_read_only = 'no'",
    'SET transaction_read_only = off',
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SELECT pg_catalog.set_config('transaction_read_only', 'off', true)",
    "SELECT set_config('default_transaction_read_only', v, false) FROM t",
    "UPDATE pg_settings SET setting = 'off'"
        . " WHERE name = 'default_transaction_read_only'",
);

for my $sql (@lifts) {
    $reader->do($sql);
    like($reader->errstr // '', qr/statement denied/,
        "a reader: $sql: denied") or diag $reader->errstr;
    is($reader->state, '42501', '  with SQLSTATE 42501');
    $reader->do('ROLLBACK');
    is(show($reader), 'on', '  still read-only');
}

{
    my $on = session('on', token());
    for my $sql ('BEGIN READ WRITE', 'SET transaction_read_only = off') {
        $on->do($sql);
        like($on->errstr // '',
            qr/denied: the gateway keeps this session read-only/,
            "hoop_pg_read_only on, writes allowed by a rule: $sql denied");
    }
}

# what resets settings puts back the gateway's value, not the server's
for my $sql ('RESET ALL', 'DISCARD ALL',
    'RESET default_transaction_read_only',
    'SET default_transaction_read_only TO DEFAULT',
    'SET default_transaction_read_only = on',
    'SET TRANSACTION READ ONLY', 'BEGIN READ ONLY')
{
    ok(defined $reader->do($sql), "a reader: $sql: allowed")
        or diag $reader->errstr;
    is(show($reader), 'on', '  and the session stays read-only');
    $reader->do('ROLLBACK');
}

# the second wall: a write the policy lets through, the database refuses
{
    my $on = session('on', token());
    is(show($on), 'on', 'hoop_pg_read_only on: read-only whatever the rules');

    $on->do(q{INSERT INTO t VALUES (3, 'c')});
    like($on->errstr // '', qr/cannot execute INSERT in a read-only/,
        '  an INSERT a rule allows: refused by PostgreSQL');
    is($on->state, '25006', '  with its own SQLSTATE');

    $on->selectall_arrayref('SELECT fx(1)');
    like($on->errstr // '', qr/cannot execute INSERT in a read-only/,
        '  a function the policy allows to call, that writes: refused');

    is($pg->psql('SELECT count(*) FROM effects'), 0, '  fx() wrote nothing');
    is($pg->psql('SELECT count(*) FROM t WHERE id = 3'), 0,
        '  nor did the INSERT');
}

{
    my $off = session('off', token());
    is(show($off), 'off', 'hoop_pg_read_only off: not pinned');
}

# startup parameters are SET statements
{
    local $ENV{PGOPTIONS};
    local $ENV{PGPASSWORD} = token();
    my $port = $t->port('auto');
    my $out = `psql -X -At "host=127.0.0.1 port=$port user=postgres dbname=postgres application_name=agent" -c 'SHOW application_name' 2>&1`;
    is($out, "agent\n", 'a reader may set application_name at startup');

    local $ENV{PGCLIENTENCODING} = 'SJIS';
    $out = `psql -X -At "host=127.0.0.1 port=$port user=postgres dbname=postgres" -c 'SELECT 1' 2>&1`;
    like($out, qr/FATAL:  hoop: startup parameter "client_encoding" is not allowed/,
        'not a client encoding its SET could not choose');

    delete $ENV{PGCLIENTENCODING};
    $port = $t->port('noset');
    $out = `psql -X -At "host=127.0.0.1 port=$port user=postgres dbname=postgres application_name=agent" -c 'SHOW application_name' 2>&1`;
    is($out, "\n", 'a policy that denies SET: application_name at startup'
        . ' is dropped (psql logs in, and the setting is not made)');
    like($t->error_log, qr/startup parameter "application_name" dropped:/,
        '  and the gateway says so');

    my $plain = session('noset', token());
    is_deeply($plain->selectall_arrayref('SELECT 1'), [[1]],
        '  a client that sets nothing logs in (DBD::Pg)');
}

$reader->disconnect;
$writer->disconnect;
$t->stop;
done_testing();

# search_path is a setting an agent may change (pg_dump, psql and ORMs
# do), and the gateway follows it instead of denying it: a bare table
# name is whichever relation of that name the search path finds, so a
# rule on schema.table holds for a bare name once that schema has been on
# the session's search path (at login, by SET, SET SCHEMA, set_config, a
# startup parameter), and an allow rule on schema.table never vouches
# for a bare name.
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
use Hoop::Test::Wire qw(parse bind_ execute sync query wire_session
    read_until error_of rows_of);

my $pg = Hoop::Test::Pg->new->start;
$pg->psql(<<'SQL');
CREATE SCHEMA hr;
CREATE TABLE hr.secret (v text);
INSERT INTO hr.secret VALUES ('salaries');
CREATE TABLE public.secret (v text);
INSERT INTO public.secret VALUES ('lunch menu');
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

    server {
        listen 127.0.0.1:%%PORT_deny%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_rule deny table=hr.* name=no-hr;
        hoop_rule allow sql.read;
    }

    server {
        listen 127.0.0.1:%%PORT_allow%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_rule allow sql.read table=public.*;
        hoop_rule allow sql.set;
    }
}
EOF

my $token = $key->mint(claims => { iss => 'https://idp.test',
    aud => 'hoop-gateway', sub => 'agent-7', exp => time + 600 });

sub session {
    my ($port, $options) = @_;
    my $dsn = "dbi:Pg:host=127.0.0.1;port=${\ $t->port($port)};dbname=postgres";
    local $ENV{PGOPTIONS};
    my $dbh = DBI->connect($dsn . ($options // ''), 'postgres', $token,
        { RaiseError => 0, PrintError => 0, PrintWarn => 0, AutoCommit => 1 });
    BAIL_OUT(DBI->errstr) unless $dbh;
    return $dbh;
}

sub read_one {
    my ($dbh, $sql) = @_;
    my $r = $dbh->selectrow_arrayref($sql);
    return $r ? $r->[0] : 'error: ' . ($dbh->errstr // '');
}

my $dbh = session('deny');
is(read_one($dbh, 'SELECT v FROM secret'), 'lunch menu',
    'a bare name, hr not on the search path: public.secret, allowed');
like(read_one($dbh, 'SELECT v FROM hr.secret'), qr/denied by rule "no-hr"/,
    'hr.secret by its name: denied');

ok($dbh->do('SET search_path = hr, public'), 'SET search_path: allowed');
like(read_one($dbh, 'SELECT v FROM secret'), qr/denied by rule "no-hr"/,
    'now a bare name may be hr.secret: denied');
ok($dbh->do('RESET search_path'), 'RESET search_path');
like(read_one($dbh, 'SELECT v FROM secret'), qr/denied by rule "no-hr"/,
    '  what was on the path once counts for the rest of the session');

for my $set ("SET SCHEMA 'hr'", "SELECT set_config('search_path', 'HR', false)",
    "SELECT set_config('search_path', '\"hr\",public', true)",
    "SELECT set_config('search_path', v, false) FROM public.secret")
{
    my $s = session('deny');
    $s->do($set);
    like(read_one($s, 'SELECT count(*) FROM secret'), qr/denied by rule "no-hr"/,
        "after $set: a bare name may be in hr");
}

# a startup parameter is the SET it is: hr on the path from the start

{
    my $py = <<'PY';
import asyncio, sys, asyncpg

async def main():
    c = await asyncpg.connect(host='127.0.0.1', port=int(sys.argv[1]),
                              database='postgres', user='postgres',
                              password=sys.argv[2],
                              server_settings={'search_path': 'hr'})
    try:
        print(await c.fetchval('SELECT v FROM secret'))
    except asyncpg.PostgresError as e:
        print(e)
    await c.close()

asyncio.run(main())
PY
    spit("$d/startup.py", $py);
    my $out = `/usr/bin/python3 $d/startup.py ${\ $t->port('deny')} '$token' 2>&1`;
    like($out, qr/denied by rule "no-hr"/,
        'search_path=hr in the startup packet (asyncpg server_settings): a'
        . ' bare name may be in hr')
        or diag $out;
}

# a statement prepared before hr was on the path: PostgreSQL analyzes it
# again for the new path when it next runs, and so does the gateway

{
    my $c = session('deny');
    $c->{pg_server_prepare} = 1;
    $c->{pg_switch_prepared} = 1;      # a named statement from the first run
    my $sth = $c->prepare('SELECT v FROM secret WHERE v <> ?');
    $sth->execute('');
    is(($sth->fetchrow_array)[0], 'lunch menu',
        'a prepared bare name, hr not on the path: public.secret');
    $c->do('SET search_path = hr, public');
    ok(!$sth->execute(''), 'the same prepared statement after SET search_path'
        . ' = hr: not run');
    like($c->errstr, qr/denied by rule "no-hr"/, '  denied by the hr rule');
    $c->disconnect;
}

# by SQL PREPARE, run by the protocol's Bind; a cursor's portal the
# gateway never saw a statement of; both pipelined behind the SET

{
    my $w = wire_session(port => $t->port('deny'), password => $token);
    print $w query('PREPARE p AS SELECT v FROM secret');
    is(error_of(read_until($w, 'Z')), undef, 'PREPARE p: a read, allowed');
    print $w query('SET search_path = hr'), bind_('p'), execute(), sync();
    my $r = read_until($w, 'Z');
    $r = read_until($w, 'Z');
    like(error_of($r), qr/^42501: .*denied by rule "no-hr"/,
        '  protocol Bind/Execute of p after SET search_path = hr: denied');
    ok(!grep({ $_ eq 'salaries' } rows_of($r)), '  no hr row');

    print $w query('BEGIN; DECLARE c CURSOR FOR SELECT 1'), execute('c'),
        sync();
    read_until($w, 'Z');
    $r = read_until($w, 'Z');
    like(error_of($r), qr/^42501: .*a portal of a statement the gateway does not know/,
        "  a protocol Execute of a SQL cursor's portal: denied");
    print $w query('ROLLBACK');
    read_until($w, 'Z');
    close $w;
}

# the allow side: schema.table vouches for the name written so only

my $a = session('allow');
is(read_one($a, 'SELECT v FROM public.secret'), 'lunch menu',
    'allow table=public.*: public.secret by its name');
like(read_one($a, 'SELECT v FROM secret'), qr/read statement denied: no rule allows it/,
    '  a bare name may be in another schema of the path: not allowed by it');
like(read_one($a, 'SELECT v FROM hr.secret'), qr/no rule allows it/,
    '  hr.secret: not allowed');

$_->disconnect for $dbh, $a;
$t->stop;
done_testing();

# hoop_pg_login: the gateway logs in to the database with credentials it
# holds (SCRAM-SHA-256, MD5 or cleartext, per the server's pg_hba.conf),
# chosen by the database the client asks for.  The agent's token never
# reaches the server and the password never reaches the agent or the log;
# startup parameters that would change roles or settings are refused; the
# BackendKeyData the client holds is not the server's, yet cancels work.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use DBI;
use DBD::Pg qw(:async);
use IO::Socket::INET;
use Hoop::JWT;
use Hoop::Test qw(secret spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;

my $pg = Hoop::Test::Pg->new->start;
$pg->psql(q{CREATE ROLE app_rw LOGIN PASSWORD 'scram-pw-1';
    SET password_encryption = 'md5';
    CREATE ROLE app_md5 LOGIN PASSWORD 'md5-pw-2';
    RESET password_encryption;
    CREATE ROLE app_pw LOGIN PASSWORD 'plain-pw-3';
    CREATE ROLE app_wrong LOGIN PASSWORD 'the-real-one'});
$pg->psql("CREATE DATABASE $_") for qw(app legacy plain wrong);

# every gateway role must prove itself, each with its own method
my $hba = $pg->dir . '/data/pg_hba.conf';
spit($hba, join '', map { "host all $_->[0] 127.0.0.1/32 $_->[1]\n" }
    ['app_rw', 'scram-sha-256'], ['app_md5', 'md5'], ['app_pw', 'password'],
    ['app_wrong', 'scram-sha-256'], ['all', 'trust']);
$pg->psql('SELECT pg_reload_conf()');

my $t = Hoop::Test::Nginx->new(workers => 2);
my $d = $t->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));
spit("$d/rw.pass", "scram-pw-1\n");
spit("$d/md5.pass", "md5-pw-2\n");
spit("$d/pw.pass", "plain-pw-3\n");
spit("$d/wrong.pass", "not-the-password\n");
secret($_, 'an upstream password') for qw(scram-pw-1 md5-pw-2 plain-pw-3
    the-real-one not-the-password);

$t->run(<<"EOF");
stream {
    hoop_pg_require_tls off;    # loopback: see pg_tls.t
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file %%DIR%%/jwks.json;

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_pg_login app_rw file=%%DIR%%/rw.pass dbname=app;
        hoop_pg_login app_md5 file=%%DIR%%/md5.pass dbname=legacy;
        hoop_pg_login app_pw file=%%DIR%%/pw.pass dbname=plain;
        hoop_pg_login app_wrong file=%%DIR%%/wrong.pass dbname=wrong;
    }
}
EOF
my $port = $t->port('pg');
my $token = $key->mint(claims => { iss => 'https://idp.test',
    aud => 'hoop-gateway', sub => 'agent-7', exp => time + 600 });

sub psql {
    my ($db, $sql, %env) = @_;
    local $ENV{PGPASSWORD} = $token;
    local @ENV{keys %env} = values %env;
    my $out = `psql -X -At -h 127.0.0.1 -p $port -U agent -d $db -c "$sql" 2>&1`;
    return ($? >> 8, $out);
}

my ($rc, $out) = psql('app', 'SELECT current_user, current_database()');
is($out, "app_rw|app\n", 'SCRAM-SHA-256: the gateway logs in as its role');
($rc, $out) = psql('legacy', 'SELECT current_user');
is($out, "app_md5\n", 'MD5: the same, for the database that asks for it');
($rc, $out) = psql('plain', 'SELECT current_user');
is($out, "app_pw\n", 'cleartext password: the same');

($rc, $out) = psql('wrong', 'SELECT 1');
is($rc, 2, 'a login the server refuses: the client cannot connect');
like($out, qr/FATAL:  hoop: the gateway could not log in to the database/,
    'and is told the gateway could not log in') or diag $out;
unlike($out, qr/app_wrong|not-the-password/,
    'without the role or the password');

($rc, $out) = psql('postgres', 'SELECT 1');
like($out, qr/FATAL:  hoop: database "postgres" is not served by this gateway/,
    'a database with no login: refused before any token is spent');

($rc, $out) = psql('app', 'SELECT current_user',
    PGOPTIONS => '-c role=postgres');
like($out, qr/FATAL:  hoop: startup parameter "options" is not allowed/,
    'options= in the startup packet: refused, named');
($rc, $out) = psql('app', q{SELECT current_setting('application_name')},
    PGAPPNAME => 'agent-tool');
is($out, "agent-tool\n", 'application_name passes');

my $dbh = DBI->connect("dbi:Pg:host=127.0.0.1;port=$port;dbname=app",
    'agent', $token, { RaiseError => 0, PrintError => 0 });
ok($dbh, 'DBD::Pg logs in') or diag $DBI::errstr;
my $real = $dbh->selectrow_array('SELECT pg_backend_pid()');
isnt($dbh->{pg_pid}, $real,
    'the backend key the client holds is not the server\'s');
$dbh->do('SELECT pg_sleep(60)', { pg_async => PG_ASYNC });
# a cancel that reaches the server before the statement cancels nothing
wait_until(sub { $pg->psql(q{SELECT count(*) FROM pg_stat_activity
    WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'}) == 1 },
    'the statement to run');
my $t0 = time;
ok($dbh->pg_cancel, 'a CancelRequest with the gateway\'s key');
like($dbh->state, qr/57014/, 'cancels the running statement');
cmp_ok(time - $t0, '<', 10, 'at once');
is($dbh->selectrow_array('SELECT 7'), 7, 'and the session goes on');

# a pair the gateway cannot have issued (its pids are never negative)
my $forged = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or die;
print $forged pack('NNNN', 16, 80877102, 0x80000000 | $real, 12345);
my $n = sysread($forged, my $buf, 1);
is($n, 0, 'a CancelRequest with a key not issued: closed, no answer');
$dbh->disconnect;

$t->stop;
my $log = $t->error_log;
like($log, qr/the database refused the gateway's login: password authentication failed for user "app_wrong"/,
    'the server\'s refusal is in the error log');
like($log, qr/CancelRequest with a key the gateway did not issue, ignored/,
    'the forged CancelRequest is logged, not passed on');
unlike($log, qr/scram-pw-1|md5-pw-2|plain-pw-3|not-the-password/,
    'no password in the error log, debug lines included');

done_testing;

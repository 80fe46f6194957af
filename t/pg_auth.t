# A stream-only gateway (no http{} at all) takes the Postgres password as
# an OIDC access token: real tokens from a real provider let psql, DBD::Pg
# and psycopg2 in; every refused token is a FATAL 28P01 the client shows,
# with one log line that never holds the token; the token never reaches
# the database, not even when the database asks for a password.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use DBI;
use DBD::Pg qw(:async);
use IO::Socket::INET;
use JSON::PP;
use Hoop::Test qw(spit wait_until);
use Hoop::Test::IdP;
use Hoop::Test::Nginx;
use Hoop::Test::Pg;

my $idp = Hoop::Test::IdP->new(clients => ['agent-7:s3cret:dba'])->start;
my ($k1) = $idp->keys;
my $iss = $idp->issuer;

my $pg = Hoop::Test::Pg->new->start;
$pg->psql(q{CREATE ROLE locked LOGIN PASSWORD 'pw'});

# the role "locked" must log in with a password: the gateway cannot
open my $hba, '<', $pg->dir . '/data/pg_hba.conf' or die;
my $rules = do { local $/; <$hba> };
close $hba;
spit($pg->dir . '/data/pg_hba.conf',
    "host all locked 127.0.0.1/32 scram-sha-256\n$rules");
$pg->psql('SELECT pg_reload_conf()');

my $t = Hoop::Test::Nginx->new(workers => 2);
spit($t->dir . '/jwks.json', encode_json($idp->get_json('/jwks')));

$t->run(<<"EOF");
stream {
    hoop_pg_require_tls off;    # loopback: see pg_tls.t
    hoop_oidc_issuer    $iss;
    hoop_oidc_audience  hoop-gateway;
    hoop_oidc_jwks_file %%DIR%%/jwks.json;

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_pg_startup_timeout 2s;
    }
}
EOF
my $port = $t->port('pg');

sub psql {
    my ($password, $sql, $user) = @_;
    local $ENV{PGPASSWORD} = $password;
    $user //= 'postgres';
    my $out = `psql -X -At -h 127.0.0.1 -p $port -U $user -d postgres -c "$sql" 2>&1`;
    return ($? >> 8, $out);
}

my $token = $idp->token;

my ($rc, $out) = psql($token, 'SELECT current_user');
is($rc, 0, 'psql logs in with an oidc-provider access token as password');
is($out, "postgres\n", 'and runs a query upstream');

my $dbh = DBI->connect("dbi:Pg:host=127.0.0.1;port=$port;dbname=postgres",
    'postgres', $token, { RaiseError => 0, PrintError => 0 });
ok($dbh, 'DBD::Pg logs in with the token') or diag $DBI::errstr;
is($dbh && $dbh->selectrow_array('SELECT 40 + 2'), 42,
    'and queries (extended protocol)');

# a CancelRequest has no password: the backend key is its credential
$dbh->do('SELECT pg_sleep(60)', { pg_async => PG_ASYNC });
# a cancel that reaches the server before the statement cancels nothing
wait_until(sub { $pg->psql(q{SELECT count(*) FROM pg_stat_activity
    WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'}) == 1 },
    'the statement to run');
my $t0 = time;
ok($dbh->pg_cancel, 'CancelRequest passes without a token');
like($dbh->state, qr/57014/, 'and cancels the running statement');
cmp_ok(time - $t0, '<', 10, 'at once');
$dbh->disconnect;

my $py = `/usr/bin/python3 -c '
import psycopg2, sys
c = psycopg2.connect(host="127.0.0.1", port=$port, dbname="postgres",
                     user="postgres", password=sys.argv[1])
cur = c.cursor(); cur.execute("SELECT 6 * 7"); print(cur.fetchone()[0])
' '$token' 2>&1`;
is($py, "42\n", 'psycopg2 logs in with the token');

# refused tokens

my $now = time;
my %good = (iss => $iss, aud => 'hoop-gateway', sub => 'mallory',
    exp => $now + 300);
my @refused = (
    ['expired', $k1->mint(claims => { %good, exp => $now - 600 }),
        'token expired'],
    ['wrong audience', $k1->mint(claims => { %good, aud => 'other' }),
        'wrong audience'],
    ['alg none', $k1->mint(claims => \%good, alg => 'none'),
        'signature algorithm not allowed'],
    ['a plain password', 'hunter2', 'malformed token'],
    ['oversized', 'x' x 9000, 'token too large'],
);

for my $case (@refused) {
    my ($name, $tok, $reason) = @$case;
    ($rc, $out) = psql($tok, 'SELECT 1');
    is($rc, 2, "$name: psql fails to connect");
    like($out, qr/FATAL:  hoop: access token refused: \Q$reason\E/,
        "$name: and shows why") or diag $out;
}

($rc, $out) = psql('', 'SELECT 1');
isnt($rc, 0, 'no password at all: refused');

# a client that never answers the password request

my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or die;
my $startup = pack('N', 196608) . "user\0postgres\0\0";
print $s pack('N', length($startup) + 4) . $startup;
my $got = '';
while (sysread($s, my $buf, 4096)) { $got .= $buf }
is(substr($got, 0, 9), pack('aNN', 'R', 8, 3),
    'the gateway asks for a cleartext password');
like(substr($got, 9), qr/Mhoop: password \(access token\) not received in time/,
    'and ends a client that never sends it');

# a client that answers the password request with something else

$s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or die;
print $s pack('N', length($startup) + 4) . $startup;
sysread($s, my $r9, 9);
print $s "Q\0\0\0\x0dSELECT 1\0";
$got = '';
while (sysread($s, my $buf, 4096)) { $got .= $buf }
like($got, qr/^E.*SFATAL\0.*C08P01\0Mhoop: expected a password message\0/s,
    'a query instead of the password: FATAL 08P01, said so');

# the database wants a password of its own: never hand it the token

($rc, $out) = psql($token, 'SELECT 1', 'locked');
is($rc, 2, 'an upstream asking for a password: the session is refused');
like($out, qr/FATAL:  hoop: the database server asks for a password/,
    'with a message saying so');

$t->stop;

my $log = $t->error_log;
like($log, qr/hoop pg: client authenticated as "agent-7"/,
    'accepted logins are logged with the subject');
like($log, qr/token refused: wrong audience while .*, client: 127\.0\.0\.1/,
    'refusals are logged with the reason and the client');
like($log, qr{the database asks for a password \(request 10\) and no hoop_pg_login},
    'the upstream SCRAM request is logged');
(my $nondebug = $log) =~ s/^.*\[debug\].*\n//mg;
my $sig = (split /\./, $token)[2];
unlike($nondebug, qr/\Q$sig\E/, 'the token is not in the log');
unlike($pg->log, qr/\Q$sig\E/, 'nor in the database log');

done_testing;

# TLS on the client leg: the gateway answers SSLRequest with "S" and runs
# TLS on the same connection (libpq's sslmode=require and verify-full),
# accepts direct TLS with ALPN "postgresql" (PostgreSQL 17's
# sslnegotiation=direct), refuses plain bytes smuggled behind an
# SSLRequest, and, by default, takes no token from a client without TLS.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use DBI;
use IO::Socket::INET;
use Hoop::JWT;
use Hoop::Test qw(spit test_dir);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;

my $pki = test_dir('pki');
spit("$pki/san.ext", "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
for my $cmd (
    "openssl req -x509 -newkey rsa:2048 -nodes -keyout $pki/ca.key"
        . " -out $pki/ca.pem -subj /CN=hoop-test-ca -days 2",
    "openssl req -newkey rsa:2048 -nodes -keyout $pki/gw.key"
        . " -out $pki/gw.csr -subj /CN=localhost",
    "openssl x509 -req -in $pki/gw.csr -CA $pki/ca.pem -CAkey $pki/ca.key"
        . " -CAcreateserial -out $pki/gw.pem -days 2 -extfile $pki/san.ext",
) {
    system("$cmd >/dev/null 2>&1") == 0 or die "failed: $cmd";
}
chmod 0644, "$pki/ca.pem", "$pki/gw.pem";

my $pg = Hoop::Test::Pg->new->start;
my $t = Hoop::Test::Nginx->new(workers => 2);
my $d = $t->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));

$t->run(<<"EOF");
stream {
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file %%DIR%%/jwks.json;

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_pg_certificate     $pki/gw.pem;
        hoop_pg_certificate_key $pki/gw.key;
        hoop_pg_startup_timeout 3s;
    }
}
EOF
my $port = $t->port('pg');
my $token = $key->mint(claims => { iss => 'https://idp.test',
    aud => 'hoop-gateway', sub => 'agent-7', exp => time + 600 });

sub psql {
    my ($conninfo, $sql) = @_;
    local $ENV{PGPASSWORD} = $token;
    my $out = `psql -X -At "host=127.0.0.1 port=$port user=postgres dbname=postgres $conninfo" -c "$sql" 2>&1`;
    return ($? >> 8, $out);
}

my ($rc, $out) = psql('sslmode=require', 'SELECT 42');
is($out, "42\n", 'sslmode=require: TLS after SSLRequest, then the token');
($rc, $out) = psql("sslmode=verify-full sslrootcert=$pki/ca.pem", '\conninfo');
like($out, qr/SSL connection \(protocol: TLSv1\.[23]/,
    'sslmode=verify-full: the gateway\'s certificate verifies') or diag $out;
($rc, $out) = psql('sslmode=prefer gssencmode=prefer', 'SELECT 1');
is($out, "1\n", 'libpq defaults (GSSENCRequest refused, then TLS) work');

($rc, $out) = psql('sslmode=disable', 'SELECT 1');
is($rc, 2, 'sslmode=disable: no session');
like($out, qr/FATAL:  hoop: this gateway takes access tokens only over TLS/,
    'the client is told, before it sends its token');

my $dbh = DBI->connect("dbi:Pg:host=127.0.0.1;port=$port;dbname=postgres;"
    . "sslmode=require", 'postgres', $token,
    { RaiseError => 0, PrintError => 0 });
is($dbh && $dbh->selectrow_array('SELECT count(*) FROM generate_series(1, 100000)'),
    100000, 'DBD::Pg over TLS, a result larger than the buffers');
$dbh->disconnect if $dbh;

# plain bytes behind the SSLRequest: a man in the middle's injection
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or die;
my $startup = pack('N', 196608) . "user\0postgres\0\0";
print $s pack('NN', 8, 80877103) . pack('N', 4 + length $startup) . $startup;
my $got = '';
while (sysread($s, my $buf, 64)) { $got .= $buf }
is($got, '', 'plain bytes queued behind an SSLRequest: closed, unanswered');

# direct TLS (PostgreSQL 17 clients): ALPN "postgresql" or nothing
my $py = <<"PY";
import socket, ssl, struct, sys
def attempt(alpn):
    ctx = ssl.create_default_context(cafile="$pki/ca.pem")
    if alpn:
        ctx.set_alpn_protocols([alpn])
    raw = socket.create_connection(("127.0.0.1", $port))
    try:
        tls = ctx.wrap_socket(raw, server_hostname="localhost")
        startup = struct.pack("!I", 196608) + b"user\\0postgres\\0\\0"
        tls.sendall(struct.pack("!I", len(startup) + 4) + startup)
        r = tls.recv(9)
        return "R%d" % struct.unpack("!I", r[5:9])[0] if r[:1] == b"R" else "closed"
    except (ssl.SSLError, ConnectionError, OSError) as e:
        return "closed"
print(attempt("postgresql"), attempt(None), attempt("http/1.1"))
PY
spit("$d/direct.py", $py);
is(`/usr/bin/python3 $d/direct.py 2>&1`, "R3 closed closed\n",
    'direct TLS with ALPN postgresql: asked for the token; without it or'
    . ' with another protocol: closed');

$t->stop;
like($t->error_log, qr/plain bytes after an SSLRequest, session closed/,
    'the injection attempt is logged');
unlike($t->error_log, qr/\Q$token\E/, 'the token is never logged');

done_testing;

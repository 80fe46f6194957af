# hoop_pg_upstream_tls: the gateway reaches the database in TLS, as libpq
# does (SSLRequest, then the handshake), so its own login and every
# statement are encrypted on that leg too.  "verify" checks the server's
# certificate against a trusted CA and the host of hoop_pg_pass; a server
# that refuses TLS, or whose certificate does not verify, is refused: the
# gateway never falls back to plain text.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use Hoop::Test qw(secret spit test_dir chown_to_service);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;

my $pki = test_dir('pki');
spit("$pki/san.ext", "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
for my $cmd (
    "openssl req -x509 -newkey rsa:2048 -nodes -keyout $pki/ca.key"
        . " -out $pki/ca.pem -subj /CN=hoop-test-ca -days 2",
    "openssl req -x509 -newkey rsa:2048 -nodes -keyout $pki/other.key"
        . " -out $pki/other.pem -subj /CN=other-ca -days 2",
    "openssl req -newkey rsa:2048 -nodes -keyout $pki/db.key"
        . " -out $pki/db.csr -subj /CN=localhost",
    "openssl x509 -req -in $pki/db.csr -CA $pki/ca.pem -CAkey $pki/ca.key"
        . " -CAcreateserial -out $pki/db.pem -days 2 -extfile $pki/san.ext",
) {
    system("$cmd >/dev/null 2>&1") == 0 or die "failed: $cmd";
}
chmod 0600, "$pki/db.key";
chmod 0644, "$pki/ca.pem", "$pki/other.pem", "$pki/db.pem";
chown_to_service("$pki/db.key", "$pki/db.pem");

my $pg = Hoop::Test::Pg->new(options => "-c ssl=on -c ssl_cert_file=$pki/db.pem"
    . " -c ssl_key_file=$pki/db.key")->start;
$pg->psql(q{CREATE ROLE app_rw LOGIN PASSWORD 'tls-pw-1'});
secret('tls-pw-1', 'an upstream password');
my $plain = Hoop::Test::Pg->new(name => 'plain')->start;
$plain->psql(q{CREATE ROLE app_rw LOGIN PASSWORD 'tls-pw-1'});

# the gateway's role may only come in TLS, and must prove itself
for my $db ($pg, $plain) {
    my $hba = $db->dir . '/data/pg_hba.conf';
    my $rules = do { local (@ARGV, $/) = $hba; <> };
    spit($hba, "hostssl all app_rw 127.0.0.1/32 scram-sha-256\n"
        . "host all app_rw 127.0.0.1/32 reject\n$rules");
    $db->psql('SELECT pg_reload_conf()');
}

my $t = Hoop::Test::Nginx->new;
spit($t->dir . '/app.pass', "tls-pw-1\n");

$t->run(<<"EOF");
stream {
    hoop_pg_auth off;

    server {
        listen 127.0.0.1:%%PORT_verify%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_pg_login app_rw file=%%DIR%%/app.pass;
        hoop_pg_upstream_tls verify;
        hoop_pg_upstream_trusted_certificate $pki/ca.pem;
    }
    server {
        listen 127.0.0.1:%%PORT_require%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_pg_login app_rw file=%%DIR%%/app.pass;
        hoop_pg_upstream_tls require;
    }
    server {
        listen 127.0.0.1:%%PORT_wrongca%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_pg_login app_rw file=%%DIR%%/app.pass;
        hoop_pg_upstream_tls verify;
        hoop_pg_upstream_trusted_certificate $pki/other.pem;
    }
    server {
        listen 127.0.0.1:%%PORT_notls%%;
        hoop_pg_pass 127.0.0.1:${\ $plain->port};
        hoop_pg_login app_rw file=%%DIR%%/app.pass;
        hoop_pg_upstream_tls require;
    }
    server {
        listen 127.0.0.1:%%PORT_off%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_pg_login app_rw file=%%DIR%%/app.pass;
    }
}
EOF

sub psql {
    my ($name, $sql) = @_;
    my $port = $t->port($name);
    my $out = `psql -X -At "host=127.0.0.1 port=$port user=agent dbname=postgres sslmode=disable" -c "$sql" 2>&1`;
    return $out;
}

my $q = 'SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()';
is(psql('verify', $q), "app_rw|t\n",
    'verify: the gateway logs in over TLS, the server certificate checked')
    or diag(grep { /TLS|certificate/ } split /\n/, $t->error_log);
is(psql('require', $q), "app_rw|t\n", 'require: TLS without the check');
like(psql('wrongca', 'SELECT 1'),
    qr/FATAL:  hoop: the gateway could not reach the database securely/,
    'a certificate that does not verify: refused');
like(psql('notls', 'SELECT 1'),
    qr/FATAL:  hoop: the gateway could not reach the database securely/,
    'a server without TLS: refused, no plain-text fallback');
like(psql('off', 'SELECT 1'), qr/FATAL:  hoop: the gateway could not log in/,
    'without hoop_pg_upstream_tls the server rejects the plain login'
    . ' (hostssl only)');

$t->stop;
my $log = $t->error_log;
like($log, qr/the database's certificate is not trusted/,
    'the untrusted certificate is logged');
like($log, qr/TLS with the database failed: the server does not accept TLS/,
    'and the server without TLS');
done_testing;

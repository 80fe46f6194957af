# The protocol paths real clients take, through the full gateway (token
# login, policy, audit, masking on): pgbench -S in simple, extended and
# prepared modes runs clean; COPY FROM STDIN and COPY TO STDOUT carry
# data both ways; asynchronous ParameterStatus (SET) and NOTICEs (RAISE)
# reach the client; every pgbench statement is audited.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use DBI;
use JSON::PP;
use Hoop::JWT;
use Hoop::Test qw(spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;
use Hoop::Test::Redis;

my $redis = Hoop::Test::Redis->new->start;
my $pg = Hoop::Test::Pg->new->start;
my $bin = Hoop::Test::Pg::bindir();
system("$bin/pgbench -i -q -s 1 -h 127.0.0.1 -p ${\ $pg->port} -U postgres"
    . " postgres >/dev/null 2>&1") == 0 or die 'pgbench -i failed';
$pg->psql('CREATE TABLE imports (id int, email text)');

my $t = Hoop::Test::Nginx->new(workers => 2);
my $d = $t->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));

$t->run(<<"EOF");
stream {
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file %%DIR%%/jwks.json;
    hoop_audit_stream hoop:audit:pg;
    hoop_pg_require_tls off;    # loopback: see pg_tls.t

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
        hoop_rule deny sql.ddl;
        hoop_rule allow sql.read;
        hoop_rule allow sql.write;
        hoop_mask detect=email;
    }
}
EOF
$t->wait_redis(2);
my $port = $t->port('pg');
my $token = $key->mint(claims => { iss => 'https://idp.test',
    aud => 'hoop-gateway', sub => 'agent-7', exp => time + 600 });
$ENV{PGPASSWORD} = $token;

for my $mode (qw(simple extended prepared)) {
    my $out = `$bin/pgbench -n -S -M $mode -c 4 -j 2 -t 250 -h 127.0.0.1 -p $port -U postgres postgres 2>&1`;
    like($out, qr/number of transactions actually processed: 1000\/1000/,
        "pgbench -S -M $mode: every transaction processed") or diag $out;
    unlike($out, qr/number of failed transactions: [1-9]/,
        "pgbench -S -M $mode: none failed");
}

my $copy_in = join '', map { "$_\tuser$_\@example.com\n" } 1 .. 5000;
open my $psql, '|-', "psql -X -q -h 127.0.0.1 -p $port -U postgres -d postgres"
    . " -c 'COPY imports FROM STDIN' >$d/copy.out 2>&1" or die;
print $psql $copy_in;
close $psql;
is($pg->psql('SELECT count(*), max(id) FROM imports'), '5000|5000',
    'COPY FROM STDIN: 5000 rows in, unmasked on the way to the server');
my $out = `psql -X -h 127.0.0.1 -p $port -U postgres -d postgres -c 'COPY imports TO STDOUT' 2>&1`;
is(scalar(() = $out =~ /^\d+\t\[EMAIL\]$/mg), 5000,
    'COPY TO STDOUT: 5000 rows out, masked on the way to the client');

my $dbh = DBI->connect("dbi:Pg:host=127.0.0.1;port=$port;dbname=postgres",
    'postgres', $token, { RaiseError => 1, PrintError => 0, PrintWarn => 0 });
$dbh->do(q{SET TimeZone = 'Asia/Tokyo'});
is($dbh->selectrow_array('SHOW TimeZone'), 'Asia/Tokyo',
    'SET: the session setting changed');
$dbh->disconnect;

$out = `psql -X -h 127.0.0.1 -p $port -U postgres -d postgres -c "DO \\\$\\\$ BEGIN RAISE NOTICE 'write to ada\@example.com'; END \\\$\\\$" 2>&1`;
like($out, qr/NOTICE:  write to \[EMAIL\]/,
    'a NOTICE reaches the client, its text masked') or diag $out;

my @ev;
wait_until(sub {
    @ev = grep { $_->{type} eq 'pg.query' }
        map { decode_json({ @{ $_->[1] } }->{event}) }
        @{ $redis->command('XRANGE', 'hoop:audit:pg', '-', '+', 'COUNT', 100000) // [] };
    scalar(grep { ($_->{query}{sql} // '') =~ /pgbench_accounts/ } @ev) >= 3000;
}, '3000 pgbench statements in the trail');
my %proto = map { $_->{query}{protocol} => 1 }
    grep { ($_->{query}{sql} // '') =~ /pgbench_accounts/ } @ev;
is_deeply(\%proto, { simple => 1, extended => 1 },
    'recorded from the simple and the extended protocol');
my ($copy) = grep { ($_->{query}{command} // '') eq 'copy' && $_->{result}{rows} } @ev;
is($copy->{result}{rows}, 5000, 'the COPY is recorded with its row count');

$t->stop;
done_testing;

# The README's first command: tools/hoop-demo starts Redis, PostgreSQL with
# sample data, the dev identity and the gateway; the printed psql command
# reads the sample data through the gateway; hoop-token mints a token the
# published JWKS verifies; stop stops everything.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use Hoop::Test qw(repo_dir test_dir free_port port_open sanitizer_env
    sanitizer_reports wait_until);

my $repo = repo_dir();
my %port = map { $_ => free_port() } qw(GW HTTP PG REDIS KUBE KUBE_API);
$ENV{HOOP_DEMO_DIR} = test_dir('demo');
$ENV{"HOOP_DEMO_${_}_PORT"} = $port{$_} for keys %port;

# under make test-asan the demo's nginx loads the ASan modules
my $san = test_dir() . '/demo-sanitizer';
my $senv = sanitizer_env($san);
$ENV{HOOP_DEMO_PRELOAD} = delete $senv->{LD_PRELOAD} if $senv->{LD_PRELOAD};
$ENV{$_} = $senv->{$_} for keys %$senv;

my $out = `$repo/tools/hoop-demo start 2>&1`;
is($?, 0, 'hoop-demo start succeeds') or diag $out;
my ($cmd) = $out =~ /^\s+(PGPASSWORD=.* psql "host=.*)$/m;
ok($cmd, 'it prints a psql command to try');

# the printed commands are run as printed, from the repository
chdir $repo or die;
my $rows = `$cmd 2>&1`;
like($rows, qr/Ada Lovelace\s+\| ada\@example\.com/,
    'the printed psql command logs in with a dev token and reads the'
    . ' sample data through the gateway') or diag $rows;

(my $whoami = $cmd) =~ s/-c '[^']*'/-At -c 'SELECT current_user'/;
is(`$whoami 2>&1`, "app_rw\n",
    'the session runs as the gateway\'s own role, logged in with SCRAM');
(my $tls = $cmd) =~ s/-c '[^']*'/-c '\\conninfo'/;
like(`$tls 2>&1`, qr/SSL connection/, 'psql reaches the demo over TLS');
chomp(my $pw = `cat $ENV{HOOP_DEMO_DIR}/secrets/app_rw.pass`);
ok(length $pw >= 20 && index(`cat $ENV{HOOP_DEMO_DIR}/nginx.conf`, $pw) < 0,
    'whose password is in a file of its own, not in nginx.conf');

my $bad = `PGPASSWORD=not-a-token psql "host=127.0.0.1 port=$port{GW} dbname=app user=app" -c 'SELECT 1' 2>&1`;
like($bad, qr/access token refused/, 'without a token, no way in');

my ($curl) = $out =~ /^\s+(curl .*whoami)$/m;
my $who = `$curl 2>&1`;
like($who, qr/^\{"sub":"alice\@example\.com",.*"iss":"http:\/\/127\.0\.0\.1:$port{HTTP}"\}$/,
    'the printed curl command shows the identity the gateway verified')
    or diag $who;

# the /whoami request is an audit event in the demo's Redis
use Hoop::RESP;
# (and its connection's end: curl closes it)
my $types = sub {
    join ',', map { { @{ $_->[1] } }->{event} =~ /"type":"([^"]+)"/ }
        @{ Hoop::RESP->new("127.0.0.1:$port{REDIS}")
            ->command('XRANGE', 'hoop:audit', '-', '+') };
};
wait_until(sub { $types->() =~ /http\.session\.end/ },
    'the audit events of /whoami');
is($types->(), 'audit.checkpoint,http.request,http.session.end',
    'the demo audits /whoami into its Redis, after its first checkpoint');
my ($verify) = $out =~ /^\s+(tools\/hoop-audit verify .*)$/m;
ok($verify, 'the demo prints how to verify the trail');
my $v2 = `cd $repo && $verify 2>&1`;
like($v2, qr/^ok: 2 events in 1 sessions/,
    'and the trail verifies with the public key')
    or diag $v2;

# the printed /customers command: the sample data comes back masked
my ($curl_c) = $out =~ /^\s+(curl .*\/customers)$/m;
my $customers = `$curl_c 2>&1`;
like($customers, qr/"email":"a\*\*\*\@example\.com"/,
    'the printed /customers command shows masked data') or diag $customers;
unlike($customers, qr/ada\@|4111 1111 1111 1111/, 'nothing unmasked');

# the printed review commands: held, listed, approved, released
my ($held_cmd) = $out =~ /^\s+(curl .*\/deploy) &$/m;
my ($list_cmd) = $out =~ /^\s+(curl .*status=pending')$/m;
my ($approve_cmd) = $out =~ /^\s+(curl .*\/approve)$/m;
open(my $held, '-|', "$held_cmd 2>&1") or die "$held_cmd: $!";
my $id;
wait_until(sub { (`$list_cmd` =~ /"id":"([0-9a-f]{32})"/) and $id = $1 },
    'the held /deploy to be listed');
$approve_cmd =~ s/<id>/$id/;
like(`$approve_cmd 2>&1`, qr/"result":"approved"/,
    'the printed approve command approves it');
my $released = do { local $/; <$held> };
like($released, qr/"sub":"agent-7"/, 'and the held request goes through');

# the printed git clone command, then a push the demo's rules refuse
my ($clone) = $out =~ /^\s+(git clone .*)$/m;
ok($clone, 'the demo prints a git clone command');
my $wt = test_dir() . '/demo-clone';
$clone =~ s{/tmp/app$}{$wt};
{
    local $ENV{HOME} = test_dir();
    local $ENV{GIT_TERMINAL_PROMPT} = 0;
    my $c = `$clone 2>&1`;
    ok(-f "$wt/README.md", 'the printed git clone command clones through'
        . ' the gateway') or diag $c;
    my $del = `git -C $wt push origin :main 2>&1`;
    like($del, qr/\[remote rejected\] main \(hoop: main is protected/,
        'and deleting main is refused as git shows it') or diag $del;
}

# the printed kubectl commands: an exec in staging, a secret in prod
my ($exec) = $out =~ /^\s+(kubectl .* exec web -- .*)$/m;
my ($secret) = $out =~ /^\s+(kubectl .* get secret db)$/m;
ok($exec && $secret, 'the demo prints kubectl commands');
SKIP: {
    skip 'no kubectl on this machine', 2
        unless `sh -c "command -v kubectl"` =~ /\S/;
    local $ENV{HOME} = test_dir();
    my $said = `$exec 2>&1`;
    like($said, qr/^hello from the pod$/m,
        'the printed kubectl exec runs through the gateway') or diag $said;
    $said = `$secret 2>&1`;
    like($said, qr/\(Forbidden\): hoop: secrets in prod are off limits/,
        'and reading a secret in prod is refused') or diag $said;
}

my $token = `$repo/tools/hoop-token --sub alice --groups dba`;
chomp $token;
my $v = `node $repo/t/node/jwt-verify.mjs http://127.0.0.1:$port{HTTP}/.well-known/jwks.json '$token' http://127.0.0.1:$port{HTTP} hoop-gateway 2>&1`;
is($?, 0, 'hoop-token mints a token the demo JWKS verifies') or diag $v;
like($v, qr/"groups":\["dba"\]/, 'with the groups asked for');

$out = `$repo/tools/hoop-demo start 2>&1`;
is($?, 0, 'starting again while running is harmless') or diag $out;

$out = `$repo/tools/hoop-demo stop 2>&1`;
is($?, 0, 'hoop-demo stop succeeds');
ok(!port_open($port{$_}), "$_ port closed after stop") for sort keys %port;
my @reports = sanitizer_reports($san);
ok(!@reports, 'no sanitizer reports from the demo\'s nginx')
    or diag join "\n", @reports[0 .. ($#reports > 40 ? 40 : $#reports)];

done_testing;

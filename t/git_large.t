# A push of more than 100 MB through hoop_git: git sends it in chunks
# after its probe (beyond http.postBuffer), the gateway reads all of it
# (its update requests, its pack inflated, every file scanned for secrets)
# from nginx's temporary file, the worker's memory stays bounded, and the
# server receives it whole.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use Hoop::JWT;
use Hoop::Test qw(test_dir spawn spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Redis;
use Hoop::Test::GitServer;

my $d = test_dir('git_large');
my $redis = Hoop::Test::Redis->new->start;
my $t = Hoop::Test::Nginx->new(workers => 1);
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));

local $ENV{GIT_TERMINAL_PROMPT} = 0;
local $ENV{GIT_CONFIG_NOSYSTEM} = 1;
local $ENV{HOME} = $d;
sub git { my $out = `git @_ 2>&1`; return ($? >> 8, $out) }

my $srv = Hoop::Test::GitServer->new(dir => $d)->start;
$srv->repo('repo.git');
git("init -q -b main $d/work");
git("-C $d/work config user.name a");
git("-C $d/work config user.email a\@example.com");
spit("$d/work/README", "hello\n");
git("-C $d/work add README");
git("-C $d/work commit -q -m one");
git("-C $d/work push -q $d/repo.git main");


$t->run(<<"EOF2");
http {
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_oidc_issuer    https://idp.test;
    hoop_oidc_audience  hoop-gateway;
    hoop_oidc_jwks_file $d/jwks.json;
    hoop_audit_stream   hoop:audit;

    server {
        listen 127.0.0.1:%%PORT_http%%;
        client_max_body_size 0;
        hoop_audit on;

        location ~ ^/git(/.*)\$ {
            hoop_auth on;
            hoop_auth_realm git;
            hoop_git on;
            hoop_rule deny ref=refs/heads/main action=delete,force
                "reason=main is protected";
            hoop_default allow;
${\ $srv->backend }        }
    }
}
EOF2
$t->wait_redis(1);
my $port = $t->port('http');
my $tok = $key->mint(claims => { iss => 'https://idp.test',
    aud => 'hoop-gateway', sub => 'agent-7', exp => time + 600 });
git("-C $d/work remote add gw http://x:$tok\@127.0.0.1:$port/git/repo.git");

# 110 MB that does not compress, in two files
system("head -c 60000000 /dev/urandom > $d/work/a.bin") == 0 or die;
system("head -c 50000000 /dev/urandom > $d/work/b.bin") == 0 or die;
git("-C $d/work add a.bin b.bin");
git("-C $d/work commit -q -m large");

my ($worker) = map { /(\d+)/ } `ps -o pid= --ppid ${\ $t->pid }`;
sub hwm {
    open my $fh, '<', "/proc/$_[0]/status" or return 0;
    my ($kb) = join('', <$fh>) =~ /VmHWM:\s+(\d+)/;
    return $kb // 0;
}
my $before = hwm($worker);
ok($before > 0, 'the worker\'s peak memory before the push');

my ($rc, $out) = git("-C $d/work push gw main");
is($rc, 0, 'a 110 MB push through the gateway (chunked, after the probe)')
    or diag $out;
chomp(my $local = `git -C $d/work rev-parse main`);
chomp(my $remote = `git -C $d/repo.git rev-parse main`);
is($remote, $local, 'the server has it');
my $grew = hwm($worker) - $before;
cmp_ok($grew, '<', 32 * 1024,
    "the worker's peak memory grew by less than 32 MB ($grew kB)");

# rewriting it: refused as a possible force push, read just the same
git("-C $d/work commit -q --amend -m rewritten");
($rc, $out) = git("-C $d/work push -f gw main");
like($out, qr/\[remote rejected\] main -> main \(hoop: main is protected/,
    'a force push of it is refused') or diag $out;

$t->stop;
my @push = grep { $_->{type} eq 'git.push' } $redis->events('hoop:audit');
my ($big) = grep { ($_->{git}{pack}{bytes} // 0) > 100_000_000
    && $_->{decision}{result} eq 'allow' } @push;
ok($big, 'the push is recorded with its pack read whole')
    or diag explain [map { $_->{git} } @push];
ok(!defined $big->{git}{pack}{unread}, 'to its end');
is($big->{git}{refs}[0]{fast_forward}, JSON::PP::true(),
    'proven a fast-forward');
cmp_ok($big->{git}{secrets}{scanned}, '>=', 2, 'both its files scanned');
is($big->{git}{secrets}{found}, 0, 'nothing found');

done_testing;

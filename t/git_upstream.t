# hoop_upstream_credentials: in front of a git server that wants its own
# credentials (an nginx with auth_basic before git http-backend, as a
# hosted server would), the gateway logs in with the credential from its
# root-only file; the agent's token never reaches the server, and a
# request the rules refuse never carries the credential.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use Hoop::JWT;
use Hoop::Test qw(test_dir spawn spit slurp wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::GitServer;

my $d = test_dir('git_upstream');
my $t = Hoop::Test::Nginx->new(workers => 1);
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));

local $ENV{GIT_TERMINAL_PROMPT} = 0;
local $ENV{GIT_CONFIG_NOSYSTEM} = 1;
local $ENV{HOME} = $d;
sub git { my $out = `git @_ 2>&1`; return ($? >> 8, $out) }

my $srv = Hoop::Test::GitServer->new(dir => $d)->start;
$srv->repo('repo.git');
git("init -q -b main $d/seed");
spit("$d/seed/README", "hello\n");
git("-C $d/seed add README");
git("-C $d/seed -c user.name=a -c user.email=a\@example.com commit -q -m one");
git("-C $d/seed push -q $d/repo.git main");


# the server's own account, and the gateway's copy of it
my $hash = `openssl passwd -apr1 s3rv1ce-pass`;
chomp $hash;
spit("$d/htpasswd", "gitsvc:$hash\n");
spit("$d/git.cred", "gitsvc:s3rv1ce-pass\n");
chmod 0600, "$d/git.cred";

$t->run(<<"EOF2");
http {
    hoop_oidc_issuer    https://idp.test;
    hoop_oidc_audience  hoop-gateway;
    hoop_oidc_jwks_file $d/jwks.json;
    log_format upstream '\$remote_user \$http_authorization \$http_proxy_authorization';

    server {
        listen 127.0.0.1:%%PORT_http%%;
        client_max_body_size 0;

        location /git/ {
            hoop_auth on;
            hoop_auth_realm git;
            hoop_git on;
            hoop_rule deny ref=refs/heads/main action=delete
                "reason=main is protected";
            hoop_rule deny sub=intruder "reason=not you";
            hoop_rule deny name=tags ref=refs/tags/* "reason=no tags here";
            hoop_default allow;
            hoop_upstream_credentials basic $d/git.cred;
            proxy_pass http://127.0.0.1:%%PORT_server%%;
        }
    }

    # stands in for a hosted git server with accounts of its own
    server {
        listen 127.0.0.1:%%PORT_server%%;
        client_max_body_size 0;
        access_log $d/server.log upstream;

        location ~ ^/git(/.*)\$ {
            auth_basic git;
            auth_basic_user_file $d/htpasswd;
${\ $srv->backend(user => '$remote_user') }        }
    }
}
EOF2
my $port = $t->port('http');
my $server = $t->port('server');

sub token {
    my ($sub) = @_;
    return $key->mint(claims => { iss => 'https://idp.test',
        aud => 'hoop-gateway', sub => $sub, exp => time + 600 });
}
my $tok = token('agent-7');

my ($rc, $out) = git("clone -q http://127.0.0.1:$server/git/repo.git $d/direct");
isnt($rc, 0, 'the server refuses a clone without its credentials');

($rc, $out) = git("clone -q http://x:$tok\@127.0.0.1:$port/git/repo.git $d/work");
is($rc, 0, 'through the gateway, the agent clones with its token')
    or diag $out;

spit("$d/work/NEW", "new\n");
git("-C $d/work add NEW");
git("-C $d/work -c user.name=a -c user.email=a\@example.com commit -q -m new");
($rc, $out) = git("-C $d/work push -q origin main");
is($rc, 0, 'and pushes, the server seeing the gateway\'s account')
    or diag $out;
($rc, $out) = git("-C $d/work push origin :main");
like($out, qr/\[remote rejected\] main \(hoop: main is protected/,
    'the rules still decide the refs') or diag $out;

# many refused refs at once: one report, each ref on its line
{
    use MIME::Base64 qw(encode_base64);
    sub pkt { sprintf('%04x', 4 + length $_[0]) . $_[0] }
    chomp(my $head = `git -C $d/repo.git rev-parse main`);
    my $body = pkt(('0' x 40) . " $head refs/tags/t0\0report-status"
        . ' side-band-64k') . join('', map { pkt(('0' x 40)
        . " $head refs/tags/" . ('t' x 100) . $_) } 1 .. 511) . '0000';
    my $res = HTTP::Tiny->new->request('POST',
        "http://127.0.0.1:$port/git/repo.git/git-receive-pack", {
        headers => { Authorization => 'Basic ' . encode_base64("x:$tok", ''),
            'Content-Type' => 'application/x-git-receive-pack-request' },
        content => $body });
    is($res->{status}, 200, '512 refused tags: one answer');
    my ($ng, $bad) = (0, 0);
    # the side-band stream: pkt-lines, each within git's limit
    my $c = $res->{content};
    my $report = '';
    while (length $c >= 4) {
        my $n = hex substr($c, 0, 4);
        last if $n == 0;
        $bad++ if $n < 5 || $n > 65520;
        $report .= substr($c, 5, $n - 5) if substr($c, 4, 1) eq "\1";
        substr($c, 0, $n) = '';
    }
    $ng++ while $report =~ /ng refs\/tags\/\S+ hoop: no tags here/g;
    is($bad, 0, 'in pkt-lines git can read');
    is($ng, 512, "every ref told why") or diag substr($report, 0, 300);
}

# the agent's token in Proxy-Authorization does not go upstream either
HTTP::Tiny->new->get("http://127.0.0.1:$port/git/repo.git/info/refs"
    . '?service=git-upload-pack', { headers => {
        Authorization => "Bearer $tok",
        'Proxy-Authorization' => "Bearer $tok" } });

my $r = HTTP::Tiny->new->get("http://127.0.0.1:$port/git/repo.git/info/refs"
    . '?service=git-upload-pack', { headers => {
        Authorization => 'Bearer ' . token('intruder') } });
is($r->{status}, 403, 'a request the rules refuse');

$t->stop;
my $log = slurp("$d/server.log");
my @users = map { (split / /)[0] } split /\n/, $log;
ok(@users >= 4, 'the server saw the requests');
is_deeply([grep { $_ ne 'gitsvc' } grep { $_ ne '-' } @users], [],
    'each as the gateway\'s account');
unlike($log, qr/\Q$tok\E|Bearer/, 'never with the agent\'s token');
unlike($t->error_log . $log, qr/s3rv1ce-pass/, 'the password in no log');

done_testing;

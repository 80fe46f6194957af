# Real git through hoop_auth in front of git http-backend: git learns from
# the 401's Basic challenge to send credentials, and an access token as the
# password (from the URL or a credential helper) clones and pushes; without
# a token, or with a refused one, git reports an authentication failure.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use Hoop::JWT;
use Hoop::Test qw(test_dir spawn spit wait_until);
use Hoop::Test::Nginx;

my $d = test_dir('git');
my $t = Hoop::Test::Nginx->new(workers => 1);
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit($t->dir . '/jwks.json', Hoop::JWT->jwks_json($key));

# a bare repository with one commit on main
sub git { my $out = `git @_ 2>&1`; return ($? >> 8, $out) }
local $ENV{GIT_TERMINAL_PROMPT} = 0;
local $ENV{GIT_CONFIG_NOSYSTEM} = 1;
local $ENV{HOME} = $d;
git("init -q --bare -b main $d/repo.git");
git("-C $d/repo.git config http.receivepack true");
git("init -q -b main $d/seed");
spit("$d/seed/README", "hello\n");
git("-C $d/seed -c user.name=seed -c user.email=seed\@example.com"
    . " commit -q --allow-empty -m seed");
git("-C $d/seed add README");
git("-C $d/seed -c user.name=seed -c user.email=seed\@example.com"
    . " commit -q -m readme");
my ($rc, $out) = git("-C $d/seed push -q $d/repo.git main");
is($rc, 0, 'the test repository is seeded') or diag $out;

unlink "$d/fcgiwrap.sock";
spawn(cmd => ['fcgiwrap', '-c', '2', '-s', "unix:$d/fcgiwrap.sock"],
    log => "$d/fcgiwrap.log");
wait_until(sub { -S "$d/fcgiwrap.sock" }, 'fcgiwrap to listen');
chmod 0777, "$d/fcgiwrap.sock";

$t->run(<<"EOF");
http {
    hoop_oidc_issuer    https://idp.test;
    hoop_oidc_audience  hoop-gateway;
    hoop_oidc_jwks_file %%DIR%%/jwks.json;

    server {
        listen 127.0.0.1:%%PORT_http%%;
        client_max_body_size 0;

        location ~ ^/git(/.*)\$ {
            hoop_auth on;
            hoop_auth_realm git;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME /usr/lib/git-core/git-http-backend;
            fastcgi_param GIT_PROJECT_ROOT $d;
            fastcgi_param GIT_HTTP_EXPORT_ALL "";
            fastcgi_param PATH_INFO \$1;
            fastcgi_param REMOTE_USER \$hoop_sub;
            fastcgi_param GIT_PROTOCOL \$http_git_protocol;
            fastcgi_pass unix:$d/fcgiwrap.sock;
        }
    }
}
EOF
my $port = $t->port('http');

my $now = time;
my $token = $key->mint(header => { typ => 'at+jwt' }, claims => {
    iss => 'https://idp.test', aud => 'hoop-gateway', sub => 'agent-7',
    exp => $now + 600 });
my $expired = $key->mint(claims => { iss => 'https://idp.test',
    aud => 'hoop-gateway', sub => 'agent-7', exp => $now - 600 });

($rc, $out) = git("clone -q http://127.0.0.1:$port/git/repo.git $d/anon");
isnt($rc, 0, 'git clone without credentials fails');
like($out, qr/could not read Username|Authentication failed/,
    'git asks for credentials: it read the Basic challenge') or diag $out;

($rc, $out) = git("clone -q http://x-token:$token\@127.0.0.1:$port/git/repo.git"
    . " $d/viaurl");
is($rc, 0, 'git clone with the token as the password in the URL') or diag $out;
ok(-f "$d/viaurl/README", 'and the files arrive');

my $helper = "!f() { echo username=x-token; echo password=$token; }; f";
($rc, $out) = git("-c credential.helper='$helper' clone -q"
    . " http://127.0.0.1:$port/git/repo.git $d/viahelper");
is($rc, 0, 'git clone with a credential helper handing out the token')
    or diag $out;

spit("$d/viahelper/NEW", "pushed\n");
git("-C $d/viahelper add NEW");
git("-C $d/viahelper -c user.name=a -c user.email=a\@example.com commit -q"
    . " -m push");
($rc, $out) = git("-C $d/viahelper -c credential.helper='$helper' push -q"
    . " origin main");
is($rc, 0, 'git push through the gateway with the token') or diag $out;
($rc, $out) = git("-C $d/repo.git log --format=%s -1 main");
is($out, "push\n", 'the push reached the repository');

($rc, $out) = git("clone -q http://x-token:$expired\@127.0.0.1:$port/git/repo.git"
    . " $d/expired");
isnt($rc, 0, 'an expired token: git clone fails');
like($out, qr/Authentication failed/, 'with an authentication failure')
    or diag $out;

$t->stop;
like($t->error_log, qr/hoop_auth: Basic token refused: token expired/,
    'the refusal is logged');
my $sig = (split /\./, $token)[2];
(my $log = $t->error_log) =~ s/^.*\[debug\].*\n//mg;
unlike($log, qr/\Q$sig\E/, 'the token is not');

done_testing;

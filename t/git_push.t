# hoop_git: real git (2.39) through the gateway to git http-backend.  A
# push's ref updates are each decided by the rules (ref, action, repo,
# service, identity): a refused one is answered as receive-pack answers,
# so git prints "! [remote rejected] main (reason)", and no ref of that
# push is updated; a tag push is held for review, approved or rejected
# from another gateway; a push the gateway cannot read is refused whole.
# Every push and fetch is a git.push / git.fetch event with its refs.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use Hoop::JWT;
use Hoop::Test qw(test_dir spawn spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Redis;
use Hoop::Test::GitServer;

my $d = test_dir('git_push');
my $redis = Hoop::Test::Redis->new->start;
my $gw = Hoop::Test::Nginx->new(workers => 1);
my $api = Hoop::Test::Nginx->new;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));

local $ENV{GIT_TERMINAL_PROMPT} = 0;
local $ENV{GIT_CONFIG_NOSYSTEM} = 1;
local $ENV{HOME} = $d;
local $ENV{LC_ALL} = 'C';

sub git { my $out = `git @_ 2>&1`; return ($? >> 8, $out) }
sub commit {
    my ($dir, $file, $text) = @_;
    spit("$dir/$file", $text);
    git("-C $dir add $file");
    git("-C $dir -c user.name=a -c user.email=a\@example.com commit -q"
        . " -m '$file'");
}

# the server's repository: main with two commits
my $srv = Hoop::Test::GitServer->new(dir => $d)->start;
$srv->repo('repo.git');
$srv->repo('private.git', SECRET => "top secret\n");
git("init -q -b main $d/seed");
commit("$d/seed", 'README', "hello\n");
commit("$d/seed", 'NOTES', "notes\n");
my ($rc, $out) = git("-C $d/seed push -q $d/repo.git main");
is($rc, 0, 'the server repository is seeded') or diag $out;

sub server_ref {
    my ($ref) = @_;
    my ($rc, $out) = git("-C $d/repo.git rev-parse -q --verify $ref");
    chomp $out;
    return $rc == 0 ? $out : undef;
}


my $common = <<"EOF";
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file $d/jwks.json;
    hoop_audit_stream hoop:audit;
EOF

$gw->run(<<"EOF");
http {
$common
    server {
        listen 127.0.0.1:%%PORT_http%%;
        client_max_body_size 0;
        hoop_audit on;

        location ~ ^/git(/.*)\$ {
            hoop_auth on;
            hoop_auth_realm git;
            hoop_git on;

            hoop_rule deny name=private repo=/git/private.git
                "reason=a private repository";
            hoop_rule deny name=protect-main ref=refs/heads/main
                action=delete "reason=main is protected";
            hoop_rule deny name=frozen ref=refs/heads/stable action=force
                "reason=stable only moves forward";
            hoop_rule review name=releases ref=refs/tags/* approvers=maint;
            hoop_rule deny name=readers groups=readers service=receive-pack
                "reason=read-only access";
            hoop_rule allow name=devs groups=dev,readers;
            hoop_default deny;

${\ $srv->backend }        }

        # push protection that asks a human instead
        location ~ ^/sec(/.*)\$ {
            hoop_auth on;
            hoop_auth_realm git;
            hoop_git on;
            hoop_git_secrets review approvers=maint types=aws_key;

${\ $srv->backend }        }
    }
}
EOF
$gw->wait_redis(3);

$api->run(<<"EOF");
http {
$common
    server {
        listen 127.0.0.1:%%PORT_http%%;
        location /hoop/ {
            hoop_auth on;
            hoop_audit on;
            hoop_review_api;
        }
    }
}
EOF
$api->wait_redis(3);

my $port = $gw->port('http');
my $api_base = 'http://127.0.0.1:' . $api->port('http') . '/hoop/reviews';

sub token {
    my ($sub, @groups) = @_;
    return $key->mint(claims => { iss => 'https://idp.test',
        aud => 'hoop-gateway', sub => $sub, groups => \@groups,
        exp => time + 600 });
}

my %tok = (dev => token('agent-7', 'dev'), reader => token('ro-1', 'readers'),
    maint => token('maint-1', 'maint'));

sub url { "http://x-token:$tok{$_[0]}\@127.0.0.1:$port/git/repo.git" }

# a clone, and what the fetch recorded
($rc, $out) = git("clone -q " . url('dev') . " $d/work");
is($rc, 0, 'git clone through the gateway') or diag $out;
ok(-f "$d/work/NOTES", 'with the files');
git("-C $d/work config user.name a");
git("-C $d/work config user.email a\@example.com");

($rc, $out) = git("clone -q " . url('reader') . " $d/ro");
is($rc, 0, 'a reader clones too') or diag $out;

# a repository a rule denies, however it is spelled: git http-backend
# finds "private.git" for "private" too; a newline a regex location's
# "$" drops; the dumb protocol's files are not served at all

(my $base = url('dev')) =~ s{/repo\.git$}{};
for my $spelling ('private.git', 'private', 'private/', 'PRIVATE.git',
    'private.git/.git', 'private/.git')
{
    (my $dir = "$d/leak-$spelling") =~ s{/+$}{};
    $dir =~ s{/\.git$}{-dotgit};
    ($rc, $out) = git("clone -q $base/$spelling $dir");
    isnt($rc, 0, "no clone of /git/$spelling");
    like($out, qr/remote: hoop: a private repository \(rule "private"\)|not found|repository .* not found/i,
        '  refused by the rule (or not a repository)') or diag $out;
}
ok(!(grep { -e "$_/SECRET" } glob("$d/leak-*")), 'nothing of it was cloned');
{
    my $h = { Authorization => 'Basic ' . encode_base64("x:$tok{dev}", '') };
    my $get = sub { HTTP::Tiny->new->get("http://127.0.0.1:$port$_[0]",
        { headers => $h }) };
    my $res = $get->('/git/private.git/info/refs%0A?service=git-upload-pack');
    is($res->{status}, 403, 'a discovery with a trailing newline: refused');
    $res = $get->('/git/repo.git/HEAD');
    is($res->{status}, 403, 'the dumb protocol\'s HEAD: refused');
    like($res->{content}, qr/dumb HTTP protocol is not served here/,
        '  saying why');
    $res = $get->('/git/repo.git/objects/info/packs');
    is($res->{status}, 403, 'its pack list: refused');
    $res = $get->('/git/repo.git/info/refs');
    is($res->{status}, 403, 'info/refs without a service: refused');
}

# a new branch, and an update of main: allowed

git("-C $d/work checkout -q -b feature/x");
commit("$d/work", 'X', "x\n");
($rc, $out) = git("-C $d/work push -q origin feature/x");
is($rc, 0, 'a new branch is pushed') or diag $out;
is(server_ref('refs/heads/feature/x'), `git -C $d/work rev-parse HEAD` =~ s/\n//r,
    'and is on the server');

git("-C $d/work checkout -q main");
commit("$d/work", 'MAIN', "m\n");
($rc, $out) = git("-C $d/work push -q origin main");
is($rc, 0, 'main moves forward: allowed') or diag $out;

# deleting main: refused as git shows it, nothing updated

my $main = server_ref('refs/heads/main');
($rc, $out) = git("-C $d/work push origin :main");
isnt($rc, 0, 'deleting main fails');
like($out, qr/^ ! \[remote rejected\] main \(hoop: main is protected \(rule "protect-main"\)\)$/m,
    'git prints the rule and its reason for the ref') or diag $out;
like($out, qr/^remote: hoop: refs\/heads\/main: main is protected \(rule "protect-main"\)\s*$/m,
    'and the refusal as remote progress') or diag $out;
is(server_ref('refs/heads/main'), $main, 'main is still there');

# two refs, one refused: neither is updated

git("-C $d/work checkout -q -b feature/y");
commit("$d/work", 'Y', "y\n");
($rc, $out) = git("-C $d/work push origin feature/y :main");
isnt($rc, 0, 'a push with one refused ref fails');
like($out, qr/^ ! \[remote rejected\] feature\/y -> feature\/y \(hoop: not updated: the push was refused\)$/m,
    'the allowed ref is rejected too, saying why') or diag $out;
like($out, qr/remote: hoop: no ref was updated/, 'git is told no ref moved')
    or diag $out;
is(server_ref('refs/heads/feature/y'), undef,
    'the server has neither: the push is all or nothing');

# stable only moves forward: the pack proves a fast-forward, or it is a
# possible force push

git("-C $d/work checkout -q main");
git("-C $d/work push -q origin main:refs/heads/stable");
ok(defined server_ref('refs/heads/stable'), 'stable is created');
commit("$d/work", 'FF1', "1\n");
commit("$d/work", 'FF2', "2\n");
($rc, $out) = git("-C $d/work push origin main:stable");
is($rc, 0, 'stable moves forward two commits: proven, allowed') or diag $out;
my $stable = server_ref('refs/heads/stable');
($rc, $out) = git("-C $d/work push origin +feature/x:stable");
isnt($rc, 0, 'a force push to stable fails');
like($out, qr/\[remote rejected\] feature\/x -> stable \(hoop: stable only moves forward/,
    'refused by the rule on force pushes') or diag $out;
is(server_ref('refs/heads/stable'), $stable, 'stable did not move');
git("-C $d/work checkout -q -b rewrite main");
git("-C $d/work -c user.name=a -c user.email=a\@example.com commit -q"
    . " --amend -m rewritten");
($rc, $out) = git("-C $d/work push origin +rewrite:stable");
isnt($rc, 0, 'an amended tip pushed over stable: refused too');
git("-C $d/work checkout -q main");

# a reader cannot push at all

git("-C $d/ro checkout -q -b ro/z");
commit("$d/ro", 'Z', "z\n");
($rc, $out) = git("-C $d/ro push " . url('reader') . " ro/z");
isnt($rc, 0, 'a reader cannot push');
like($out, qr/^remote: hoop: read-only access \(rule "readers"\)$/m,
    'and is told why, before git sends anything') or diag $out;

# a large push (beyond http.postBuffer: a probe, then a chunked body)

open my $rnd, '<', '/dev/urandom' or die;
read $rnd, my $blob, 3 * 1024 * 1024;
close $rnd;
git("-C $d/work checkout -q -b big");
spit("$d/work/blob.bin", $blob);
git("-C $d/work add blob.bin");
git("-C $d/work commit -q -m blob");
($rc, $out) = git("-C $d/work -c http.postBuffer=65536 push -q origin big");
is($rc, 0, 'a 3 MB push in chunks, after the probe') or diag $out;
ok(defined server_ref('refs/heads/big'), 'arrives');

# the ref is read as git reads it: MAIN is main on a server that folds case

sub raw_push {
    my ($who, $body, $path, %h) = @_;
    $path //= '/git/repo.git/git-receive-pack';
    my $r = HTTP::Tiny->new->request('POST', "http://127.0.0.1:$port$path", {
        headers => {
            Authorization => 'Basic ' . encode_base64("x:$tok{$who}", ''),
            'Content-Type' => 'application/x-git-receive-pack-request', %h },
        content => $body });
    return $r;
}
sub pkt { sprintf('%04x', 4 + length $_[0]) . $_[0] }

my $zero = '0' x 40;
my $r = raw_push('dev', pkt("$main $zero refs/heads/MAIN\0report-status")
    . '0000');
is($r->{status}, 200, 'a raw delete of MAIN: answered as receive-pack');
like($r->{content}, qr/ng refs\/heads\/MAIN hoop: main is protected/,
    'refused by the rule on main (either case, for a deny)')
    or diag $r->{content};

# a discovery asking for both services is a push's
$r = HTTP::Tiny->new->get("http://127.0.0.1:$port/git/repo.git/info/refs"
    . '?service=git-upload-pack&%73ervice=git-receive-pack', { headers => {
        Authorization => 'Basic ' . encode_base64("x:$tok{reader}", '') } });
is($r->{status}, 403, 'a reader asking for receive-pack among services:'
    . ' refused');

# the same push, rephrased: it is still a push

my $delete = pkt("$main $zero refs/heads/main\0report-status") . '0000';
for my $path ('/git/repo.git/GIT-RECEIVE-PACK/', '/git/repo.git/x/..;p/'
    . 'git-receive-pack', '/git/repo.git/elsewhere')
{
    $r = raw_push('dev', $delete, $path);
    like($r->{content}, qr/ng refs\/heads\/main hoop: main is protected/,
        "a push sent to $path is read as one") or diag $r->{content};
}
$r = raw_push('dev', $delete, '/git/repo.git/git-receive-pack',
    'Content-Type' => 'application/x-git-upload-pack-request');
like($r->{content}, qr/ng refs\/heads\/main hoop: main is protected/,
    'and one typed as a fetch') or diag $r->{content};
$r = raw_push('dev', $delete, '/git/repo.git/info/refs');
like($r->{content}, qr/ng refs\/heads\/main hoop: main is protected/,
    'or POSTed to info/refs') or diag $r->{content};

{
    require IO::Compress::Gzip;
    IO::Compress::Gzip::gzip(\$delete => \my $gz) or die;
    $r = raw_push('dev', $gz, undef, 'Content-Encoding' => 'gzip');
    like($r->{content}, qr/unpack hoop refused the push/,
        'a gzip body (http-backend inflates one) is not read: refused')
        or diag $r->{content};
    is(server_ref('refs/heads/main'), $main, 'main is still there');
}

# packs built by hand: a commit whose parent line comes after its author
# (git reads no parent there: not a fast-forward), a pack the gateway
# cannot read, a compression bomb: each refused, none reaches the server

use Compress::Zlib qw(compress);
sub pack_of {
    my @objs = @_;
    my $p = 'PACK' . pack('NN', 2, scalar @objs);
    for my $o (@objs) {
        my ($type, $data) = @$o;
        my $len = length $data;
        my @h = (($type << 4) | ($len & 15));
        $len >>= 4;
        while ($len) { $h[-1] |= 0x80; push @h, $len & 0x7f; $len >>= 7 }
        $p .= pack('C*', @h) . compress($data);
    }
    return $p . sha1($p);
}
use Digest::SHA qw(sha1 sha1_hex);
my $late = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
    . "author M <m\@example.com> 1 +0000\n"
    . "committer M <m\@example.com> 1 +0000\n"
    . "parent $main\n\nnot a child\n";
my $late_id = sha1_hex("commit " . length($late) . "\0" . $late);
$r = raw_push('dev', pkt("$main $late_id refs/heads/stable\0report-status")
    . '0000' . pack_of([1, $late]));
like($r->{content}, qr/ng refs\/heads\/stable hoop: stable only moves forward/,
    'a parent line out of place proves no fast-forward') or diag $r->{content};
$r = raw_push('dev', pkt("$main $late_id refs/heads/new1\0report-status")
    . '0000' . 'PACK' . pack('NN', 2, 1) . "\xb8" . ("\x80" x 8) . "\x00");
like($r->{content}, qr/unpack hoop refused the push/,
    'a pack the gateway cannot read: refused, not let through unscanned')
    or diag $r->{content};
$r = raw_push('dev', pkt("$main $late_id refs/heads/new2\0report-status")
    . '0000' . pack_of([3, "\0" x (80 * 1024 * 1024)]));
like($r->{content}, qr/unpack hoop refused the push/,
    'a compression bomb: refused') or diag $r->{content};
ok(!defined server_ref('refs/heads/new1') && !defined server_ref('refs/heads/new2'),
    'none reaches the server');

$r = raw_push('dev', pkt("push-cert\0report-status") . pkt("certificate\n")
    . '0000');
like($r->{content}, qr/unpack hoop refused the push/,
    'a signed push is not read: refused whole') or diag $r->{content};
$r = raw_push('dev', pkt("$main $zero refs/heads/a..b\0report-status")
    . '0000');
like($r->{content}, qr/unpack hoop refused the push/,
    'nor one naming a ref git would refuse') or diag $r->{content};

# a tag: held for review, approved and rejected on the other gateway

my $http = HTTP::Tiny->new;
sub api {
    my ($method, $path, $who, $body) = @_;
    my $r = $http->request($method, "$api_base$path", {
        headers => { Authorization => "Bearer $tok{$who}",
                     'Content-Type' => 'application/json' },
        defined $body ? (content => encode_json($body)) : () });
    return ($r->{status}, eval { decode_json($r->{content}) });
}
sub pending_push {
    my ($ref) = @_;
    my $review;
    wait_until(sub {
        my ($st, $list) = api('GET', '?status=pending', 'maint');
        ($review) = grep { ($_->{operation}{kind} // '') eq 'git.push'
            && $_->{operation}{git}{refs}[0]{ref} eq $ref } @{ $list // [] };
        $review;
    }, "a pending review of a push of $ref");
    return $review;
}
sub push_bg {
    my ($args) = @_;
    open(my $p, '-|', "git -C $d/work push $args 2>&1") or die "git: $!";
    return $p;
}
sub finish { my ($p) = @_; my $o = do { local $/; <$p> }; close $p;
    return ($? >> 8, $o) }

git("-C $d/work tag v1.0 main");
my $p = push_bg('origin v1.0');
my $review = pending_push('refs/tags/v1.0');
is($review->{operation}{git}{repo}, '/git/repo.git',
    'the reviewer sees the repository');
is($review->{operation}{git}{refs}[0]{action}, 'tag', 'and what the push does');
is($review->{requester}, 'agent-7', 'and who pushes');
ok(!defined server_ref('refs/tags/v1.0'), 'held: the server has no tag yet');
my ($st) = api('POST', "/$review->{id}/approve", 'maint');
is($st, 200, 'a maintainer approves');
($rc, $out) = finish($p);
is($rc, 0, 'the held push completes') or diag $out;
like($out, qr/^remote: hoop: push held for review $review->{id} \(rule "releases"\)\s*$/m,
    'git showed the review it waited for') or diag $out;
like($out, qr/^remote: hoop: waiting for 1 approval from maint; Ctrl-C cancels it\s*$/m,
    'and who can approve it') or diag $out;
like($out, qr/^ \* \[new tag\]\s+v1\.0 -> v1\.0$/m,
    'then the server\'s own report') or diag $out;
ok(defined server_ref('refs/tags/v1.0'), 'the tag is on the server');

git("-C $d/work tag v1.1 main");
$p = push_bg('origin v1.1');
$review = pending_push('refs/tags/v1.1');
api('POST', "/$review->{id}/reject", 'maint',
    { reason => "not this one\n ! [remote rejected] fake" });
($rc, $out) = finish($p);
isnt($rc, 0, 'a rejected push fails');
like($out, qr/\[remote rejected\] v1\.1 -> v1\.1 \(hoop: review [0-9a-f]{32} rejected by maint-1: not this one\? ! \[remote rejected\] fake\)/,
    'git shows who rejected it and why, on one line') or diag $out;
ok(!defined server_ref('refs/tags/v1.1'), 'no tag on the server');

# a held push, by hand: the response starts at once, git's keep-alive
# follows every 5 s, the refusal is the rest of that same response; a
# client that leaves cancels its review

use IO::Socket::INET;
use Digest::SHA qw(sha1);
sub held_raw {
    my ($tag) = @_;
    my $packhdr = "PACK\0\0\0\2\0\0\0\0";
    my $body = pkt("$zero $main refs/tags/$tag\0report-status side-band-64k")
        . '0000' . $packhdr . sha1($packhdr);
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or die;
    print $s "POST /git/repo.git/git-receive-pack HTTP/1.1\r\nHost: gw\r\n"
        . 'Authorization: Basic ' . encode_base64("x:$tok{dev}", '') . "\r\n"
        . "Content-Type: application/x-git-receive-pack-request\r\n"
        . 'Content-Length: ' . length($body) . "\r\n\r\n" . $body;
    return $s;
}
sub read_until {
    my ($s, $re, $secs) = @_;
    my $got = '';
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm $secs;
    eval { while ($got !~ $re) { sysread($s, $got, 4096, length $got) or last } };
    alarm 0;
    return $got;
}

my $s = held_raw('raw1');
my $got = read_until($s, qr/Ctrl-C cancels it\n/, 10);
like($got, qr{^HTTP/1\.1 200 OK\r\n.*Content-Type: application/x-git-receive-pack-result\r\n}s,
    'a held push is answered 200 at once');
like($got, qr/\x02hoop: push held for review [0-9a-f]{32}/,
    'with the review in side-band 2');
$got = read_until($s, qr/0005\x01/, 10);
like($got, qr/^0005\x01$/, 'then git\'s keep-alive, while it waits');
$review = pending_push('refs/tags/raw1');
api('POST', "/$review->{id}/reject", 'maint', { reason => 'no' });
$got = read_until($s, qr/0000\z/, 10);
like($got, qr/ng refs\/tags\/raw1 hoop: review [0-9a-f]{32} rejected by maint-1: no/,
    'the rejection follows in the same response');
close $s;

$s = held_raw('raw2');
read_until($s, qr/Ctrl-C cancels it\n/, 10);
$review = pending_push('refs/tags/raw2');
close $s;
wait_until(sub { (api('GET', "/$review->{id}", 'maint'))[1]{status} eq 'cancelled' },
    'the review of a push whose client left to be cancelled');
pass('a client that leaves cancels its review');

# push protection: a private key in a new file, an AWS key added to a file
# the server has (git sends the change as a delta): refused, naming the
# kind and the file, never the secret

git("-C $d/work checkout -q main");
spit("$d/work/BIG.md", join('', map { "line $_ of a long document\n" } 1 .. 200));
git("-C $d/work add BIG.md");
git("-C $d/work commit -q -m big");
($rc, $out) = git("-C $d/work push -q origin main");
is($rc, 0, 'a document is pushed') or diag $out;
my $before = server_ref('refs/heads/main');

git("-C $d/work checkout -q -b leak main");
mkdir "$d/work/config";
system("openssl genpkey -algorithm ed25519 -out $d/work/config/id_ed25519"
    . " 2>/dev/null");
my $pem = Hoop::Test::slurp("$d/work/config/id_ed25519");
like($pem, qr/BEGIN PRIVATE KEY/, 'a private key to leak');
git("-C $d/work add config");
git("-C $d/work commit -q -m 'add deploy key'");
($rc, $out) = git("-C $d/work push origin leak");
isnt($rc, 0, 'a push adding a private key fails');
like($out, qr/remote: hoop: push refused: a secret in the push: private_key in config\/id_ed25519/,
    'git names the kind of secret and the file') or diag $out;
like($out, qr/\[remote rejected\] leak -> leak \(hoop: a secret in the push/,
    'on the ref') or diag $out;
my ($keyline) = $pem =~ /^([A-Za-z0-9+\/=]{20,})$/m;
unlike($out, qr/\Q$keyline\E/, 'without the key');
is(server_ref('refs/heads/leak'), undef, 'nothing reaches the server');

git("-C $d/work checkout -q main");
open my $fh, '>>', "$d/work/BIG.md" or die;
print $fh "aws_access_key_id = AKIAZ7Q3LWPX2M4NB6RT\n";
close $fh;
git("-C $d/work commit -q -a -m 'add credentials'");
($rc, $out) = git("-C $d/work push origin main");
isnt($rc, 0, 'an AWS key added to a file the server has: refused');
like($out, qr/hoop: push refused: a secret in the push: aws_key (in BIG\.md|added to a file it changes)/,
    'named as well') or diag $out;
unlike($out, qr/AKIAZ7Q3LWPX2M4NB6RT/, 'without the key');
is(server_ref('refs/heads/main'), $before, 'main did not move');
git("-C $d/work reset -q --hard HEAD~1");

# secrets outside files: in a commit message, a file's name, a ref's name
my $jwt = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJsZWFrIn0.'
    . 'c2lnbmF0dXJlLW9mLWEtbGVha2VkLXRva2Vu';
git("-C $d/work checkout -q -b meta main");
git("-C $d/work commit -q --allow-empty -m 'the key: AKIAZ7Q3LWPX2M4NB6RT'");
($rc, $out) = git("-C $d/work push origin meta");
like($out, qr/hoop: push refused: a secret in the push: aws_key in a commit message/,
    'a key in a commit message') or diag $out;
git("-C $d/work reset -q --hard main");
spit("$d/work/$jwt", "x\n");
git("-C $d/work add .");
git("-C $d/work commit -q -m name");
($rc, $out) = git("-C $d/work push origin meta");
like($out, qr/hoop: push refused: a secret in the push: jwt (in the name of a file or directory|added to a file it changes)/,
    'a token as a file name (in the tree git sends as a change)') or diag $out;
unlike($out, qr/\Q$jwt\E/, 'not repeated');
git("-C $d/work reset -q --hard main");
($rc, $out) = git("-C $d/work push origin meta:refs/heads/AKIAZ7Q3LWPX2M4NB6RT");
like($out, qr/a secret in the push: aws_key in the name of a ref/,
    'a key as a branch name') or diag $out;
git("-C $d/work checkout -q main");

# hoop_git_secrets review: the push waits for a reviewer, who sees what
# was found (not the secret), and goes through once approved

git("-C $d/work checkout -q -b reviewed main");
spit("$d/work/deploy.env", "AWS_ACCESS_KEY_ID=AKIAZ7Q3LWPX2M4NB6RT\n");
git("-C $d/work add deploy.env");
git("-C $d/work commit -q -m 'deploy settings'");
(my $sec_url = url('dev')) =~ s{/git/}{/sec/};
open(my $sp, '-|', "git -C $d/work push $sec_url reviewed 2>&1") or die;
my $sec_review;
wait_until(sub {
    my ($st, $list) = api('GET', '?status=pending', 'maint');
    ($sec_review) = grep { ($_->{rule} // '') eq 'secrets' } @{ $list // [] };
    $sec_review;
}, 'the push with a secret to be held');
is($sec_review->{operation}{git}{secrets}{list}[0]{kind}, 'aws_key',
    'the reviewer sees the kind of secret');
is($sec_review->{operation}{git}{secrets}{list}[0]{path}, 'deploy.env',
    'and the file');
unlike(encode_json($sec_review), qr/AKIAZ7Q3LWPX2M4NB6RT/, 'not the secret');
api('POST', "/$sec_review->{id}/approve", 'maint', { reason => 'test key' });
($rc, $out) = finish($sp);
is($rc, 0, 'approved, the push goes through') or diag $out;
like($out, qr/remote: hoop: push held for review/, 'after waiting for it');
ok(defined server_ref('refs/heads/reviewed'), 'the server has it');
git("-C $d/work checkout -q main");

# fetches, as git makes them: v2, v0 (whose request git gzips), shallow

($rc, $out) = git("clone -q --depth 1 " . url('dev') . " $d/shallow");
is($rc, 0, 'a shallow clone') or diag $out;
git("-C $d/ro fetch -q origin");
git("-C $d/work checkout -q main");
commit("$d/work", 'F0', "f0\n");
($rc, $out) = git("-C $d/work push -q origin main");
is($rc, 0, 'main moves on') or diag $out;
($rc, $out) = git("-C $d/ro -c protocol.version=0 fetch -q origin");
is($rc, 0, 'a v0 fetch with haves') or diag $out;
($rc, $out) = git("-C $d/ro -c protocol.version=2 fetch -q origin");
is($rc, 0, 'a v2 fetch') or diag $out;

# the audit trail

$gw->stop;
my @ev = $redis->events('hoop:audit');
my @push = grep { $_->{type} eq 'git.push' } @ev;
my @fetch = grep { $_->{type} eq 'git.fetch' } @ev;
ok(@fetch >= 2, 'each fetch is a git.fetch event');
ok((grep { ($_->{git}{wants} // 0) >= 1 } @fetch),
    'with the wants it made');
ok((grep { ($_->{git}{shallow} // 0) >= 1 } @fetch),
    'a shallow fetch says so');
ok((grep { $_->{git}{protocol} == 2 && ($_->{git}{command} // '') eq 'fetch' }
    @fetch), 'a v2 fetch names its command');
ok((grep { $_->{git}{protocol} == 2 && ($_->{git}{command} // '') eq 'ls-refs' }
    @fetch), 'and its ls-refs');
ok((grep { $_->{git}{protocol} == 0 && ($_->{git}{haves} // 0) >= 1 } @fetch),
    'a v0 fetch counts its haves (its body gzipped)')
    or diag explain [map { $_->{git} } @fetch];
ok(!(grep { defined $_->{git}{unread} } @fetch), 'every fetch was read')
    or diag explain [map { $_->{git} } @fetch];
my ($del) = grep { grep { $_->{ref} eq 'refs/heads/main'
    && $_->{action} eq 'delete' } @{ $_->{git}{refs} // [] } } @push;
ok($del, 'the refused delete is a git.push event');
is($del->{decision}{result}, 'deny', 'denied');
is($del->{git}{refs}[0]{rule}, 'protect-main', 'the rule, per ref');
is($del->{identity}{sub}, 'agent-7', 'and who');
my ($fx) = grep { ($_->{git}{refs}[0]{ref} // '') eq 'refs/heads/feature/x'
    && ($_->{git}{refs}[0]{action} // '') eq 'create' } @push;
ok($fx, 'the branch created is recorded');
is($fx->{decision}{result}, 'allow', 'allowed');
like($fx->{git}{refs}[0]{new}, qr/^[0-9a-f]{40}$/, 'with its new id');
my ($ffw) = grep { ($_->{git}{refs}[0]{ref} // '') eq 'refs/heads/stable'
    && ($_->{git}{refs}[0]{action} // '') eq 'update'
    && $_->{decision}{result} eq 'allow' } @push;
is($ffw->{git}{refs}[0]{fast_forward}, JSON::PP::true,
    'the proven update says so');
is($ffw->{git}{pack}{commits}, 2, 'the pack\'s commits are counted');
is_deeply($ffw->{git}{pack}{authors}, ['a <a@example.com>'],
    'and their authors named');
my ($frc) = grep { ($_->{git}{refs}[0]{ref} // '') eq 'refs/heads/stable'
    && $_->{decision}{result} eq 'deny' } @push;
is($frc->{git}{refs}[0]{fast_forward}, 'unproven',
    'the force push is not proven');
unlike(join("\n", map { encode_json($_) } @ev), qr/\Q$tok{dev}\E/,
    'no token in the trail');
my ($leak) = grep { ($_->{git}{secrets}{found} // 0) > 0
    && ($_->{git}{refs}[0]{ref} // '') eq 'refs/heads/leak' } @push;
ok($leak, 'the refused push records what was found');
is($leak->{git}{secrets}{list}[0]{kind}, 'private_key', 'its kind');
is($leak->{git}{secrets}{list}[0]{path}, 'config/id_ed25519', 'its file');
is($leak->{decision}{rule}, 'secrets', 'decided by push protection');
unlike(join("\n", map { encode_json($_) } @ev), qr/\Q$keyline\E|AKIAZ7Q3LWPX2M4NB6RT/,
    'no secret in the trail');

done_testing;

#!/usr/bin/perl
# hoop_git's cost, against the same git http-backend reached through a
# plain nginx location, same nginx, same run: clones of a 100 MB
# repository (throughput, target at least 0.9 of the plain location) and
# pushes of 50 MB (the latency the gateway adds: it reads the whole push,
# inflates and scans its pack, before the server sees a byte), each with
# the CPU the nginx worker spent per operation; then the memory a held
# push costs the worker.
#
#   bench/git_gateway.pl [runs, default 3]
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib", "$FindBin::Bin/../tools/lib",
    "$FindBin::Bin/lib";

use IO::Socket::INET;
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(time);
use Hoop::Bench qw(cpu_ns rss_kb worker_pid);
use Hoop::JWT;
use Hoop::Test qw(spawn spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::GitServer;
use Hoop::Test::Redis;

my $runs = shift // 3;
my $redis = Hoop::Test::Redis->new->start;
my $t = Hoop::Test::Nginx->new(workers => 1);
my $d = $t->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));

$ENV{GIT_TERMINAL_PROMPT} = 0;
$ENV{GIT_CONFIG_NOSYSTEM} = 1;
$ENV{HOME} = $d;
sub git { my $out = `git @_ 2>&1`; die "git @_: $out" if $?; $out }

my $srv = Hoop::Test::GitServer->new(dir => $d, children => 4)->start;
$srv->repo('repo.git');
git("init -q -b main $d/seed");
git("-C $d/seed config user.name a");
git("-C $d/seed config user.email a\@example.com");
system("head -c 100000000 /dev/urandom > $d/seed/big.bin") == 0 or die;
git("-C $d/seed add big.bin");
git("-C $d/seed commit -q -m big");
git("-C $d/seed push -q $d/repo.git main");

my $backend = $srv->backend;

$t->run(<<"END");
http {
    access_log off;
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_oidc_issuer    https://idp.bench;
    hoop_oidc_audience  hoop-gateway;
    hoop_oidc_jwks_file $d/jwks.json;
    hoop_audit_stream   hoop:audit;
    client_max_body_size 0;

    server {
        listen 127.0.0.1:%%PORT_http%%;

        location ~ ^/plain(/.*)\$ {
$backend
        }

        location ~ ^/git(/.*)\$ {
            hoop_auth on;
            hoop_auth_realm git;
            hoop_audit on;
            hoop_git on;
            hoop_rule deny ref=refs/heads/main action=delete,force
                "reason=main is protected";
            hoop_rule review ref=refs/tags/* approvers=maint;
            hoop_default allow;
$backend
        }
    }
}
END
$t->wait_redis(3);

my $port = $t->port('http');
my $tok = $key->mint(claims => { iss => 'https://idp.bench',
    aud => 'hoop-gateway', sub => 'agent-7', exp => time + 3600 });
my %url = (plain => "http://127.0.0.1:$port/plain/repo.git",
    gateway => "http://x:$tok\@127.0.0.1:$port/git/repo.git");
my $worker = worker_pid($t);

# one operation: wall seconds and the worker's CPU (ms)
sub measure {
    my ($cmd) = @_;
    my $c0 = cpu_ns($worker);
    my $t0 = time;
    git($cmd);
    return (time - $t0, (cpu_ns($worker) - $c0) / 1e6);
}

my (%clone, %ccpu, %push, %pcpu);
for my $i (1 .. $runs) {
    for my $via (qw(plain gateway)) {
        system("rm -rf $d/clone");
        my ($s, $cpu) = measure("clone -q $url{$via} $d/clone");
        push @{ $clone{$via} }, $s;
        push @{ $ccpu{$via} }, $cpu;
    }
}

git("clone -q $d/repo.git $d/work");
git("-C $d/work config user.name a");
git("-C $d/work config user.email a\@example.com");
for my $i (1 .. $runs) {
    for my $via (qw(plain gateway)) {
        git("-C $d/work checkout -q -b $via-$i main");
        system("head -c 50000000 /dev/urandom > $d/work/p.bin") == 0 or die;
        git("-C $d/work add p.bin");
        git("-C $d/work commit -q -m $via-$i");
        my ($s, $cpu) = measure("-C $d/work push -q $url{$via} $via-$i");
        push @{ $push{$via} }, $s;
        push @{ $pcpu{$via} }, $cpu;
    }
}

sub median { my @s = sort { $a <=> $b } @_; $s[$#s / 2] }

printf "git over HTTP, %d runs each, medians (one nginx worker)\n", $runs;
for my $via (qw(plain gateway)) {
    printf "  clone 100 MB  %-8s %6.2f s  %6.1f MB/s  worker CPU %7.1f ms\n",
        $via, median(@{ $clone{$via} }), 100 / median(@{ $clone{$via} }),
        median(@{ $ccpu{$via} });
}
printf "  clone throughput ratio gateway/plain: %.2f (target >= 0.9)\n",
    median(@{ $clone{plain} }) / median(@{ $clone{gateway} });
for my $via (qw(plain gateway)) {
    printf "  push 50 MB    %-8s %6.2f s  worker CPU %7.1f ms\n", $via,
        median(@{ $push{$via} }), median(@{ $pcpu{$via} });
}
printf "  push latency added by the gateway: %+.0f ms (%.2fx)\n",
    1000 * (median(@{ $push{gateway} }) - median(@{ $push{plain} })),
    median(@{ $push{gateway} }) / median(@{ $push{plain} });

# the memory held pushes cost: N tag pushes held for review at once
my $n = 50;
my $main = git("-C $d/repo.git rev-parse main");
chomp $main;
sub pkt { sprintf('%04x', 4 + length $_[0]) . $_[0] }
my $rss0 = rss_kb($worker);
my @held;
for my $i (1 .. $n) {
    my $hdr = "PACK\0\0\0\2\0\0\0\0";
    my $body = pkt(('0' x 40) . " $main refs/tags/held$i\0report-status"
        . " side-band-64k") . '0000' . $hdr . ('0' x 20);
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or die;
    print $s "POST /git/repo.git/git-receive-pack HTTP/1.1\r\nHost: gw\r\n"
        . 'Authorization: Basic ' . encode_base64("x:$tok", '') . "\r\n"
        . "Content-Type: application/x-git-receive-pack-request\r\n"
        . 'Content-Length: ' . length($body) . "\r\n\r\n" . $body;
    push @held, $s;
}
wait_until(sub {
    ($redis->command('ZCARD', 'hoop:reviews:pending') // 0) >= $n;
}, "$n held pushes");
my $rss1 = rss_kb($worker);
printf "  held pushes: %d, worker RSS %+d kB, %.0f kB each (pool reserved:"
    . " about 1.3 MB each, touched as used)\n", $n, $rss1 - $rss0,
    ($rss1 - $rss0) / $n;
close $_ for @held;

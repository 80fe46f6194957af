#!/usr/bin/perl
# hoop_kube's cost, against the same API server stand-in reached through a
# plain proxy_pass upgrade relay, same nginx, same run: 100 MB of stdout
# (kubectl exec ... -- yes) through the plain relay, through the gateway
# recording it, and recording and masking it (target: at least 0.8 of the
# plain relay's throughput), each with the CPU the nginx worker spent;
# then the memory an open exec session costs the worker.
#
#   bench/kube_exec.pl [runs, default 3]
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib", "$FindBin::Bin/../tools/lib",
    "$FindBin::Bin/lib";

use Time::HiRes qw(time);
use Hoop::Bench qw(cpu_ns rss_kb worker_pid);
use Hoop::JWT;
use Hoop::Test qw(spawn spit slurp wait_until reap);
use Hoop::Test::Nginx;
use Hoop::Test::Redis;
use Hoop::Test::KubeAPI;

my $runs = shift // 3;
my $mb = 100;
my $redis = Hoop::Test::Redis->new->start;
my $t = Hoop::Test::Nginx->new(workers => 1);
my $d = $t->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));
spit("$d/sa.token", "gateway-token\n");
system("openssl req -x509 -newkey rsa:2048 -nodes -keyout $d/gw.key"
    . " -out $d/gw.pem -days 2 -subj /CN=gw"
    . " -addext subjectAltName=IP:127.0.0.1 2>/dev/null") == 0 or die;

my $api = Hoop::Test::KubeAPI->new(dir => $d)->start;
my $up = 'https://127.0.0.1:' . $api->port;
my $relay = <<"END";
            proxy_pass $up;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_read_timeout 1h;
            proxy_ssl_session_reuse off;
END

$t->run(<<"END");
http {
    access_log off;
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_oidc_issuer    https://idp.bench;
    hoop_oidc_audience  hoop-gateway;
    hoop_oidc_jwks_file $d/jwks.json;
    hoop_audit_stream   hoop:audit;
    map \$http_upgrade \$connection_upgrade {
        default upgrade;
        ''      close;
    }
    ssl_certificate $d/gw.pem;
    ssl_certificate_key $d/gw.key;

    server {
        listen 127.0.0.1:%%PORT_plain%% ssl;
        location / {
$relay
        }
    }

    server {
        listen 127.0.0.1:%%PORT_record%% ssl;
        location / {
            hoop_auth on;
            hoop_audit on;
            hoop_kube on;
            hoop_upstream_credentials bearer $d/sa.token;
            hoop_default allow;
$relay
        }
    }

    server {
        listen 127.0.0.1:%%PORT_mask%% ssl;
        location / {
            hoop_auth on;
            hoop_audit on;
            hoop_kube on;
            hoop_mask detect=all;
            hoop_upstream_credentials bearer $d/sa.token;
            hoop_default allow;
$relay
        }
    }
}
END
$t->wait_redis(1);

my $tok = $key->mint(claims => { iss => 'https://idp.bench',
    aud => 'hoop-gateway', sub => 'agent-7', exp => time + 3600 });
my %kc = map { ($_ => Hoop::Test::KubeAPI->kubeconfig("$d/kc-$_",
    'https://127.0.0.1:' . $t->port($_), $tok)) } qw(plain record mask);
my $worker = worker_pid($t);
my $bytes = $mb * 1024 * 1024;

# one exec of yes: wall seconds and the worker's CPU (ms)
sub measure {
    my ($via) = @_;
    my $c0 = cpu_ns($worker);
    my $t0 = time;
    my $cmd = "HOME=$d KUBECONFIG=$kc{$via} kubectl exec web -- yes $bytes"
        . ' 2>/dev/null | wc -c';
    my $n = `$cmd`;
    die "$via: $n bytes, not $bytes\n" unless $n == $bytes;
    return (time - $t0, (cpu_ns($worker) - $c0) / 1e6);
}

my (%wall, %cpu);
for my $i (1 .. $runs) {
    for my $via (qw(plain record mask)) {
        my ($s, $c) = measure($via);
        push @{ $wall{$via} }, $s;
        push @{ $cpu{$via} }, $c;
    }
}

sub median { my @s = sort { $a <=> $b } @_; $s[$#s / 2] }

printf "kubectl exec, %d MB of stdout, %d runs each, medians"
    . " (one nginx worker, TLS both legs)\n", $mb, $runs;
my %label = (plain => 'proxy_pass', record => 'recorded',
             mask => 'recorded+masked');
for my $via (qw(plain record mask)) {
    printf "  %-16s %6.2f s  %7.1f MB/s  worker CPU %7.1f ms"
        . " (%.2f ms/MB)\n", $label{$via}, median(@{ $wall{$via} }),
        $mb / median(@{ $wall{$via} }), median(@{ $cpu{$via} }),
        median(@{ $cpu{$via} }) / $mb;
}
for my $via (qw(record mask)) {
    printf "  throughput ratio %s/proxy_pass: %.2f (target >= 0.8)\n",
        $label{$via}, median(@{ $wall{plain} }) / median(@{ $wall{$via} });
}

# the memory open sessions cost: N idle "cat" sessions at once
my $n = 50;
my $rss0 = rss_kb($worker);
my @pids;
for my $i (1 .. $n) {
    push @pids, spawn(cmd => ['sh', '-c', "sleep 3600 | HOME=$d"
        . " KUBECONFIG=$kc{mask} exec kubectl exec -i web -- cat"]);
}
wait_until(sub {
    scalar($api->seen(sub { ($_[0]{answer} // '') eq 'websocket'
                            && ($_[0]{query} // '') =~ /command=cat/ }))
        >= $n;
}, "$n open sessions", 60);
my $rss1 = rss_kb($worker);
printf "  open exec sessions (masked): %d, worker RSS %+d kB, %.0f kB each\n",
    $n, $rss1 - $rss0, ($rss1 - $rss0) / $n;
for my $pid (@pids) {
    kill 'TERM', -$pid;
    kill 'TERM', $pid;
    reap($pid, 10);
}

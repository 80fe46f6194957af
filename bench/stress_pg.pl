#!/usr/bin/perl
# The gateway under sustained load, on loopback only, bounded in time: many
# concurrent Postgres sessions (asyncpg) running reads, masked reads,
# statements the policy denies and statements held for review (approved
# by a reviewer through the review API as they come), plus authenticated
# HTTP requests, all audited.  Not part of make test.
#
#   bench/stress_pg.pl [seconds, default 60] [sessions, default 200]
#
# Reports:
#   - statements/s, and errors that were not expected (target: 0)
#   - read latency p50/p99 through the gateway vs plain nginx proxy_pass,
#     same sessions, same reads, each measured alone first
#   - the nginx workers' RSS before the mixed run, at its peak, after it;
#     and the memory they still use once glibc has returned what is free
#     (target: less than 2 MB more after the run than before it)
#   - audit completeness: exactly one pg.query event per statement the
#     clients ran, one HTTP event per request, every chain verifies (no
#     gap, no event stored twice)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib", "$FindBin::Bin/../tools/lib";

use JSON::PP;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);
use Hoop::JWT;
use Hoop::Test qw(repo_dir spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;
use Hoop::Test::Redis;

my $secs = shift // 60;
my $sessions = shift // 200;
my $warm = $secs < 60 ? $secs / 2 : 20;
my $repo = repo_dir();
my $py = '/usr/bin/python3';

my $pg = Hoop::Test::Pg->new(options => '-c max_connections=600'
    . ' -c shared_buffers=64MB')->start;
$pg->psql(q{CREATE TABLE payments (id int PRIMARY KEY, amount int);
    INSERT INTO payments SELECT g, 100 FROM generate_series(1, 1000) g;
    CREATE TABLE customers (id int PRIMARY KEY, email text);
    INSERT INTO customers SELECT g, 'user' || g || '@example.com'
        FROM generate_series(1, 1000) g});
my $redis = Hoop::Test::Redis->new->start;

my $t = Hoop::Test::Nginx->new(workers => 2, log_level => 'info');
my $d = $t->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));
mkdir "$d/html";
mkdir "$d/html/app";
spit("$d/html/app/index.html", "hello\n");

my $common = <<"EOF";
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_oidc_issuer https://idp.stress;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file $d/jwks.json;
EOF

$t->run(<<"EOF");
worker_rlimit_nofile 4096;
http {
$common
    hoop_audit_stream hoop:http maxlen=5000000;
    server {
        listen 127.0.0.1:%%PORT_http%%;
        root $d/html;
        location /app/ {
            hoop_auth on;
            hoop_audit on;
        }
        location /hoop/ {
            hoop_auth on;
            hoop_review_api;
        }
    }
}
stream {
$common
    hoop_audit_stream hoop:pg maxlen=5000000;
    hoop_pg_require_tls off;

    server {
        listen 127.0.0.1:%%PORT_proxy%%;
        proxy_pass 127.0.0.1:${\ $pg->port};
    }
    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
        hoop_rule deny sql.delete where=none name=no-mass-delete;
        hoop_rule review sql.update table=payments name=payments
                  approvers=dba timeout=5m;
        hoop_rule allow sql.read;
        hoop_mask column=email;
    }
}
EOF
$t->wait_redis(6);

sub token {
    my ($sub, @groups) = @_;
    return $key->mint(claims => { iss => 'https://idp.stress',
        aud => 'hoop-gateway', sub => $sub, groups => \@groups,
        exp => time + 7200 });
}
my $agent = token('agent-7', 'dev');
my $dba = token('dba-1', 'dba');
my $api = 'http://127.0.0.1:' . $t->port('http') . '/hoop/reviews';
my $app = 'http://127.0.0.1:' . $t->port('http') . '/app/';

sub workers {
    return map { (split)[0] } grep { /nginx: worker process/ }
        `ps -o pid=,args= --ppid ${\ $t->pid }`;
}
sub rss_kb {
    my $kb = 0;
    for my $pid (workers()) {
        open my $fh, '<', "/proc/$pid/status" or next;
        /^VmRSS:\s+(\d+)/ and $kb += $1 while <$fh>;
    }
    return $kb;
}

# RSS counts what glibc keeps of freed memory too (a burst's high-water
# mark); asked to give that back first (malloc_trim through gdb), RSS is
# what is still in use: a leak cannot hide there
sub live_kb {
    for my $pid (workers()) {
        system("gdb -p $pid -batch -ex 'call (int) malloc_trim(0)'"
            . " >/dev/null 2>&1") == 0 or die "gdb failed on worker $pid\n";
    }
    return rss_kb();
}

# runs the load generator; the workers' RSS sampled meanwhile
sub load {
    my (@args) = @_;
    my $out = "$d/load.json";
    my $pid = fork // die;
    if (!$pid) {
        open STDOUT, '>', $out or die;
        exec $py, "$FindBin::Bin/stress_pg_load.py", @args or die;
    }
    my ($peak, @samples) = (0);
    my $t0 = time;
    while (waitpid($pid, WNOHANG) == 0) {
        my $r = rss_kb();
        $peak = $r if $r > $peak;
        push @samples, [time - $t0, $r];
        sleep 0.5;
    }
    die "load generator failed\n" if $?;
    my $res = decode_json(do { local (@ARGV, $/) = $out; <> });
    $res->{rss_peak_kb} = $peak;
    $res->{rss_samples} = \@samples;
    return $res;
}

sub pg_events {
    my $n = 0;
    my $from = '-';
    for (;;) {
        my $batch = $redis->command('XRANGE', 'hoop:pg', $from, '+',
            'COUNT', 20000) // [];
        last unless @$batch;
        for my $e (@$batch) {
            $n++ if { @{ $e->[1] } }->{event} =~ /"type":"pg\.query"/;
        }
        my ($ms, $seq) = split /-/, $batch->[-1][0];
        $from = "$ms-" . ($seq + 1);
        last if @$batch < 20000;
    }
    return $n;
}

print "$sessions sessions; latency runs of ${warm}s, then a mixed run of"
    . " ${secs}s\n";

my $base = load('baseline', $t->port('proxy'), $sessions, $warm, '');
my $gwr = load('baseline', $t->port('pg'), $sessions, $warm, $agent);
my $events_before = pg_events();
die "the read-only run lost events: $events_before of $gwr->{total}\n"
    unless $events_before == $gwr->{total};

# a few seconds of the mixed load first: what the first masked read, the
# first review and the first HTTP request allocate for good (caches, the
# review subscription) is not growth
my $warmup = load('mixed', $t->port('pg'), $sessions, 5, $agent, $api,
    $dba, $app);
die "the warm-up failed: @{ $warmup->{error_samples} }\n"
    if $warmup->{errors};
$events_before += $warmup->{total};
my $http_before = $warmup->{http}{ok} + $warmup->{http}{failed};

my $live_start = live_kb();
my $rss_start = rss_kb();
my $mixed = load('mixed', $t->port('pg'), $sessions, $secs, $agent, $api,
    $dba, $app);
my $rss_end = rss_kb();
my $live_end = live_kb();
my $growth = $live_end - $live_start;

# every event the run caused, then the chains
my $expected = $events_before + $mixed->{total};
my $got = 0;
eval {
    wait_until(sub { ($got = pg_events()) >= $expected },
        'the events of the mixed run', 60);
};
my $http_events = $redis->command('XLEN', 'hoop:http');
my $http_expected = $http_before + $mixed->{http}{ok}
    + $mixed->{http}{failed};
my $verify_pg = `$repo/tools/hoop-audit-verify --redis ${\ $redis->addr} --stream hoop:pg 2>&1`;
my $verify_http = `$repo/tools/hoop-audit-verify --redis ${\ $redis->addr} --stream hoop:http 2>&1`;
my @crashes = grep { /exited on signal|\[alert\]|\[emerg\]/ }
    split /\n/, $t->error_log;

printf "\nread latency, %d sessions (ms):\n", $sessions;
printf "  %-28s p50 %6.2f   p99 %6.2f   %6d reads/s\n", 'nginx proxy_pass',
    $base->{read_p50_ms}, $base->{read_p99_ms}, $base->{per_second};
printf "  %-28s p50 %6.2f   p99 %6.2f   %6d reads/s\n",
    'gateway (audit, policy, mask)', $gwr->{read_p50_ms},
    $gwr->{read_p99_ms}, $gwr->{per_second};
printf "  %-28s p50 %+6.2f   p99 %+6.2f\n", 'added by the gateway',
    $gwr->{read_p50_ms} - $base->{read_p50_ms},
    $gwr->{read_p99_ms} - $base->{read_p99_ms};

my $c = $mixed->{statements};
printf "\nmixed run, %d sessions, %.0fs:\n", $sessions, $mixed->{seconds};
printf "  statements:   %d (%d/s): %d reads, %d masked reads, %d denied,"
    . " %d held and approved\n", $mixed->{total}, $mixed->{per_second},
    $c->{read}, $c->{masked}, $c->{denied}, $c->{held};
printf "  HTTP:         %d requests (%d failed)\n", $http_expected,
    $mixed->{http}{failed};
printf "  unexpected errors: %d%s\n", $mixed->{errors},
    $mixed->{errors} ? "\n    " . join("\n    ", @{ $mixed->{error_samples} })
    : '';
printf "  unmasked emails seen by clients: %d\n", $mixed->{unmasked};
printf "  worker crashes or alerts: %d\n", scalar @crashes;
printf "  workers' RSS: %d kB before, %d kB at the peak, %d kB after\n",
    $rss_start, $mixed->{rss_peak_kb}, $rss_end;
printf "  workers' memory in use (RSS after malloc_trim): %d kB before,"
    . " %d kB after (%+d kB; bound: 2048)\n", $live_start, $live_end,
    $growth;
printf "  audit, Postgres: %d pg.query events for %d statements (%s)\n",
    $got, $expected, $got == $expected ? 'exact' : 'MISMATCH';
printf "  audit, HTTP:     %d events for %d requests (%s)\n", $http_events,
    $http_expected, $http_events == $http_expected ? 'exact' : 'MISMATCH';
print "  chains: pg: $verify_pg  chains: http: $verify_http";

my $ok = $mixed->{errors} == 0 && $mixed->{unmasked} == 0 && !@crashes
    && $growth < 2048
    && $got == $expected && $http_events == $http_expected
    && $verify_pg =~ /^ok:/ && $verify_http =~ /^ok:/
    && "$verify_pg$verify_http" !~ /delivered twice/;
print $ok ? "\nresult: PASS\n" : "\nresult: FAIL\n";

# nginx stops with the harness (SIGTERM at exit)
exit($ok ? 0 : 1);

# No audit event lost while Redis is away: with hoop_audit_spool, requests
# keep being served (fail closed does not trip while the spool takes
# events), their events wait in the spool file, and reach Redis in order
# once it is back, whether it was killed and restarted or frozen with
# SIGSTOP; the whole trail then verifies.  A restart of nginx in between
# hands the spool to the new workers.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use Hoop::JWT;
use Hoop::Test qw(repo_dir spit slurp wait_until seal_key);
use Hoop::Test::Nginx;
use Hoop::Test::Redis;

my $repo = repo_dir();

# persistent, so that a restart keeps what was stored before it (a clean
# shutdown writes the AOF out; fsync on every write made replies slow
# enough under the sanitizers to time out a drain batch, whose retry then
# stored events twice: correct, the verifier allows it, but this test
# counts entries exactly)
my $redis = Hoop::Test::Redis->new(args => ['--appendonly', 'yes',
    '--appendfsync', 'everysec'])->start;

my $t = Hoop::Test::Nginx->new(workers => 2);
my $d = $t->dir;
mkdir "$d/spool";
chmod 0777, "$d/spool";
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));

# signed checkpoints every second: the trail must verify with the public
# key alone through the outages and the restart below
seal_key($d);

my $conf = <<"EOF";
http {
    hoop_redis 127.0.0.1:${\ $redis->port} timeout=1s;
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file %%DIR%%/jwks.json;
    hoop_audit_spool %%DIR%%/spool max_size=1m;
    hoop_audit_signing_key $d/seal.pem;
    hoop_audit_checkpoint 1s;

    server {
        listen 127.0.0.1:%%PORT_http%%;
        hoop_audit on;
        location / {
            hoop_auth on;
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
        }
    }
    server {
        listen 127.0.0.1:%%PORT_backend%%;
        return 200 "ok\\n";
    }
}
EOF
$t->run($conf);
$t->wait_redis(2);
my $url = 'http://127.0.0.1:' . $t->port('http') . '/x';
my $token = $key->mint(claims => { iss => 'https://idp.test',
    aud => 'hoop-gateway', sub => 'agent-7', exp => time + 600 });
my %auth = (headers => { Authorization => "Bearer $token" });

my $served = 0;
sub burst {
    my ($n) = @_;
    my $http = HTTP::Tiny->new(keep_alive => 1);
    my @s = map { $http->get($url, \%auth)->{status} } 1 .. $n;
    $served += grep { $_ == 200 } @s;
    return join ',', sort { $a <=> $b } keys %{ { map { $_ => 1 } @s } };
}

# the requests' events; each burst's connection also ends its session
# (http.session.end) and workers seal (audit.checkpoint)
sub requests {
    return scalar grep { $_->[1][5] =~ /"type":"http\.request"/ }
        @{ $redis->command('XRANGE', 'hoop:audit', '-', '+') // [] };
}

sub verify {
    my $out = `$repo/tools/hoop-audit-verify --redis ${\ $redis->addr} --public-key $d/seal.pub 2>&1`;
    return ($? >> 8, $out);
}

is(burst(5), '200', 'Redis up: served');
wait_until(sub { requests() == 5 }, 'five events');

# killed

# every worker's connection (two workers) must have seen the outage: a
# request meeting a connection that has not yet would go to Redis's last
# moments instead of the spool
sub outages { scalar(() = $t->error_log
    =~ /hoop redis \(http\).*(?:disconnected|refused|closed)/g) }
my $before = outages();
$redis->stop;
wait_until(sub { outages() >= $before + 2 }, 'the gateway to notice');
sub spooled {
    my $n = 0;
    $n += () = slurp($_) =~ /http\.request.*\n/g for glob "$d/spool/*.spool";
    return $n;
}
is(burst(5), '200', 'Redis killed: still served, the spool takes events');
# (rarely seen to time out in CI: the log's tail says where events went)
eval { wait_until(sub { spooled() >= 5 }, 'the log phase to spool the events') };
if ($@) {
    my @tail = grep { !/\[debug\]/ } split /\n/, $t->error_log;
    diag join "\n", @tail[-20 .. -1];
    die $@;
}
is(spooled(), 5, 'five events wait in the spool');

$redis->start;
wait_until(sub { requests() == 10 }, 'the spool to be delivered', 20);
my ($rc, $out) = verify();
is($rc, 0, 'after the restart all ten events are there, chains intact')
    or diag $out;
like($t->error_log, qr/hoop audit spool: \d+ bytes of events delivered/,
    'the delivery is logged');

# frozen

kill 'STOP', $redis->{pid};
is(burst(4), '200', 'Redis frozen (SIGSTOP): still served');
kill 'CONT', $redis->{pid};
wait_until(sub { requests() == 14 }, 'the frozen-time events', 20);
($rc, $out) = verify();
is($rc, 0, 'after SIGCONT every event arrives, chains intact') or diag $out;

# an nginx restart while events wait in the spool

$before = outages();
$redis->stop;
wait_until(sub { outages() >= $before + 2 }, 'the gateway to notice again');
is(burst(3), '200', 'Redis down again: served, spooled');
$t->stop;
is(spooled(), 3, 'nginx stopped with three events in its spool');

# and a damaged line ahead of them (a disk error, a hand edit): skipped,
# loudly, not a stop to every record after it
my ($full) = grep { -s $_ } glob "$d/spool/*.spool";
spit($full, qq({"session": "broken\n) . slurp($full));

$redis->start;
$t->run($conf);
wait_until(sub { requests() == 17 },
    'the new workers to deliver the old spool', 20);
($rc, $out) = verify();
is($rc, 0, "after the nginx restart all $served events are there") or diag $out;
like($t->error_log, qr/hoop audit spool: adopted/, 'the spool was adopted');
like($t->error_log, qr/\[alert\].*hoop_audit: unreadable record in the spool, skipped: \{"session": "broken/,
    'the damaged line is skipped, at alert level');
is(requests(), $served, 'exactly one event per served request');
like($out, qr/^  \d+ checkpoints of \d+ gateway instances, every sealed event present/m,
    'the final checkpoints of the workers stopped with Redis down were'
    . ' spooled, then delivered: every sealed event is there');
$t->stop(allow => qr/unreadable record in the spool/);

done_testing;

# A Redis that comes back without the events it had taken (restarted
# without persistence, or from a snapshot older than its newest events)
# has lost them; nobody deleted them.  Each worker remembers the newest
# event Redis stored for it, asks the stream for its newest on every new
# connection, and says what was lost in its next signed checkpoint; the
# verifier then reports the missing events as lost with Redis, still as a
# problem, not as deleted.  A stream deleted while Redis ran is deletion.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use JSON::PP;
use Hoop::JWT;
use Hoop::Test qw(repo_dir spit wait_until seal_key);
use Hoop::Test::Nginx;
use Hoop::Test::Redis;

my $repo = repo_dir();
my $redis = Hoop::Test::Redis->new->start;
my $t = Hoop::Test::Nginx->new(workers => 1);
my $d = $t->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));
seal_key($d);

$t->run(<<"EOF");
http {
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file $d/jwks.json;
    hoop_audit_stream hoop:audit;
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
$t->wait_redis(1);

my $token = $key->mint(claims => { iss => 'https://idp.test',
    aud => 'hoop-gateway', sub => 'agent-7', exp => time + 600 });
my $url = 'http://127.0.0.1:' . $t->port('http') . '/x';
my %auth = (headers => { Authorization => "Bearer $token" });

sub requests {
    my ($http, $n) = @_;
    my $bad = grep { $_ != 200 } map { $http->get($url, \%auth)->{status} }
        1 .. $n;
    die "requests failed\n" if $bad;
}

sub events { $redis->events('hoop:audit') }

# a checkpoint stored after the newest request's event names its session
sub sealed {
    my ($what) = @_;
    wait_until(sub {
        my @e = events();
        my ($last) = grep { $_->{type} ne 'audit.checkpoint' } reverse @e;
        $last && grep { $_->{type} eq 'audit.checkpoint'
            && grep { $_->{id} eq $last->{session} }
               @{ $_->{checkpoint}{sessions} } } @e;
    }, $what);
}

sub verify {
    my $out = `$repo/tools/hoop-audit verify --redis ${\ $redis->addr} --public-key $d/seal.pub @_ 2>&1`;
    return ($? >> 8, $out);
}

# a connection that lives through the outage, and one that ends before
my $kept = HTTP::Tiny->new(keep_alive => 1);
requests($kept, 10);
requests(HTTP::Tiny->new(keep_alive => 1), 5);
sealed('the first requests sealed');
my ($rc, $out) = verify();
is($rc, 0, 'before the outage the trail verifies') or diag $out;

# Redis restarts with nothing (no persistence)
$redis->stop;
$redis->start;
wait_until(sub { $t->error_log =~ /reachable again/ },
    'the gateway reconnected');

requests($kept, 3);
requests(HTTP::Tiny->new(keep_alive => 1), 2);
sealed('the requests after the restart sealed');

my ($cp) = grep { $_->{type} eq 'audit.checkpoint'
    && $_->{checkpoint}{redis_lost} } events();
ok($cp, 'a checkpoint says Redis lost events');
is($cp->{checkpoint}{redis_lost}{newest}, '0-0',
    'Redis came back with no stream at all');
ok($cp->{checkpoint}{redis_lost}{restarted},
    'and it was restarted (another run id)');
like($cp->{checkpoint}{redis_lost}{stored}, qr/^\d+-\d+$/,
    'naming the newest event id it had stored');
like($t->error_log, qr/\[alert\].*Redis came back without audit events it had stored: its stream "hoop:audit" ends at 0-0/,
    'the error log says so, loudly');

($rc, $out) = verify('--all');
is($rc, 1, 'the trail does not verify: events are gone');
like($out, qr/lost with Redis/, 'they are reported as lost with Redis')
    or diag $out;
unlike($out, qr/deleted/, 'not as deleted') or diag $out;

# the same stream deleted while the same Redis runs: deletion
my $again = () = $t->error_log =~ /reachable again/g;
$redis->command('DEL', 'hoop:audit');
$redis->command('CLIENT', 'KILL', 'TYPE', 'normal');
wait_until(sub { (() = $t->error_log =~ /reachable again/g) > $again },
    'the gateway reconnected again');
requests($kept, 2);
sealed('the requests after the deletion sealed');
($cp) = grep { $_->{type} eq 'audit.checkpoint'
    && $_->{checkpoint}{redis_lost} } events();
ok($cp && !$cp->{checkpoint}{redis_lost}{restarted},
    'the next checkpoint says the stream is gone, Redis not restarted');
($rc, $out) = verify('--all');
like($out, qr/deleted/, 'that is reported as deletion') or diag $out;

$t->stop(allow => qr/Redis came back without audit events/);

done_testing();

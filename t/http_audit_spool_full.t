# hoop_audit_fail closed with Redis gone and the spool out of room: the
# gateway refuses new requests with 503, saying why, and loses no event of
# the requests it served: once Redis is back, every one of them is in the
# stream and the chain verifies.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use Hoop::Test qw(repo_dir wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Redis;

my $repo = repo_dir();
# persistent: the event stored before the outage survives the restart
my $redis = Hoop::Test::Redis->new(args => ['--appendonly', 'yes'])->start;
my $t = Hoop::Test::Nginx->new(workers => 1);
my $d = $t->dir;
mkdir "$d/spool";
chmod 0777, "$d/spool";

$t->run(<<"EOF");
http {
    hoop_redis 127.0.0.1:${\ $redis->port} timeout=1s;
    hoop_audit_spool %%DIR%%/spool max_size=64k;
    hoop_audit_fail closed;

    server {
        listen 127.0.0.1:%%PORT_http%%;
        hoop_audit on;
        location / {
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
my $url = 'http://127.0.0.1:' . $t->port('http') . '/item/';
my $http = HTTP::Tiny->new(keep_alive => 1);

is($http->get("${url}0")->{status}, 200, 'Redis up: served');
$redis->stop;
wait_until(sub { $t->error_log =~ /hoop redis \(http\).*(disconnected|refused)/ },
    'the gateway to notice');

my ($served, $refused) = (1, 0);
for my $i (1 .. 2000) {
    my $st = $http->get("$url$i")->{status};
    if ($st == 503) { $refused = $i; last }
    $served++ if $st == 200;
}
ok($refused, "the spool filled up: request $refused got 503");
ok($served > 20, "after $served requests served into the spool");
like($t->error_log,
    qr/neither Redis nor the spool can take events, request refused \(hoop_audit_fail closed\)/,
    'the error log says why');
unlike($t->error_log, qr/event LOST/, 'no admitted request lost its event');
my $spooled = 0;
$spooled += -s $_ for glob "$d/spool/*.spool";
ok($spooled <= 64 * 1024, "the spool kept to max_size ($spooled bytes)");

$redis->start;
sub requests {
    return scalar grep { $_->[1][5] =~ /"type":"http\.request"/ }
        @{ $redis->command('XRANGE', 'hoop:audit', '-', '+') // [] };
}
wait_until(sub { requests() >= $served },
    'the spooled events to reach Redis', 30);
is(requests(), $served, 'every served request has its event, once');
my $out = `$repo/tools/hoop-audit-verify --redis ${\ $redis->addr} 2>&1`;
is($? >> 8, 0, 'and the chain verifies') or diag $out;
is($http->get("${url}again")->{status}, 200, 'with room again: served');

done_testing;

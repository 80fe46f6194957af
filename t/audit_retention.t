# Retention is not deletion: a stream trimmed by MAXLEN (hoop_audit_stream
# maxlen=) verifies, the events gone before the first checkpoint kept
# counted as trimmed, because Redis says the stream was trimmed and
# nothing was deleted one by one; once an entry is deleted (XDEL), the
# same missing events are reported as deleted.
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
    hoop_audit_stream hoop:audit maxlen=1000;
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

# 1600 requests in connections of 100, sealed on the 1s timer
for my $c (1 .. 16) {
    my $http = HTTP::Tiny->new(keep_alive => 1);
    my $bad = grep { $_ != 200 } map { $http->get($url,
        { headers => { Authorization => "Bearer $token" } })->{status} }
        1 .. 100;
    die "requests failed\n" if $bad;
}

# the newest request's session named by a checkpoint after it
wait_until(sub {
    my @new = map { decode_json({ @{ $_->[1] } }->{event}) }
        @{ $redis->command('XREVRANGE', 'hoop:audit', '+', '-', 'COUNT', 50) };
    my ($last) = grep { $_->{type} ne 'audit.checkpoint' } @new;
    $last && grep { $_->{type} eq 'audit.checkpoint'
        && grep { $_->{id} eq $last->{session} }
           @{ $_->{checkpoint}{sessions} } } @new;
}, 'the last requests sealed');
my %info = @{ $redis->command('XINFO', 'STREAM', 'hoop:audit') };
cmp_ok($info{length}, '<', $info{'entries-added'},
    'MAXLEN trimmed the oldest entries');

sub verify {
    my $out = `$repo/tools/hoop-audit verify --redis ${\ $redis->addr} --public-key $d/seal.pub @_ 2>&1`;
    return ($? >> 8, $out);
}

my ($rc, $out) = verify();
is($rc, 0, 'the trimmed trail verifies') or diag $out;
# (trimming by whole stream nodes may cut between sessions: then only the
# checkpoints before the first kept say that something was trimmed)
like($out, qr/trimmed by retention: \d+ events, \d+ sessions begin before|\d+ checkpoints trimmed by retention/,
    'saying what was trimmed') or diag $out;

my $first = $redis->command('XRANGE', 'hoop:audit', '-', '+', 'COUNT', 1);
$redis->command('XDEL', 'hoop:audit', $first->[0][0]);
($rc, $out) = verify();
is($rc, 1, 'after one entry is deleted (XDEL), trimming is not assumed');
like($out, qr/Redis says entries were deleted from it one by one \(XDEL/,
    'the deletion is reported') or diag $out;
($rc, $out) = verify('--all');
like($out, qr/missing: deleted from the trail/,
    'and the missing oldest events as deleted') or diag $out;

$t->stop;

done_testing();

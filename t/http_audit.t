# hoop_audit on an ordinary proxy_pass location: every request becomes one
# event in a real Redis stream, with the verified identity, chained per
# client connection; tools/hoop-audit-verify accepts the trail and names
# the first broken link of an edited, reordered or thinned one; with Redis
# gone, requests get 503 (fail closed) or are served with a warning (fail
# open), and events flow again once Redis is back.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use JSON::PP;
use Hoop::JWT;
use Hoop::Test qw(repo_dir spit slurp wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Redis;

my $repo = repo_dir();
my $redis = Hoop::Test::Redis->new->start;
my $t = Hoop::Test::Nginx->new(workers => 2);
my $d = $t->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));
spit("$d/audit.key", "correct horse battery staple\n", 0600);

my $conf = sub {
    my ($fail) = @_;
    return <<"EOF";
http {
    hoop_redis 127.0.0.1:${\ $redis->port} timeout=500ms;
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file %%DIR%%/jwks.json;
    hoop_audit_key_file %%DIR%%/audit.key;
    hoop_audit_fail $fail;

    server {
        listen 127.0.0.1:%%PORT_http%%;
        hoop_audit on;

        location /api/ {
            hoop_auth on;
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
        }
        location /health {
            hoop_audit off;
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
        }
    }
    server {
        listen 127.0.0.1:%%PORT_backend%%;
        return 200 "ok\\n";
    }
}
EOF
};
$t->run($conf->('closed'));
$t->wait_redis(2);
my $base = 'http://127.0.0.1:' . $t->port('http');

my $token = $key->mint(header => { typ => 'at+jwt' }, claims => {
    iss => 'https://idp.test', aud => 'hoop-gateway', sub => 'agent-7',
    groups => ['dba'], exp => time + 600, jti => 't1' });

my $http = HTTP::Tiny->new(keep_alive => 1);
my @status = map {
    $http->get("$base/api/item/$_?secret=s3cr3t",
        { headers => { Authorization => "Bearer $token" } })->{status}
} 1 .. 3;
is_deeply(\@status, [200, 200, 200], 'three authenticated requests served');
is($http->get("$base/api/nope")->{status}, 401, 'one without a token: 401');
is(HTTP::Tiny->new->get("$base/health")->{status}, 200,
    'a location with hoop_audit off');

# (each worker's first checkpoint comes before its first event)
sub requests {
    return grep { $_->[1][5] !~ /"type":"audit\.checkpoint"/ }
        @{ $redis->command('XRANGE', 'hoop:audit', '-', '+') // [] };
}
wait_until(sub { (my @r = requests()) >= 4 }, 'four events in the stream');
is(scalar(my @r = requests()), 4,
    'one event per audited request, none for hoop_audit off');

my $entries = [requests()];
my @ev = map { { @{ $_->[1] } } } @$entries;
my @events = map { decode_json($_->{event}) } @ev;

is($events[0]{type}, 'http.request', 'events are http.request');
is($events[0]{v}, 1, 'schema version 1');
is($events[0]{identity}{sub}, 'agent-7', 'with the verified identity');
is_deeply($events[0]{identity}{groups}, ['dba'], 'and its groups');
is($events[0]{request}{path}, '/api/item/1', 'the path');
unlike($entries->[0][1][5], qr/s3cr3t/, 'not the query string');
is($events[0]{response}{status}, 200, 'the status');
is($events[0]{decision}{result}, 'allow', 'allowed');
is($events[3]{response}{status}, 401, 'the refused request has its event');
is($events[3]{identity}, undef, 'without an identity');
is($events[3]{decision}{result}, 'deny', 'denied');
is_deeply([map { $_->{seq} } @ev], [1, 2, 3, 4],
    'one keep-alive connection is one session, numbered in order');
is(scalar(keys %{ { map { $_->{session} => 1 } @ev } }), 1, 'one session');
like($ev[0]{session}, qr/^[0-9a-f]{32}$/, 'a random session id');
ok(!grep({ $_->{event} =~ /\Q$token\E/ } @ev), 'no token in any event');

sub verify {
    my (@args) = @_;
    my $out = `$repo/tools/hoop-audit-verify @args 2>&1`;
    return ($? >> 8, $out);
}

my ($rc, $out) = verify('--redis', $redis->addr, '--key-file', "$d/audit.key",
    '--export', "$d/trail.jsonl");
is($rc, 0, 'the verifier accepts the trail') or diag $out;
like($out, qr/^ok: 4 events in 1 sessions/, 'and says what it checked');

($rc, $out) = verify('--redis', $redis->addr);
is($rc, 1, 'without the audit key the hashes do not match');

# tampering, on an export

# the first checkpoint, then the four events
my ($cp, @lines) = split /\n/, slurp("$d/trail.jsonl");
like($cp, qr/audit\.checkpoint/, 'the worker\'s first checkpoint comes first');
my $edit = sub {
    my ($name, @l) = @_;
    spit("$d/$name.jsonl", join("\n", $cp, @l) . "\n");
    return verify('--file', "$d/$name.jsonl", '--key-file', "$d/audit.key");
};

my $e = decode_json($lines[1]);
$e->{event} =~ s/"status":200/"status":404/;
($rc, $out) = $edit->('edited', $lines[0], encode_json($e), @lines[2, 3]);
is($rc, 1, 'an edited event is detected');
like($out, qr/BROKEN at \Q$entries->[1][0]\E: session \w+, event 2 was changed after it was written: its content does not match its hash/,
    'naming the entry and the link') or diag $out;

($rc, $out) = $edit->('no-first', @lines[1, 2, 3]);
is($rc, 1, 'a trail without its first event is broken');
like($out, qr/event\(s\) 1\.\.1 are missing: deleted/, 'named') or diag $out;

# what MAXLEN leaves: the oldest entries gone, the checkpoint with them
spit("$d/window.jsonl", join("\n", @lines[1, 2, 3]) . "\n");
($rc, $out) = verify('--file', "$d/window.jsonl", '--key-file',
    "$d/audit.key");
is($rc, 1, 'the oldest entries gone, not said to be trimmed: broken');
($rc, $out) = verify('--file', "$d/window.jsonl", '--key-file',
    "$d/audit.key", '--window');
is($rc, 0, '--window: a trimmed trail anchors on its first event')
    or diag $out;

($rc, $out) = $edit->('deleted', @lines[0, 2, 3]);
like($out, qr/event\(s\) 2\.\.2 are missing: deleted/, 'a deleted event is detected')
    or diag $out;

# reordered as a rewrite of the stream would: ids still growing
my @re = map { decode_json($_) } @lines[0, 2, 1, 3];
($re[1]{id}, $re[2]{id}) = ($re[2]{id}, $re[1]{id});
($rc, $out) = $edit->('reordered', map { encode_json($_) } @re);
like($out, qr/event 2 is stored after event 3: the trail's order was changed/,
    'reordered events are detected as such, not as deleted') or diag $out;

# Redis gone: fail closed.  Its data is kept (SAVE, loaded again at
# start), as a production Redis keeps it: a Redis that comes back empty
# has lost the trail's checkpoints, which the verifier rightly reports

$redis->command('SAVE');
$redis->stop;
wait_until(sub { $t->error_log =~ /hoop redis \(http\): .*disconnected|Connection refused/ },
    'the gateway to notice Redis is gone');
my $res = HTTP::Tiny->new->get("$base/api/item/9",
    { headers => { Authorization => "Bearer $token" } });
is($res->{status}, 503, 'Redis down, hoop_audit_fail closed: 503');
like($t->error_log, qr/hoop_audit: neither Redis nor the spool can take events, request refused/,
    'with a log line saying why');
is(HTTP::Tiny->new->get("$base/health")->{status}, 200,
    'locations without audit keep serving');

# and back

$redis->start;
wait_until(sub {
    HTTP::Tiny->new->get("$base/api/item/10",
        { headers => { Authorization => "Bearer $token" } })->{status} == 200
}, 'audited requests to be served again');
wait_until(sub { ($redis->command('XLEN', 'hoop:audit') // 0) >= 1 },
    'the new event');
($rc, $out) = verify('--redis', $redis->addr, '--key-file', "$d/audit.key");
is($rc, 0, 'after the restart the new trail verifies') or diag $out;

$t->stop;

# fail open: served without events, loudly

my $t2 = Hoop::Test::Nginx->new(workers => 1);
spit($t2->dir . '/jwks.json', Hoop::JWT->jwks_json($key));
spit($t2->dir . '/audit.key', "k\n", 0600);
$redis->stop;
$t2->run($conf->('open'));
$res = HTTP::Tiny->new->get('http://127.0.0.1:' . $t2->port('http')
    . '/api/x', { headers => { Authorization => "Bearer $token" } });
is($res->{status}, 200, 'hoop_audit_fail open: served while Redis is down');
like($t2->error_log, qr/request served without its audit events/,
    'and logged');
$t2->stop;

done_testing;

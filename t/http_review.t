# hoop_rule review: a request is held (no worker blocked) until a human
# decides through the reviewer API of another gateway sharing the same
# Redis; approval releases it to its upstream, rejection answers 403 with
# the reviewer's reason, expiry 504; requesters cannot approve their own
# request, only the rule's approver groups may decide, N-of-M approvals
# count distinct reviewers, a client that leaves cancels its review, and a
# decision made while the gateway's subscription is down still arrives.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use Hoop::JWT;
use Hoop::Test qw(repo_dir spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Redis;

my $repo = repo_dir();
my $redis = Hoop::Test::Redis->new->start;
my $gw = Hoop::Test::Nginx->new(workers => 1);
my $api = Hoop::Test::Nginx->new;
my $d = $gw->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));

# the webhook receiver: this test itself, one notification taken
my $hook = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Listen => 8, ReuseAddr => 1) or die "listen: $!";
my $hook_port = $hook->sockport;

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
    hoop_review_webhook http://127.0.0.1:$hook_port/hook timeout=2s;
    server {
        listen 127.0.0.1:%%PORT_http%%;
        hoop_audit on;
        location /api/ {
            hoop_auth on;
            hoop_rule review name=deploys method=POST path=/api/deploy*
                approvers=sre;
            hoop_rule review name=payroll method=POST path=/api/payroll
                approvers=sre,finance count=2;
            hoop_rule review name=quick method=POST path=/api/quick
                approvers=sre timeout=2s;
            hoop_rule review name=restarts method=POST path=/api/restart
                approvers=sre grant=3s;
            hoop_rule allow name=reads method=GET;
            hoop_default deny;
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
        }
        location /health {
            return 200 "ok\\n";
        }
    }
    server {
        listen 127.0.0.1:%%PORT_backend%%;
        location / {
            return 200 "done \$request_method \$uri\\n";
        }
    }
}
EOF
$gw->wait_redis(3);    # audit, review commands, subscriber

$api->run(<<"EOF");
http {
$common
    server {
        listen 127.0.0.1:%%PORT_http%%;
        location /hoop/ {
            hoop_auth on;
            hoop_audit on;
            hoop_review_api auditors=audit;
        }
    }
}
EOF
$api->wait_redis(3);    # audit, review commands, subscriber

my $gw_port = $gw->port('http');
my $api_base = 'http://127.0.0.1:' . $api->port('http') . '/hoop/reviews';

sub token {
    my ($sub, @groups) = @_;
    return $key->mint(claims => { iss => 'https://idp.test',
        aud => 'hoop-gateway', sub => $sub, groups => \@groups,
        exp => time + 600 });
}

my %tok = (
    agent => token('agent-7', 'dev'),
    sre1 => token('sre-1', 'sre'),
    sre2 => token('sre-2', 'sre'),
    sre3 => token('sre-3', 'sre'),
    fin1 => token('fin-1', 'finance'),
    dev => token('dev-2', 'dev'),
    auditor => token('aud-1', 'audit'),
);

# a request sent now, answered later: the held client
sub send_held {
    my ($path, $who) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $gw_port) or die "connect: $!";
    print $s "POST $path HTTP/1.1\r\nHost: gw\r\n"
        . "Authorization: Bearer $tok{$who}\r\nContent-Length: 0\r\n"
        . "Connection: close\r\n\r\n";
    return $s;
}

sub answer {
    my ($s) = @_;
    local $SIG{ALRM} = sub { die "no answer\n" };
    alarm 20;
    my $resp = do { local $/; <$s> };
    alarm 0;
    my ($status) = $resp =~ m{^HTTP/1\.1 (\d+)};
    my ($body) = $resp =~ /\r\n\r\n(.*)\z/s;
    return ($status, $body);
}

sub answered {
    my ($s) = @_;
    return IO::Select->new($s)->can_read(0) ? 1 : 0;
}

my $http = HTTP::Tiny->new;

sub api {
    my ($method, $path, $who, $body) = @_;
    my $r = $http->request($method, "$api_base$path", {
        headers => { Authorization => "Bearer $tok{$who}",
                     'Content-Type' => 'application/json' },
        defined $body ? (content => encode_json($body)) : () });
    my $json = eval { decode_json($r->{content}) };
    return ($r->{status}, $json);
}

# the newest pending review for a path, once the gateway has created it
sub pending_review {
    my ($path) = @_;
    my $review;
    wait_until(sub {
        my ($st, $list) = api('GET', '?status=pending', 'sre1');
        ($review) = grep { $_->{operation}{path} eq $path } @{ $list // [] };
        $review;
    }, "a pending review of $path");
    return $review;
}

# approval, from the other gateway

my $held = send_held('/api/deploy', 'agent');
my $review = pending_review('/api/deploy');
like($review->{id}, qr/^[0-9a-f]{32}$/, 'the review has a random id');
is($review->{requester}, 'agent-7', 'the requester');
is($review->{identity}{groups}[0], 'dev', 'and their identity');
is($review->{rule}, 'deploys', 'the rule');
is($review->{approvers}, 'sre', 'the approver groups');
is($review->{operation}{method}, 'POST', 'what was asked');
is($review->{required}, 1, 'one approval needed');

{
    local $SIG{ALRM} = sub { die "no webhook\n" };
    alarm 10;
    my $c = $hook->accept;
    my $req = '';
    while ($req !~ /\r\n\r\n/) { sysread($c, $req, 4096, length $req) }
    my ($len) = $req =~ /Content-Length: (\d+)/i;
    my ($head, $body) = split /\r\n\r\n/, $req, 2;
    while (length($body) < $len) { sysread($c, $body, 4096, length $body) }
    alarm 0;
    print $c "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
    close $c;
    like($head, qr{^POST /hook HTTP/1\.[01]\r\n}, 'a webhook POST announces it');
    my $note = decode_json($body);
    is($note->{type}, 'review.requested', 'review.requested');
    is($note->{id}, $review->{id}, 'with the review id');
    is($note->{operation}{path}, '/api/deploy', 'what is asked');
    is($note->{identity}{sub}, 'agent-7', 'by whom');
    is($note->{approvers}, 'sre', 'and who may decide');
    close $hook;    # the later ones are refused: best effort, only logged
}

is(HTTP::Tiny->new->get("http://127.0.0.1:$gw_port/health")->{status}, 200,
    'while it waits, the same single worker serves other requests');
ok(!answered($held), 'the held request has no answer yet');

my ($st, $res) = api('GET', "/$review->{id}", 'sre2');
is($st, 200, 'a review can be shown');
is($res->{status}, 'pending', 'pending');
is(ref $res->{approved_by}, 'ARRAY', 'no approvals yet: an empty list');

my $bad = $http->request('POST', "$api_base/$review->{id}/approve", {
    headers => { Authorization => "Bearer $tok{sre1}" },
    content => 'reason: not json' });
is($bad->{status}, 400, 'a body that is not JSON: 400, nothing decided');
($st, $res) = api('GET', '/not-a-review-id', 'sre1');
is($st, 404, 'a malformed id: 404');
is($res->{error}, 'not_found', 'with a JSON error');
($st, $res) = api('GET', "/$review->{id}/nonsense", 'sre1');
is($st, 404, 'an unknown action: 404');
unlike($api->error_log, qr/exited on signal/, 'and the worker lives on');
is(HTTP::Tiny->new->get($api_base)->{status}, 401,
    'no token: 401, reviewers are identified');

($st, $res) = api('POST', "/$review->{id}/approve", 'dev');
is($st, 403, 'someone outside the approver groups cannot decide');
is($res->{result}, 'not_approver', 'and is told why');

($st, $res) = api('POST', "/$review->{id}/approve", 'sre1',
    { reason => 'ok for today' });
is($st, 200, 'an SRE approves');
is($res->{result}, 'approved', 'approved');

my ($status, $body) = answer($held);
is($status, 200, 'the held request is released');
is($body, "done POST /api/deploy\n", 'and reaches its upstream');

($st, $res) = api('POST', "/$review->{id}/reject", 'sre2');
is($st, 409, 'a decided review cannot be decided again');
is($res->{status}, 'approved', 'it stays approved');

# rejection

$held = send_held('/api/deploy-prod', 'agent');
$review = pending_review('/api/deploy-prod');
($st, $res) = api('POST', "/$review->{id}/reject", 'sre2',
    { reason => 'not during the freeze' });
is($st, 200, 'an SRE rejects');
($status, $body) = answer($held);
is($status, 403, 'the held request gets 403');
my $err = decode_json($body);
is($err->{error}, 'review_rejected', 'saying it was rejected');
like($err->{message}, qr/rejected by sre-2: not during the freeze/,
    'by whom and why');

# self-approval

$held = send_held('/api/deploy', 'sre3');
$review = pending_review('/api/deploy');
($st, $res) = api('POST', "/$review->{id}/approve", 'sre3');
is($st, 403, 'a requester cannot approve their own request');
is($res->{result}, 'self', 'self-approval');
ok(!answered($held), 'the request is still held');
api('POST', "/$review->{id}/approve", 'sre1');
($status) = answer($held);
is($status, 200, 'another SRE can');

# N of M

$held = send_held('/api/payroll', 'agent');
$review = pending_review('/api/payroll');
is($review->{required}, 2, 'two approvals needed');
($st, $res) = api('POST', "/$review->{id}/approve", 'sre1');
is($res->{result}, 'recorded', 'the first is recorded');
is($res->{approvals}, 1, 'one of two');
($st, $res) = api('POST', "/$review->{id}/approve", 'sre1');
is($st, 409, 'the same reviewer does not count twice');
is($res->{result}, 'already', 'already approved by them');
ok(!answered($held), 'still held after one approval');
($st, $res) = api('POST', "/$review->{id}/approve", 'fin1');
is($res->{result}, 'approved', 'a second approver, of another group');
($status) = answer($held);
is($status, 200, 'released after two');

# expiry

$held = send_held('/api/quick', 'agent');
($status, $body) = answer($held);
is($status, 504, 'no decision within the timeout: 504');
is(decode_json($body)->{error}, 'review_expired', 'review_expired');
$review = (grep { $_->{operation}{path} eq '/api/quick' }
    @{ (api('GET', '', 'sre1'))[1] })[0];
is($review->{status}, 'expired', 'the review is marked expired');
($st, $res) = api('POST', "/$review->{id}/approve", 'sre1');
is($st, 409, 'and can no longer be approved');

# the same through the tool a reviewer uses (token in a file, never on the
# command line)

$held = send_held('/api/deploy-tool', 'agent');
$review = pending_review('/api/deploy-tool');
spit("$d/sre2.token", "$tok{sre2}\n", 0600);
my $tool = "$repo/tools/hoop-audit reviews";
my $list = `$tool list --api $api_base --token-file $d/sre2.token --status pending`;
like($list, qr/^\Q$review->{id}\E\s+pending\s+agent-7\s+deploys\s+0\/1\s+POST gw\/api\/deploy-tool$/m,
    'hoop-audit reviews list: the pending review, its requester, rule and'
    . ' operation') or diag $list;
my $one = `$tool show $review->{id} --api $api_base --token-file $d/sre2.token`;
like($one, qr/^approvers:\s+sre$/m, 'reviews show: who may decide')
    or diag $one;
my $dec = `$tool approve $review->{id} --api $api_base --token-file $d/sre2.token --reason 'tool ok'`;
is($? >> 8, 0, 'reviews approve succeeds');
like($dec, qr/^approve: approved \(1 of 1 approvals, status approved\)/,
    'and says so') or diag $dec;
($status) = answer($held);
is($status, 200, 'the held request goes on');
$dec = `HOOP_TOKEN='$tok{sre2}' $tool reject $review->{id} --api $api_base --reason late 2>&1`;
isnt($? >> 8, 0, 'deciding again fails');
like($dec, qr/reject: decided/, 'saying it was decided') or diag $dec;

# who sees a review: its requester, its approvers, the auditors; nobody
# else, not even by listing (agents must not learn what other agents do)

$held = send_held('/api/deploy-secret', 'agent');
$review = pending_review('/api/deploy-secret');
my $sees = sub {
    my ($who) = @_;
    my ($st, $list) = api('GET', '', $who);
    my $listed = grep { $_->{id} eq $review->{id} } @{ $list // [] };
    my ($st1) = api('GET', "/$review->{id}", $who);
    return "listed=$listed get=$st1";
};
is($sees->('dev'), 'listed=0 get=404',
    'another agent neither lists nor reads it: to them it does not exist');
is($sees->('agent'), 'listed=1 get=200', 'its requester sees it');
is($sees->('sre1'), 'listed=1 get=200', 'its approvers see it');
is($sees->('auditor'), 'listed=1 get=200',
    'the auditors (hoop_review_api auditors=audit) see it');
($st, $res) = api('GET', '?status=pending', 'dev');
ok(!grep({ $_->{id} eq $review->{id} } @$res),
    'a pending list hides it from others too');
($st, $res) = api('POST', "/$review->{id}/approve", 'auditor');
is($res->{result}, 'not_approver', 'seeing is not deciding');
($st, $res) = api('POST', "/$review->{id}/reject", 'sre1', { reason => 'no' });
is($res->{result}, 'rejected', 'an approver rejects it');
($status) = answer($held);
is($status, 403, 'and the client has its answer');

# a client that leaves

$held = send_held('/api/deploy-staging', 'agent');
$review = pending_review('/api/deploy-staging');
close $held;
wait_until(sub { (api('GET', "/$review->{id}", 'sre1'))[1]{status}
    eq 'cancelled' }, 'the review to be cancelled');
pass('a client that disconnects cancels its review');
my $left;
wait_until(sub {
    ($left) = grep { $_->{type} eq 'http.request'
        && ($_->{decision}{review}{id} // '') eq $review->{id} }
        map { decode_json({ @{ $_->[1] } }->{event}) }
        @{ $redis->command('XRANGE', 'hoop:audit', '-', '+') };
    $left;
}, 'the event of the request whose client left');
is($left->{decision}{review}{status}, 'cancelled',
    'and its request\'s event says cancelled too, not pending');
is($left->{decision}{result}, 'deny', 'denied: it never ran');

# a decision while the gateway's subscription is down

$held = send_held('/api/deploy-eu', 'agent');
$review = pending_review('/api/deploy-eu');
$redis->command('CLIENT', 'KILL', 'TYPE', 'pubsub');
api('POST', "/$review->{id}/approve", 'sre1');
($status) = answer($held);
is($status, 200, 'the gateway re-reads what it may have missed');

# a just-in-time grant: one approval lets the requester through for a while

$held = send_held('/api/restart', 'agent');
my $grant_review = pending_review('/api/restart');
is($grant_review->{grant}, 3000, 'the review says what approval grants');
api('POST', "/$grant_review->{id}/approve", 'sre1');
($status) = answer($held);
is($status, 200, 'approved: released');

my $again = send_held('/api/restart', 'agent');
($status, $body) = answer($again);
is($status, 200, 'the same requester goes through again without a review');
is($body, "done POST /api/restart\n", 'to the upstream');
my @pending = grep { $_->{operation}{path} eq '/api/restart' }
    @{ (api('GET', '?status=pending', 'sre1'))[1] };
is(scalar(@pending), 0, 'no new review was created');

my $other = send_held('/api/restart', 'dev');
my $other_review = pending_review('/api/restart');
isnt($other_review->{id}, $grant_review->{id},
    'the grant is the requester\'s alone: another identity is reviewed');
close $other;

wait_until(sub { $redis->command('PTTL',
    'hoop:grant:restarts:agent-7') == -2 }, 'the grant to expire', 10);
$held = send_held('/api/restart', 'agent');
$review = pending_review('/api/restart');
isnt($review->{id}, $grant_review->{id},
    'once the grant has expired, the requester is reviewed again');
close $held;

wait_until(sub { $redis->command('ZCARD', 'hoop:reviews:pending') == 0 },
    'the pending index to empty');
pass('every review that ended left the pending index');

# the evidence

my @events = map { decode_json({ @{ $_->[1] } }->{event}) }
    @{ $redis->command('XRANGE', 'hoop:audit', '-', '+') };
my @decided = grep { $_->{type} eq 'review.decided' } @events;
ok(scalar(@decided) >= 8, 'every decision is an audit event');
my ($approval) = grep { $_->{review}{result} eq 'approved' } @decided;
is($approval->{identity}{sub}, 'sre-1', 'with the reviewer identity');
is($approval->{review}{reason}, 'ok for today', 'and the reason');
my ($self) = grep { $_->{review}{result} eq 'self' } @decided;
is($self->{identity}{sub}, 'sre-3', 'refused attempts are recorded too');
my ($req) = grep { $_->{type} eq 'http.request'
    && $_->{request}{path} eq '/api/deploy-prod' } @events;
is($req->{decision}{result}, 'deny', 'the rejected request: deny');
is($req->{decision}{review}{status}, 'rejected', 'with its review');
is($req->{decision}{review}{decided_by}, 'sre-2', 'and who decided');
my @requested = grep { $_->{type} eq 'review.requested' } @events;
ok(scalar(@requested) >= 7, 'every hold is an audit event of the requester');
is($requested[0]{identity}{sub}, 'agent-7', 'with their identity');
is($requested[0]{review}{rule}, 'deploys', 'the rule');
like($requested[0]{review}{id}, qr/^[0-9a-f]{32}$/, 'and the review id');
my ($held_ev) = grep { $_->{request}{path} eq '/api/deploy-prod' } @requested;
is($held_ev->{session}, $req->{session}, 'in the session of the request');
is($held_ev->{seq} + 1, $req->{seq}, 'chained just before its outcome');
my ($granted) = grep { $_->{type} eq 'http.request'
    && $_->{request}{path} eq '/api/restart'
    && $_->{decision}{grant} } @events;
is($granted->{decision}{grant}{review}, $grant_review->{id},
    'a request let through by a grant is audited with its review');
ok($granted->{decision}{grant}{left_ms} > 0, 'and the time the grant had');
is($granted->{decision}{result}, 'allow', 'allowed');
my $entries = $redis->command('XRANGE', 'hoop:reviews', '-', '+');
ok(scalar(@$entries) >= 7, 'each review was announced on hoop:reviews');

$gw->stop;
$api->stop;
done_testing;

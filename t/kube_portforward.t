# hoop_kube port-forwards: decided by the ports they name (ports=, read as
# the API server reads it), held for review like an exec, and recorded as
# kube.portforward events with the tunnel's bytes each way.  The tunnel
# itself carries any protocol and is relayed as it is.  Clients:
# @kubernetes/client-node 1.4 (WebSocket, ports in the query) and kubectl
# (its tunnel names no ports in the query: it meets every port= of a deny).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use IO::Socket::SSL;
use JSON::PP;
use Hoop::JWT;
use Hoop::Test qw(spit slurp wait_until spawn reap);
use Hoop::Test::Nginx;
use Hoop::Test::Redis;
use Hoop::Test::KubeAPI;

my $redis = Hoop::Test::Redis->new->start;
my $t = Hoop::Test::Nginx->new(workers => 1, log_level => 'info');
my $d = $t->dir;
my $key = Hoop::Test::KubeAPI->gateway_files($d);

my $api = Hoop::Test::KubeAPI->new(dir => $d)->start;
my $kube = $api->location("$d/sa.token");

$t->run(<<"EOF");
http {
${\ Hoop::Test::KubeAPI->http_conf($d, $redis->port) }
    server {
        listen 127.0.0.1:%%PORT_https%% ssl;
        ssl_certificate $d/gw.pem;
        ssl_certificate_key $d/gw.key;
        hoop_audit on;

        location / {
$kube
            hoop_rule deny name=no-ssh port=22 "reason=no ssh tunnels";
            hoop_rule review name=admin port=9* approvers=sre timeout=5s;
            hoop_rule allow name=db-tunnel subresource=portforward
                port=5432,8080;
            hoop_rule allow name=reads verb=get,list,watch;
            hoop_default deny;
        }
    }

    # an allow of one-digit ports only, and nothing else
    server {
        listen 127.0.0.1:%%PORT_digit%% ssl;
        ssl_certificate $d/gw.pem;
        ssl_certificate_key $d/gw.key;
        hoop_audit on;

        location / {
$kube
            hoop_rule allow name=one-digit port=?;
            hoop_default deny;
        }
    }
}
EOF
$t->wait_redis(3);

my $rv = Hoop::Test::Nginx->new;
$rv->run(<<"EOF");
http {
${\ Hoop::Test::KubeAPI->http_conf($d, $redis->port) }
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
$rv->wait_redis(3);

my $gw = 'https://127.0.0.1:' . $t->port('https');

sub token { Hoop::Test::KubeAPI->token($key, @_) }

my $agent = token('agent-7', 'dev');
my $sre = token('sre-1', 'sre');
my $kc = Hoop::Test::KubeAPI->kubeconfig("$d/kc", $gw, $agent, 'staging');

sub events {
    my ($type) = @_;
    return grep { $_->{type} eq $type } $redis->events('hoop:audit');
}

# the kube.portforward event of the request whose query matched
sub pf_event {
    my ($query) = @_;
    my $e;
    wait_until(sub {
        ($e) = grep { ($_->{request}{path} // '') =~ /portforward/
                      && ($_->{kube}{ports} // 0) && $query->($_) }
               events('kube.portforward');
        $e;
    }, 'the kube.portforward event');
    return $e;
}

# the upgrades the stand-in answered for a query matching $re
sub upgrades {
    my ($re) = @_;
    return grep { $_->{answer} && $_->{path} =~ /portforward$/
                  && $_->{query} =~ $re } $api->seen(sub { 1 });
}

# a WebSocket port-forward written by hand: the status and Status body
sub raw_pf {
    my ($query, $protocol, $server) = @_;
    my $s = IO::Socket::SSL->new(PeerAddr => '127.0.0.1',
        PeerPort => $t->port($server // 'https'),
        SSL_verify_mode => SSL_VERIFY_NONE)
        or die "connect: $SSL_ERROR";
    print $s "GET /api/v1/namespaces/staging/pods/web/portforward?$query"
        . " HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer $agent\r\n"
        . "Upgrade: websocket\r\n"
        . "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        . "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        . "Sec-WebSocket-Protocol: " . ($protocol // 'v4.channel.k8s.io')
        . "\r\n\r\n";
    my $head = '';
    while (defined(my $line = <$s>)) {
        $head .= $line;
        last if $line eq "\r\n";
    }
    my ($status) = $head =~ m{^HTTP/1\.1 (\d+)};
    my ($len) = $head =~ /^Content-Length: (\d+)/mi;
    my $body = '';
    read($s, $body, $len) if $len;
    return ($status // 0, $body);
}

sub node_pf {
    my ($port, $bytes) = @_;
    system("node $FindBin::Bin/node/kube-portforward.mjs $kc staging web"
        . " $port $bytes </dev/null >$d/pf.out 2>$d/pf.err");
    return ($? >> 8, slurp("$d/pf.out"), slurp("$d/pf.err"));
}

subtest 'client-node: an allowed tunnel, its bytes recorded' => sub {
    my $n = 300_000;
    my ($rc, $out, $err) = node_pf(5432, $n);
    is($rc, 0, 'the port-forward ran') or diag $err;
    my $greeting = length "pod:5432\n";
    like($out, qr/^RECEIVED (\d+)$/m, 'the pod answered through the tunnel');
    my ($got) = $out =~ /RECEIVED (\d+)/;
    is($got, $n + $greeting, '... its greeting and every byte back');

    my $e = pf_event(sub { $_[0]{kube}{ports}[0] == 5432 });
    is_deeply($e->{kube}{ports}, [5432], 'the event names the port');
    is($e->{decision}{result}, 'allow', '... allowed');
    is($e->{decision}{rule}, 'db-tunnel', '... by the rule naming it');
    is($e->{identity}{sub}, 'agent-7', '... for the agent');
    is($e->{response}{status}, 101, '... upgraded');
    my $tun = $e->{kube}{tunnel};
    ok($tun, 'the tunnel is summed up') or return;
    # client frames: a header (<= 14 bytes) and a channel byte each; the
    # headers of the upgrade (some hundred bytes) are not the tunnel's
    cmp_ok($tun->{bytes_to_pod}, '>=', $n, 'bytes to the pod: all sent');
    cmp_ok($tun->{bytes_to_pod}, '<', $n + 200,
           '... and no more than their framing');
    cmp_ok($tun->{bytes_from_pod}, '>=', $n + $greeting + 4,
           'bytes from the pod: all it sent (two ports announced)');
    cmp_ok($tun->{bytes_from_pod}, '<', $n + $greeting + 200,
           '... and no more than their framing');
    ok(defined $tun->{duration_ms}, '... and how long it was open');
    is($e->{kube}{command}, undef, 'no command for a tunnel');
};

subtest 'a port a deny names is refused, however it is spelled' => sub {
    my ($rc, $out, $err) = node_pf(22, 10);
    isnt($rc, 0, 'client-node: refused');
    like($err, qr/^ERROR .*403/m, '... with the 403');

    for my $q ('ports=22', 'ports=5432,22', 'ports=5432&ports=22',
               'ports=0022', 'ports=00000000000000000022')
    {
        my ($status, $body) = raw_pf($q);
        is($status, 403, "$q: 403");
        my $st = eval { decode_json($body) } // {};
        like($st->{message} // '', qr/no ssh tunnels.*no-ssh/,
             '... the rule\'s reason in a Status');
    }
    is(scalar upgrades(qr/22/), 0, 'none reached the API server');
};

subtest 'ports the server would not read, or too many: 400' => sub {
    for my $q ('ports=22x', 'ports=+22', 'ports=', 'ports=5432,',
               'ports=65536', 'ports=' . join(',', (5432) x 17))
    {
        my ($status, $body) = raw_pf($q);
        is($status, 400, "$q: 400");
    }
    my ($status, $body) = raw_pf('ports=5432%2C22');
    is($status, 403, 'an escaped comma is a comma to the server too: 403');
};

subtest 'an allow names every port of the tunnel' => sub {
    my ($status) = raw_pf('ports=5432&ports=8080');
    is($status, 101, 'ports=5432&ports=8080: both allowed');
    ($status) = raw_pf('ports=5432,6379');
    is($status, 403, 'ports=5432,6379: one not allowed, refused');
    ($status) = raw_pf('ports=6379');
    is($status, 403, 'a port no rule names: the default');
    my $e = pf_event(sub { "@{ $_[0]{kube}{ports} }" eq '5432 6379' });
    is($e->{decision}{result}, 'deny', 'the refusal recorded');
    is_deeply($e->{kube}{ports}, [5432, 6379], '... with both ports');
    is($e->{kube}{tunnel}, undef, '... and no tunnel');
};

subtest 'a port-forward is not a read: verb=get does not allow it' => sub {
    # the API server authorizes a WebSocket stream as get and create
    my ($status) = raw_pf('ports=7000');
    is($status, 403, 'allow verb=get,list,watch lets no tunnel through');
    ($status) = raw_pf('ports=7000&watch=1');
    is($status, 403, '... nor with watch=1 (no watch of a named object)');
};

subtest 'a tunnel that names its ports inside: ports= is not what it reaches'
    => sub {
    # the kubelet reads the ports of a SPDY tunnel in each of its streams
    for my $protocol ('SPDY/3.1+portforward.k8s.io',
                      'v4.channel.k8s.io, SPDY/3.1+portforward.k8s.io',
                      'portforward.k8s.io', 'v4.channel.k8s.io,x')
    {
        my ($status, $body) = raw_pf('ports=5432', $protocol);
        is($status, 403, "ports=5432 offering $protocol: refused");
        like($body, qr/no ssh tunnels/,
             '... by the deny on a port it might reach');
    }
    my $e = pf_event(sub { 1 });
    ($e) = grep { ($_->{kube}{subresource} // '') eq 'portforward'
                  && ($_->{decision}{rule} // '') eq 'no-ssh'
                  && !defined $_->{kube}{ports} }
           events('kube.portforward');
    ok($e, 'the event says its ports are unknown (null)');
    my ($status) = raw_pf('ports=5432',
                          'v4.base64.channel.k8s.io, v4.channel.k8s.io');
    is($status, 101, 'the protocols that read ports= from the query: allowed');
};

subtest 'an allow\'s port=? is not "any port"' => sub {
    my ($status) = raw_pf('ports=7', undef, 'digit');
    is($status, 101, 'ports=7: one digit, allowed');
    ($status) = raw_pf('', undef, 'digit');
    is($status, 403, 'no ports at all: only port=* would allow it');
    ($status) = raw_pf('ports=7', 'SPDY/3.1+portforward.k8s.io', 'digit');
    is($status, 403, 'ports=7 over a SPDY tunnel: the same');
};

# the reviewers' API, as sre-1
sub api {
    my ($method, $path, $body) = @_;
    my $r = HTTP::Tiny->new->request($method, 'http://127.0.0.1:'
        . $rv->port('http') . "/hoop/reviews$path", {
        headers => { Authorization => "Bearer $sre",
                     'Content-Type' => 'application/json' },
        defined $body ? (content => encode_json($body)) : () });
    return ($r->{status}, eval { decode_json($r->{content}) });
}

subtest 'a tunnel to an admin port, held for review' => sub {
    my $pid = spawn(cmd => ['sh', '-c', "exec node"
        . " $FindBin::Bin/node/kube-portforward.mjs $kc staging web 9090 64"
        . " </dev/null >$d/held.out 2>$d/held.err"]);
    my $review;
    wait_until(sub {
        my (undef, $list) = api('GET', '?status=pending');
        ($review) = grep { ($_->{operation}{kind} // '') eq 'kube.portforward' }
                    @{ $list // [] };
        $review;
    }, 'the pending review');
    is_deeply($review->{operation}{kube}{ports}, [9090],
              'the reviewer sees the port');
    is($review->{rule}, 'admin', '... and the rule');
    is(scalar upgrades(qr/9090/), 0, 'while held, nothing reached the server');
    my ($st) = api('POST', "/$review->{id}/approve", { reason => 'ok' });
    is($st, 200, 'sre-1 approves');
    my $status = reap($pid, 30);
    is($status, 0, 'the tunnel then runs') or diag slurp("$d/held.err");
    like(slurp("$d/held.out"), qr/^RECEIVED \d+$/m, '... both ways');
};

SKIP: {
    skip 'no kubectl on this machine: its port-forward is not run', 1
        unless `sh -c "command -v kubectl"` =~ /\S/;

subtest 'kubectl port-forward: its tunnel names no port, a deny holds' => sub {
    # kubectl opens its tunnel before it listens: WebSocket, then SPDY
    my $pid = spawn(cmd => ['sh', '-c', "HOME=$d KUBECONFIG=$kc exec kubectl"
        . " port-forward pod/web 15432:5432 >$d/kpf.out 2>$d/kpf.err"]);
    my $status = reap($pid, 30);
    ok(defined $status && $status != 0, 'kubectl gives up');
    like(slurp("$d/kpf.err"), qr/hoop: no ssh tunnels \(rule "no-ssh"\)/,
         '... printing the rule\'s reason') or diag slurp("$d/kpf.err");
    unlike(slurp("$d/kpf.out"), qr/Forwarding from/, '... forwarding nothing');
    # (its SPDY attempt is refused before the rules: not served here)
    my @pf = grep { ($_->{kube}{subresource} // '') eq 'portforward'
                    && !$_->{kube}{ports} && !$_->{kube}{refused} }
             events('kube.portforward');
    ok(@pf, 'the refused tunnel is recorded, its ports unknown');
    is($pf[0]{decision}{rule}, 'no-ssh',
       '... refused by the deny on a port it might reach');
};
}

$rv->stop;
$t->stop;
done_testing();

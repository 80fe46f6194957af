# hoop_kube: kubectl in front of a Kubernetes API server (the stand-in,
# which speaks the real exec protocol) through the gateway.  Requests are
# decided as the API server reads them; an exec by what it runs, before
# the connection is upgraded, and the same over WebSocket and over the
# SPDY kubectl falls back to; a refusal is a Status kubectl prints; the
# server sees the gateway's token, never the agent's; each exec is a
# kube.exec event with who, where and the command (its secrets masked).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use IO::Socket::SSL;
use JSON::PP;
use MIME::Base64;
use Hoop::JWT;
use Hoop::Test qw(spit slurp wait_until spawn reap);
use Hoop::Test::Nginx;
use Hoop::Test::Redis;
use Hoop::Test::KubeAPI;

my $redis = Hoop::Test::Redis->new->start;
# info: debug lines for every piece of 100 MB would fill the disk
my $t = Hoop::Test::Nginx->new(workers => 2, log_level => 'info');
my $d = $t->dir;
my $key = Hoop::Test::KubeAPI->gateway_files($d);

my $api = Hoop::Test::KubeAPI->new(dir => $d)->start;
my $api_port = $api->port;

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
            hoop_mask detect=all;
            hoop_kube_record_max 1m;
            hoop_rule deny name=prod-secrets namespace=prod resource=secrets
                "reason=secrets in prod are off limits";
            hoop_rule deny name=no-rm "command=*rm -rf*"
                "reason=no recursive deletes";
            hoop_rule deny name=no-portforward subresource=portforward;
            hoop_rule deny name=no-sidecar container=sidecar
                "reason=the sidecar is not yours";
            hoop_rule review name=prod-quick namespace=prod
                subresource=exec "command=echo quick*" approvers=sre
                timeout=2s;
            hoop_rule review name=prod-exec namespace=prod
                subresource=exec,attach approvers=sre;
            hoop_rule deny name=db-secret resource=secrets object=db
                "reason=the db secret is not yours";
            hoop_rule deny name=no-watch resource=secrets verb=watch;
            hoop_rule allow name=staging namespace=staging;
            hoop_rule allow name=reads verb=get,list,watch;
            hoop_default deny;
        }
    }

    # the same API, where SPDY streams are let through as metadata
    server {
        listen 127.0.0.1:%%PORT_spdy%% ssl;
        ssl_certificate $d/gw.pem;
        ssl_certificate_key $d/gw.key;
        hoop_audit on;

        location / {
$kube
            hoop_kube_spdy on;
            hoop_default allow;
        }
    }
}
EOF
$t->wait_redis(3);    # audit, review commands, subscriber

# the reviewers' API, on another gateway sharing the Redis
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

# the events of one kind, decoded, as far as they went
sub events {
    my ($type) = @_;
    return grep { $_->{type} eq $type } $redis->events('hoop:audit');
}

# a request written by hand over TLS: its status line and body
sub raw {
    my ($port, $request) = @_;
    my $s = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $port,
        SSL_verify_mode => SSL_VERIFY_NONE) or die "connect: $SSL_ERROR";
    print $s $request;
    my $resp = do { local $/; <$s> } // '';
    my ($status) = $resp =~ m{^HTTP/1\.1 (\d+)};
    my ($head, $body) = split /\r\n\r\n/, $resp, 2;
    $body //= '';
    if (($head // '') =~ /^Transfer-Encoding: chunked/mi) {
        my $plain = '';
        while ($body =~ s/^([0-9a-f]+)\r\n//i && hex $1) {
            $plain .= substr($body, 0, hex $1, '');
            $body =~ s/^\r\n//;
        }
        $body = $plain;
    }
    return ($status // 0, $body);
}

sub get_with {
    my ($path, %h) = @_;
    my $headers = join '', map { "$_: $h{$_}\r\n" } sort keys %h;
    return raw($t->port('https'), "GET $path HTTP/1.1\r\nHost: gw\r\n"
        . "Authorization: Bearer $agent\r\n$headers"
        . "Connection: close\r\n\r\n");
}

my $exec_path = '/api/v1/namespaces/staging/pods/web/exec';
my %ws = ('Upgrade' => 'websocket', 'Connection' => 'Upgrade',
          'Sec-WebSocket-Version' => '13',
          'Sec-WebSocket-Key' => 'dGhlIHNhbXBsZSBub25jZQ==',
          'Sec-WebSocket-Protocol' => 'v5.channel.k8s.io');


subtest 'what the gateway cannot read as the server does is refused' => sub {
    my ($status, $body) = get_with("/api/v1/namespaces/staging/pods/web/./exec"
        . "?command=ls", %ws);
    is($status, 400, 'a dot segment: 400');
    my $st = decode_json($body);
    is($st->{kind}, 'Status', '... a Status');
    is($st->{reason}, 'BadRequest', '... BadRequest');
    like($st->{message}, qr/^hoop: the path is not in its plain form/,
         '... saying why');

    ($status) = get_with("/api/v1/namespaces/staging/pods/w%65b/exec"
        . "?command=ls", %ws);
    is($status, 400, 'an escape in the path: 400');
    ($status) = get_with("/api/v1/namespaces/staging//pods/web/exec"
        . "?command=ls", %ws);
    is($status, 400, 'an empty segment: 400');

    ($status, $body) = get_with('/api/v1/namespaces/staging/pods/web/log',
        %ws);
    is($status, 403, 'an upgrade of anything but a stream: 403');
    like(decode_json($body)->{message}, qr/only a pod's exec, attach/,
         '... saying so');

    ($status, $body) = get_with("$exec_path?container=app&command=ls", %ws,
        'Sec-WebSocket-Protocol' => 'v5.channel.k8s.io, '
            . 'base64url.bearer.authorization.k8s.io.c2VjcmV0');
    is($status, 400, 'a token in the subprotocols: 400');

    ($status, $body) = raw($t->port('https'), "POST $exec_path?container=app&command=ls"
        . " HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer $agent\r\n"
        . "Upgrade: SPDY/3.1\r\nConnection: Upgrade\r\n"
        . "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
        . "Content-Length: 0\r\nConnection: close\r\n\r\n");
    is($status, 403, 'SPDY, not served: 403');
    like(decode_json($body)->{message}, qr/over SPDY are not served here/,
         '... saying why');

    my @reached = $api->seen(sub { ($_[0]{query} // '') =~ /[?&]command=ls(&|$)/ });
    is(scalar @reached, 0, 'none of them reached the API server');
};


subtest 'a shell is not a read: verb=get does not allow an exec' => sub {
    # the API server authorizes a WebSocket exec as get and create
    my ($status, $body) = get_with('/api/v1/namespaces/other/pods/web/exec'
        . '?command=ls&container=app&stdout=true', %ws);
    is($status, 403, 'an exec that only "allow verb=get,list,watch" meets:'
       . ' refused');
    like($body, qr/no rule allows this request/, '... by the default');
    ($status) = get_with('/api/v1/namespaces/other/pods/web/exec'
        . '?command=ls&container=app&stdout=true&watch=1', %ws);
    is($status, 403, '... nor when it asks to watch (the server reads no'
       . ' watch= on a named object)');
    ($status) = get_with('/api/v1/namespaces/staging/secrets/db?watch=1');
    is($status, 403, 'a get of a denied secret with watch=1: still denied');
    ($status) = get_with('/api/v1/namespaces/other/pods/web');
    is($status, 200, 'while the pod itself is read');
};

subtest 'the query and the upgrade, read as the API server reads them' => sub {
    # Go's url.ParseQuery: names exact, so "Command" and "command[]" are
    # not the command the server runs
    for my $decoy ('Command=echo', 'command%5B%5D=echo', 'COMMAND=x') {
        my ($status, $body) = get_with("$exec_path?container=app&$decoy&command=sh"
            . '&command=-c&command=rm+-rf+/x', %ws);
        is($status, 403, "$decoy before the real command: still denied");
        like($body, qr/no recursive deletes/, '... by the rule on it');
    }
    my ($status, $body) = get_with("$exec_path?container=app&command=echo&command=x;y"
        . '&command=rm+-rf+/x', %ws);
    is($status, 400, 'a pair with ";" (which Go drops): refused');
    like($body, qr/would drop/, '... saying why');
    ($status) = get_with("$exec_path?container=app&command=rm%zz", %ws);
    is($status, 400, 'a bad escape (the pair Go drops): refused');

    my $secrets = '/api/v1/namespaces/staging/secrets';
    ($status, $body) = get_with("$secrets/db");
    is($status, 403, 'a rule on object=db: the secret by its path');
    ($status) = get_with("$secrets?fieldSelector=metadata.name%3Ddb");
    is($status, 403, '... and a list that names it by field selector');
    ($status) = get_with("$secrets?fieldSelector=metadata.name%3D%3Ddb");
    is($status, 403, '... with == too');
    ($status) = get_with("$secrets?fieldSelector=metadata.name%3Dother");
    is($status, 200, 'another object listed: allowed');
    ($status) = get_with("$secrets?w%61tch=true");
    is($status, 403, 'an escaped watch is a watch');
    ($status) = get_with("$secrets?watch=1");
    is($status, 403, '... as is watch=1');
    ($status) = get_with("$secrets?watch=false");
    is($status, 200, 'watch=false is a list');

    ($status, $body) = get_with('/api/v1/secrets');
    is($status, 403, 'secrets of all namespaces: a deny on namespace=prod'
       . ' holds (prod is among them)');
    ($status) = get_with('/api/v1/pods');
    isnt($status, 403, '... pods of all namespaces: allowed as reads');
    ($status, $body) = get_with('/api/v1/namespaces/staging/pods/web/exec'
        . '?command=ls', %ws);
    is($status, 403, 'an exec with no container= (the pod\'s default,'
       . ' which may be the sidecar): a deny on container=sidecar holds');

    ($status, $body) = get_with("$exec_path?container=app&command=ls", %ws,
        Upgrade => 'SPDY/3.1, websocket');
    is($status, 403, 'an Upgrade naming SPDY is SPDY, whatever else it'
       . ' names');
    like($body, qr/over SPDY are not served/, '... refused as SPDY');
    ($status) = get_with("$exec_path?container=app&command=ls", %ws,
        Upgrade => 'websocket, h2c');
    is($status, 400, 'an Upgrade that is not only "websocket": refused');
};

# frames kubectl never sends, from a client that sends them
sub ws_exec {
    my ($command, @plan) = @_;
    my $url = 'wss://127.0.0.1:' . $t->port('https')
        . "$exec_path?container=app&command=$command&stdin=true&stdout=true";
    spit("$d/plan.json", encode_json(\@plan));
    my $out = `node $FindBin::Bin/node/ws-exec.mjs '$url' $agent $d/plan.json`;
    diag $out unless $out =~ /"close"/;
    return map { decode_json($_) } grep { /^\{/ } split /\n/, $out;
}

sub frame_b64 { encode_base64(join('', @_), '') }

# the records of one kind of the session whose exec ran this command
sub recorded {
    my ($command, $kind) = @_;
    my $done = sub { grep { ($_->{kube}{command} // '') eq $command }
                     events('kube.exec') };
    wait_until($done, "the event of $command");
    my ($ev) = $done->();
    my @data = grep { $_->{session} eq $ev->{session} }
               events('kube.exec.data');
    return ($ev, join '', map { decode_base64($_->[2]) }
                 grep { $_->[1] eq $kind } map { @{ $_->{records} } } @data);
}

subtest 'stdin as the API server reads it, recorded and masked' => sub {
    # each frame starts with its channel, continuations too (x/net's
    # websocket hands each frame on as a message): a fragment after a
    # resize is stdin to the server, and to the record
    my @got = ws_exec('cat',
        [frame_b64("\x04", '{"Width":80,"Height":24}'), JSON::PP::false],
        [frame_b64("\x00", "cat /etc/shadow\n"), JSON::PP::false],
        [frame_b64("\x00", "id\n"), JSON::PP::true],
        [frame_b64("\xff\x00"), JSON::PP::true]);
    ok(grep({ defined $_->{close} } @got), 'the session ends');
    my ($ev, $in) = recorded('cat', 'i');
    ok(0 <= index($in, "cat /etc/shadow\n") && 0 <= index($in, "id\n"),
       'stdin in continuation frames is recorded as stdin');
    is($ev->{kube}{session}{stdin_bytes}, 19, '... and counted');

    # a key typed a byte a message: masked in what reached the client and
    # in the record of what was typed
    my $key = 'key=AKIAIOSFODNN7EXAMPLE ok';
    @got = ws_exec('cat&command=-',
        (map { [frame_b64("\x00", $_), JSON::PP::true] } split //, $key),
        [frame_b64("\xff\x00"), JSON::PP::true]);
    my $echo = join '', map { decode_base64($_->{data}) }
               grep { ($_->{channel} // -1) == 1 } @got;
    unlike($echo, qr/AKIA|EXAMPLE/, 'typed a byte at a time, the key is'
           . ' masked in the echo');
    ($ev, $in) = recorded('cat -', 'i');
    unlike($in, qr/AKIA|EXAMPLE/, '... and in the record of stdin');
    like($in, qr/^key=\[AWS_KEY\] ok$/, '... which reads as typed, masked');

    # a flood of one-byte messages: a few records, not one each
    @got = ws_exec('cat&command=--',
        { repeat => 20000, frame => [frame_b64("\x00", 'x'), JSON::PP::true] },
        [frame_b64("\xff\x00"), JSON::PP::true]);
    ($ev, $in) = recorded('cat --', 'i');
    is(length $in, 20000, '20000 one-byte messages, all recorded');
    ok($ev->{kube}{session}{data_events} < 20,
       '... in a handful of events (' . $ev->{kube}{session}{data_events}
       . ')');
};

subtest 'SPDY let through as metadata where hoop_kube_spdy is on' => sub {
    my ($status) = raw($t->port('spdy'), "POST $exec_path?container=app&command=echo&"
        . "command=spdy HTTP/1.1\r\nHost: gw\r\n"
        . "Authorization: Bearer $agent\r\nUpgrade: SPDY/3.1\r\n"
        . "Connection: Upgrade\r\n"
        . "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
        . "Content-Length: 0\r\n\r\n");
    is($status, 101, 'the server\'s 101 reaches the client');
    my ($seen) = $api->seen(sub { ($_[0]{answer} // '') eq 'spdy' });
    ok($seen, 'the SPDY upgrade reached the API server');
    is($seen->{authorization}, 'Bearer gateway-service-account-token',
       '... with the gateway\'s token');
    my $spdy = sub { grep { $_->{kube}{upgrade} eq 'spdy'
                            && $_->{response}{status} == 101 }
                     events('kube.exec') };
    wait_until($spdy, 'the SPDY exec event');
    my ($ev) = $spdy->();
    is($ev->{kube}{command}, 'echo spdy', 'recorded: its command');
    is($ev->{response}{status}, 101, '... and its 101');
};


# the exec requests the API server saw with this query
sub reached {
    my ($query) = @_;
    return $api->seen(sub { ($_[0]{query} // '') =~ $query });
}

# @kubernetes/client-node 1.4 (npm, pinned): what agents embed

subtest '@kubernetes/client-node: an exec, a refusal' => sub {
    my $n = 'node';
    system("node $FindBin::Bin/node/kube-exec.mjs $kc staging web app"
        . " echo from node </dev/null >$d/$n.out 2>$d/$n.err");
    is($? >> 8, 0, 'the exec runs');
    is(slurp("$d/$n.out"), "from node\n", 'the pod\'s output');
    like(slurp("$d/$n.err"), qr/^STATUS \{.*"status":"Success"/m,
         'the exit Status from the error channel');
    my ($seen) = grep { $_->{answer} } reached(qr/command=from&command=node/);
    like($seen->{protocol} // '', qr/^v[45]\.channel\.k8s\.io$/,
         'a channel protocol was negotiated');
    is($seen->{extensions}, undef,
       'no WebSocket compression reached the server (client-node offers'
       . ' permessage-deflate)');

    system("node $FindBin::Bin/node/kube-exec.mjs $kc staging web app"
        . " sh -c 'rm -rf /' </dev/null >$d/$n.out 2>$d/$n.err");
    isnt($? >> 8, 0, 'a denied exec fails');
    like(slurp("$d/$n.err"), qr/^ERROR Unexpected server response: 403$/m,
         '... with the 403 (the library drops the Status that says why)');
};

SKIP: {
    my $old = "$FindBin::Bin/.deps/kubectl-1.20/usr/bin/kubectl";
    skip "no $old (tools/install-deps unpacks Debian's kubernetes-client)", 1
        unless -x $old;

subtest "Debian's kubectl 1.20, which speaks SPDY only" => sub {
    my $run = sub {
        my ($args) = @_;
        system("HOME=$d KUBECONFIG=$kc $old $args </dev/null"
            . " >$d/old.out 2>$d/old.err");
        return ($? >> 8, slurp("$d/old.err"));
    };

    my ($rc, $err) = $run->('exec web -- echo old');
    isnt($rc, 0, 'an exec the rules allow is refused: SPDY is not read');
    like($err, qr/streams over SPDY are not served here/, '... saying why');

    ($rc, $err) = $run->("exec web -- sh -c 'rm -rf /x'");
    like($err, qr/hoop: no recursive deletes \(rule "no-rm"\)/,
         'an exec the rules deny: their reason first');

    my $spdy_kc = Hoop::Test::KubeAPI->kubeconfig("$d/kc-spdy",
        'https://127.0.0.1:' . $t->port('spdy'), $agent, 'staging');
    system("HOME=$d KUBECONFIG=$spdy_kc $old exec web -- echo legacy"
        . " </dev/null >$d/old.out 2>$d/old.err");
    my $legacy = sub { grep { ($_->{kube}{command} // '') eq 'echo legacy' }
                       events('kube.exec') };
    wait_until($legacy, 'the legacy exec\'s event');
    my ($ev) = $legacy->();
    is($ev->{kube}{upgrade}, 'spdy', 'where SPDY is on: let through,'
       . ' recorded as an exec over SPDY');
    is($ev->{kube}{verb}, 'create', '... whose verb is create (a POST)');
    is(scalar(grep { $_->{answer} } reached(qr/command=legacy/)), 1,
       '... it reached the server');
};
}

SKIP: {
    skip 'no kubectl on this machine: its WebSocket exec is not run', 1
        unless `sh -c "command -v kubectl"` =~ /\S/;

# kubectl with the agent's kubeconfig: exit status, stdout, stderr
my $runs = 0;
sub kubectl {
    my ($stdin, @args) = @_;
    my $n = ++$runs;
    spit("$d/kubectl.$n.in", $stdin // '');
    system("HOME=$d KUBECONFIG=$kc kubectl @args <$d/kubectl.$n.in"
        . " >$d/kubectl.$n.out 2>$d/kubectl.$n.err");
    return ($? >> 8, slurp("$d/kubectl.$n.out"), slurp("$d/kubectl.$n.err"));
}


subtest 'an allowed exec: output, exit code and stdin, recorded' => sub {
    my ($rc, $out, $err) = kubectl(undef, 'exec web -- echo hi there');
    is($rc, 0, 'kubectl exec succeeds');
    is($out, "hi there\n", 'the pod\'s output');

    my ($seen) = grep { $_->{answer} } reached(qr/command=echo&command=hi/);
    ok($seen, 'the exec reached the API server');
    is($seen->{protocol}, 'v5.channel.k8s.io', '... over WebSocket v5');
    is($seen->{authorization}, 'Bearer gateway-service-account-token',
       '... with the gateway\'s token, not the agent\'s');

    ($rc, $out, $err) = kubectl(undef, 'exec web -- exit 3');
    is($rc, 3, 'the pod\'s exit code is kubectl\'s');
    like($err, qr/exiting 3/, '... its stderr shown');

    ($rc, $out) = kubectl("line one\nline two\n", 'exec -i web -- cat -u');
    is($rc, 0, 'exec -i: succeeds');
    is($out, "line one\nline two\n", '... stdin went through and back');

    my $hi = sub { grep { ($_->{kube}{command} // '') eq 'echo hi there'
                          && $_->{response}{status} == 101 }
                   events('kube.exec') };
    wait_until($hi, 'the exec\'s event');
    my ($ev) = $hi->();
    is($ev->{identity}{sub}, 'agent-7', 'the event: who');
    is($ev->{kube}{namespace}, 'staging', '... where');
    is($ev->{kube}{name}, 'web', '... which pod');
    is($ev->{kube}{verb}, 'get', '... the verb the server authorizes');
    is($ev->{kube}{upgrade}, 'websocket', '... over WebSocket');
    is($ev->{decision}{result}, 'allow', '... allowed');
    is($ev->{decision}{rule}, 'staging', '... by which rule');
    is($ev->{kube}{session}{exit_code}, 0, '... its exit code');
    is($ev->{kube}{session}{stdout_bytes}, 9, '... the bytes of its stdout');

    my @data = grep { $_->{session} eq $ev->{session} }
               events('kube.exec.data');
    my $recorded = join '', map { decode_base64($_->[2]) }
                   grep { $_->[1] eq 'o' } map { @{ $_->{records} } } @data;
    is($recorded, "hi there\n", 'its output recorded in kube.exec.data events');
    ok($data[0]{seq} < $ev->{seq}, '... before the exec\'s own event');

    my $three = sub { grep { ($_->{kube}{command} // '') eq 'exit 3' }
                      events('kube.exec') };
    wait_until($three, 'the exit 3 event');
    is(($three->())[0]{kube}{session}{exit_code}, 3,
       'a non-zero exit code recorded');

    my $cat = sub { grep { ($_->{kube}{command} // '') eq 'cat -u' }
                    events('kube.exec') };
    wait_until($cat, 'the cat event');
    my $cev = ($cat->())[0];
    is($cev->{kube}{session}{stdin_bytes}, 18, 'stdin bytes recorded');
    ok($cev->{kube}{session}{stdin_closed}, '... and its close');
    my $in = join '', map { decode_base64($_->[2]) }
             grep { $_->[1] eq 'i' } map { @{ $_->{records} } }
             grep { $_->{session} eq $cev->{session} }
             events('kube.exec.data');
    is($in, "line one\nline two\n", '... what was typed');
};

subtest 'kubectl exec -it: a terminal, resized, replayed by asciinema' => sub {
    plan skip_all => 'no tmux or asciinema (tools/install-deps installs them)'
        unless `sh -c "command -v tmux; command -v asciinema"` =~ /asciinema/;
    my @tmux = ('tmux', '-S', "$d/tmux.sock");
    my $pane = sub { scalar `@tmux capture-pane -p -t $_[0] 2>/dev/null` };
    system(@tmux, 'new-session', '-d', '-s', 'agent', '-x', '100',
        '-y', '30', "HOME=$d KUBECONFIG=$kc kubectl exec -it web -- sh;"
        . ' echo KUBECTL-EXIT=$?; read x') == 0 or die 'tmux';
    wait_until(sub { $api->seen(sub { ($_[0]{resize} // '')
                                      =~ /"Width":100/ }) },
               'the terminal\'s size at the server');
    wait_until(sub { $pane->('agent') =~ /^\$/m }, 'the prompt');
    system(@tmux, 'send-keys', '-t', 'agent', 'echo typed-here', 'Enter');
    wait_until(sub { $pane->('agent') =~ /you typed: echo typed-here/ },
               'the answer');
    system(@tmux, 'send-keys', '-t', 'agent', 'exit', 'Enter');
    wait_until(sub { $pane->('agent') =~ /KUBECTL-EXIT=(\d+)/ },
               'kubectl to end');
    like($pane->('agent'), qr/KUBECTL-EXIT=0/, 'kubectl exec -it ends with 0');
    system(@tmux, 'kill-session', '-t', 'agent');

    my $tty = sub { grep { $_->{kube}{tty} && ($_->{kube}{command} // '')
                           eq 'sh' } events('kube.exec') };
    wait_until($tty, 'the terminal session\'s event');
    my ($ev) = $tty->();
    is($ev->{kube}{session}{size}, '100x30', 'its event: the terminal size');
    ok($ev->{kube}{session}{resizes} >= 1, '... resizes counted');
    is($ev->{kube}{session}{exit_code}, 0, '... the exit code');
    my $typed = join '', map { decode_base64($_->[2]) }
                grep { $_->[1] eq 'i' } map { @{ $_->{records} } }
                grep { $_->{session} eq $ev->{session} }
                events('kube.exec.data');
    is($typed, "echo typed-here\rexit\r", '... every key typed recorded');

    my $audit = "$FindBin::Bin/../tools/hoop-audit";
    my $redis_at = '127.0.0.1:' . $redis->port;
    system($audit, 'cast', $ev->{session}, '--redis', $redis_at,
        '--stream', 'hoop:audit', '--output', "$d/session.cast") == 0
        or die 'hoop-audit cast failed';
    my ($head, @lines) = split /\n/, slurp("$d/session.cast");
    my $h = decode_json($head);
    is("$h->{version} $h->{width}x$h->{height}", '2 100x30',
       'hoop-audit cast: an asciicast v2 of the terminal\'s size');
    like($h->{title}, qr{kubectl exec staging/web -- sh \(agent-7\)},
         '... titled with who ran what where');
    my @t = map { decode_json($_)->[0] } @lines;
    ok(!grep({ $t[$_] < $t[$_ - 1] } 1 .. $#t), '... its times in order');

    system(@tmux, 'new-session', '-d', '-s', 'auditor', '-x', '100',
        '-y', '30', "asciinema play -i 0.2 $d/session.cast;"
        . ' echo PLAYED=$?; read x') == 0 or die 'tmux';
    wait_until(sub { $pane->('auditor') =~ /PLAYED=/ }, 'the replay');
    my $screen = $pane->('auditor');
    like($screen, qr/you typed: echo typed-here/,
         'asciinema play shows the session as the agent saw it');
    like($screen, qr/PLAYED=0/, '... and ends cleanly');
    system(@tmux, 'kill-server');
};

subtest '100 MB of output through a session' => sub {
    my $n = 100 * 1024 * 1024;
    system("HOME=$d KUBECONFIG=$kc kubectl exec web -- yes $n"
        . " </dev/null 2>$d/yes.err | wc -c >$d/yes.count");
    is(slurp("$d/yes.count") + 0, $n, 'kubectl reads all of it');
    my $yes = sub { grep { ($_->{kube}{command} // '') eq "yes $n" }
                    events('kube.exec') };
    wait_until($yes, 'its event');
    my $x = ($yes->())[0]{kube}{session};
    is($x->{stdout_bytes}, $n, 'the event counts every byte');
    is($x->{exit_code}, 0, '... and the exit code after them');
    ok($x->{recorded_bytes} > 700 * 1024 && $x->{recorded_bytes} < 786432,
       '... the recording stopped at hoop_kube_record_max (1m of records'
       . ' as written: 3/4 of it bytes, base64)');
    ok($x->{truncated}, '... and says it was truncated');
};

subtest 'output masked, across frames too, and recorded masked' => sub {
    my $key = 'AKIAIOSFODNN7EXAMPLE';
    for my $at (1, 8, 19) {
        my ($rc, $out) = kubectl(undef, "exec web -- split 'key=$key ok' "
            . (4 + $at));
        is($rc, 0, "a key cut after $at of its bytes: the exec runs");
        unlike($out, qr/AKIA|EXAMPLE/, '... the key does not reach kubectl');
        like($out, qr/^key=.*\[AWS_KEY\].* ok$/, '... masked in place');
    }

    my @ev = grep { ($_->{kube}{command} // '') =~ /^split key=/ }
             events('kube.exec');
    wait_until(sub { @ev = grep { ($_->{kube}{command} // '') =~ /^split/ }
                     events('kube.exec'); @ev == 3 }, 'the split events');
    is($ev[0]{kube}{session}{masked}{aws_key}, 1, 'the event counts it');
    unlike(join('', map { encode_json($_) } $redis->events('hoop:audit')),
           qr/AKIAIOSFODNN7EXAMPLE|QUtJQUlPU0ZPRE5ON0VYQU1QTE/,
           'the key is nowhere in the trail, plain or in base64');
};

subtest 'a denied exec: the same Status over WebSocket and SPDY' => sub {
    my ($rc, $out, $err) = kubectl(undef,
        "exec web -- sh -c 'rm -rf /srv/data'");
    isnt($rc, 0, 'kubectl exec fails');
    like($err, qr/Error from server \(Forbidden\): hoop: no recursive deletes \(rule "no-rm"\)/,
         'kubectl prints the rule\'s reason');
    is(scalar reached(qr/rm/), 0, 'nothing of it reached the API server');

    my @denied = grep { ($_->{kube}{command} // '') eq 'sh -c rm -rf /srv/data' }
                 events('kube.exec');
    my %how = map { ($_->{kube}{upgrade} => $_->{decision}{result}) } @denied;
    is($how{websocket}, 'deny', 'the WebSocket attempt: denied, recorded');
    is($how{spdy}, 'deny', 'the SPDY fallback: denied, recorded');

    ($rc, $out, $err) = kubectl(undef, 'exec web -c sidecar -- echo x');
    like($err, qr/\(Forbidden\): hoop: the sidecar is not yours/,
         'a container the rules refuse');

    # a shell's quoting is the shell's: the rules read the command as
    # the server passes it on ("r""m" is rm to sh); allow-list commands
    ($rc, $out) = kubectl(undef, "exec web -- sh -c 'r\"\"m -r\"\"f /x'");
    is($out, "ran: r\"\"m -r\"\"f /x\n",
       'a command the deny rule does not spell out reaches the pod');
};

subtest 'ordinary API requests, decided as the server reads them' => sub {
    my ($rc, $out, $err) = kubectl(undef, 'get pods');
    is($rc, 0, 'kubectl get pods (a list): allowed');

    ($rc, $out, $err) = kubectl(undef, '-n prod get secret db');
    isnt($rc, 0, 'a secret in prod: refused');
    like($err, qr/\(Forbidden\): hoop: secrets in prod are off limits/,
         '... kubectl says why');
    is(scalar $api->seen(sub { ($_[0]{path} // "") =~ m{/prod/secrets} }), 0,
       '... it never reached the server');

    ($rc, $out, $err) = kubectl(undef, '-n prod delete pod web');
    like($err, qr/\(Forbidden\): hoop: no rule allows this request/,
         'a delete no rule allows: refused by the default');
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

# a review pending for this command, once the gateway created it
sub pending {
    my ($command) = @_;
    my $review;
    wait_until(sub {
        my (undef, $list) = api('GET', '?status=pending');
        ($review) = grep { ($_->{operation}{kube}{command} // '') eq $command }
                    @{ $list // [] };
        $review;
    }, "a pending review of $command");
    return $review;
}

# kubectl started now, its end awaited later
sub kubectl_bg {
    my ($args) = @_;
    my $n = ++$runs;
    my $pid = spawn(cmd => ['sh', '-c', "HOME=$d KUBECONFIG=$kc exec kubectl"
        . " $args >$d/kubectl.$n.out 2>$d/kubectl.$n.err"]);
    return ($pid, $n);
}

sub kubectl_done {
    my ($pid, $n) = @_;
    my $status = reap($pid, 30);
    return (defined $status ? $status >> 8 : -1,
            slurp("$d/kubectl.$n.out"), slurp("$d/kubectl.$n.err"));
}

subtest 'an exec held for review: approved on another gateway' => sub {
    my ($pid, $n) = kubectl_bg('-n prod exec web -- echo released');
    my $review = pending('echo released');
    is($review->{requester}, 'agent-7', 'the reviewer sees who');
    is($review->{operation}{kind}, 'kube.exec', '... that it is an exec');
    is($review->{operation}{kube}{namespace}, 'prod', '... where');
    is($review->{operation}{kube}{name}, 'web', '... which pod');
    is(scalar reached(qr/command=echo&command=released/), 0,
       'while held, nothing reached the API server');

    my ($st) = api('POST', "/$review->{id}/approve", { reason => 'ok' });
    is($st, 200, 'sre-1 approves');
    my ($rc, $out, $err) = kubectl_done($pid, $n);
    is($rc, 0, 'kubectl exec then succeeds');
    is($out, "released\n", '... with the pod\'s output');
    is(scalar(grep { $_->{answer} } reached(qr/command=released/)), 1,
       '... the exec reached the server once');
};

subtest 'the reviewer sees the whole command' => sub {
    my ($pid, $n) = kubectl_bg("-n prod exec web -- sh -c"
        . " ': -----BEGIN PRIVATE KEY-----; echo drop the data'");
    my $review;
    wait_until(sub {
        my (undef, $list) = api('GET', '?status=pending');
        ($review) = grep { ($_->{operation}{kube}{command} // '') =~ /^sh -c/ }
                    @{ $list // [] };
        $review;
    }, 'the review');
    like($review->{operation}{kube}{command}, qr/echo drop the data$/,
         'a PEM header in the command hides nothing after it');
    api('POST', "/$review->{id}/reject", { reason => 'no' });
    kubectl_done($pid, $n);

    my $long = join ' ', ('x' x 900) x 5;
    my ($rc, $out, $err) = kubectl(undef, "-n prod exec web -- echo $long");
    like($err, qr/too long to be shown to a reviewer/,
         'a command longer than a reviewer is shown: refused, not held')
        or diag "rc $rc: $err";
    my $refused = sub { grep { ($_->{kube}{command_bytes} // 0) > 4096 }
                        events('kube.exec') };
    wait_until($refused, 'its event');
    is(($refused->())[0]{decision}{result}, 'deny', '... recorded as a'
       . ' refusal');
};

subtest 'an exec held for review: rejected, expired, abandoned' => sub {
    my ($pid, $n) = kubectl_bg('-n prod exec web -- echo refused');
    my $review = pending('echo refused');
    my ($st) = api('POST', "/$review->{id}/reject",
                   { reason => 'not during the freeze' });
    is($st, 200, 'sre-1 rejects');
    my ($rc, $out, $err) = kubectl_done($pid, $n);
    isnt($rc, 0, 'kubectl exec fails');
    like($err, qr/^error: hoop: review \w+ rejected by sre-1: not during the freeze$/m,
         'kubectl prints the reviewer\'s reason');
    is(scalar reached(qr/command=refused/), 0, 'nothing reached the server');
    unlike($t->error_log, qr/"POST [^"]*command=refused/,
           'kubectl did not retry over SPDY (which would have asked the'
           . ' reviewers again, or been refused for another reason)');
    my $refused = sub { grep { ($_->{kube}{command} // '') eq 'echo refused' }
                        events('kube.exec') };
    wait_until($refused, 'the refused exec\'s event');
    my @ev = $refused->();
    is(scalar @ev, 1, 'one event for the exec');
    is($ev[0]{decision}{result}, 'deny', '... a refusal');
    ok($ev[0]{kube}{refused_in_stream}, '... said inside the stream');

    ($pid, $n) = kubectl_bg('-n prod exec web -- echo quick');
    pending('echo quick');
    ($rc, $out, $err) = kubectl_done($pid, $n);
    like($err, qr/^error: hoop: review \w+ expired without a decision$/m,
         'no decision in time: kubectl prints that it expired');
    is(scalar reached(qr/command=quick/), 0, '... and nothing ran');

    ($pid, $n) = kubectl_bg('-n prod exec web -- echo gone');
    $review = pending('echo gone');
    kill 'TERM', $pid;
    kubectl_done($pid, $n);
    wait_until(sub {
        my (undef, $r) = api('GET', "/$review->{id}");
        ($r->{status} // '') eq 'cancelled';
    }, 'the review cancelled');
    pass('kubectl interrupted while held: its review is cancelled');
};
}

$t->stop;
$rv->stop;

done_testing;

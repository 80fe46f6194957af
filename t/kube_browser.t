# hoop_kube for browsers (the Kubernetes dashboard, Headlamp): a WebSocket
# opened without headers of its own carries its token in the subprotocols
# (base64url.bearer.authorization.k8s.io.<token>), which the gateway
# authenticates and takes off before the API server could see it, and
# speaks a base64 channel protocol (text frames: the channel as a digit,
# the bytes in base64), which the gateway decodes, masks, records and
# writes anew in base64.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use IO::Socket::SSL;
use JSON::PP;
use MIME::Base64;
use Hoop::JWT;
use Hoop::Test qw(spit slurp wait_until spawn reap);
use Hoop::Test::Nginx;
use Hoop::Test::Redis;
use Hoop::Test::KubeAPI;

my $redis = Hoop::Test::Redis->new->start;
my $t = Hoop::Test::Nginx->new(workers => 1, log_level => 'info');
my $d = $t->dir;
my $key = Hoop::Test::KubeAPI->gateway_files($d);
my $other = Hoop::JWT->rsa_key(file => "$d/other.pem", kid => 'k1');

my $api = Hoop::Test::KubeAPI->new(dir => $d)->start;
my $kube = $api->location("$d/sa.token");

$t->run(<<"EOF");
# a reload ends the old worker's sessions after a second
worker_shutdown_timeout 1s;

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
            hoop_rule deny name=no-rm "command=*rm -rf*"
                "reason=no recursive deletes";
            hoop_rule review name=prod namespace=prod approvers=sre;
            hoop_rule allow name=staging namespace=staging;
            hoop_default deny;
        }
    }
}
EOF
$t->wait_redis(1);

sub token {
    my ($sub, $k) = @_;
    return Hoop::Test::KubeAPI->token($k // $key, $sub, 'dev');
}

my $agent = token('agent-7');
my $url = 'wss://127.0.0.1:' . $t->port('https')
    . '/api/v1/namespaces/staging/pods/web/exec';
(my $prod = $url) =~ s/staging/prod/;

# what a browser's exec printed: the messages, decoded, and how it ended
sub browser {
    my ($query, $token, $protocols, $stdin, $at) = @_;
    my @args = map { "'$_'" } (($at // $url) . "?$query", $token, $protocols,
                               defined $stdin ? $stdin : ());
    my @lines = map { decode_json($_) }
        grep { /^\{/ } split /\n/,
        `node $FindBin::Bin/node/ws-browser.mjs @args`;
    return @lines;
}

# the bytes of a channel, joined
sub channel {
    my ($n, @lines) = @_;
    return join '', map { $_->{data} }
        grep { defined $_->{channel} && $_->{channel} == $n } @lines;
}

sub events {
    my ($type) = @_;
    return grep { $_->{type} eq $type } $redis->events('hoop:audit');
}

sub exec_event {
    my ($command) = @_;
    my $e;
    wait_until(sub {
        ($e) = grep { ($_->{kube}{command} // '') eq $command }
               events('kube.exec');
        $e;
    }, "the kube.exec event of $command");
    return $e;
}

# the stand-in's record of the upgrade whose query matched
sub reached {
    my ($re) = @_;
    return grep { $_->{answer} && ($_->{query} // '') =~ $re }
           $api->seen(sub { 1 });
}

subtest 'an exec from a browser: the token in the subprotocols' => sub {
    my @m = browser('command=echo&command=hi+there&stdout=true',
                    $agent, 'v4.base64.channel.k8s.io');
    is($m[0]{protocol}, 'v4.base64.channel.k8s.io',
       'the base64 protocol was chosen');
    is(channel(1, @m), "hi there\n", 'stdout, decoded by the client');
    ok(!(grep { $_->{binary} } grep { defined $_->{channel} } @m),
       '... every message a text frame, as the protocol has them');
    like(channel(3, @m), qr/"status":"Success"/, 'the exit Status');
    is($m[-1]{close}, 1000, 'a clean close');

    my ($seen) = reached(qr/command=hi/);
    is($seen->{authorization}, 'Bearer gateway-service-account-token',
       'the API server saw the gateway\'s credentials');
    unlike($seen->{protocols}, qr/bearer/i,
           '... and not the agent\'s token among the subprotocols');
    like($seen->{protocols}, qr/^v4\.base64\.channel\.k8s\.io$/,
         '... only the channel protocol');

    my $e = exec_event('echo hi there');
    is($e->{identity}{sub}, 'agent-7', 'the event names the agent');
    is($e->{kube}{session}{stdout_bytes}, 9, '... the bytes, decoded');
    is($e->{kube}{session}{exit_code}, 0, '... the exit code');
    is($e->{kube}{session}{size}, '80x24', '... the resize, decoded');
};

subtest 'the older base64.channel.k8s.io' => sub {
    my @m = browser('command=echo&command=old&stdout=true', $agent,
                    'base64.channel.k8s.io');
    is($m[0]{protocol}, 'base64.channel.k8s.io', 'chosen');
    is(channel(1, @m), "old\n", 'stdout');
};

subtest 'output masked in base64 too, across messages' => sub {
    my $secret = 'AKIAIOSFODNN7EXAMPLE';
    for my $at (1, 10) {
        my @m = browser("command=split&command=key%3D$secret+ok"
            . "&command=" . (4 + $at) . "&stdout=true", $agent,
            'v4.base64.channel.k8s.io');
        my $out = channel(1, @m);
        unlike($out, qr/AKIA|EXAMPLE/, "cut after $at: the key is masked");
        like($out, qr/^key=.*\[AWS_KEY\].* ok$/, '... in place');
        unlike(join('', map { $_->{text} // '' } @m),
               qr/QUtJQUlPU0ZPRE5ON0VYQU1QTE/,
               '... and not in any frame as it came');
    }
};

subtest 'typed at a terminal: stdin read, echo masked, recorded' => sub {
    my @m = browser('command=sh&stdin=true&stdout=true&tty=true', $agent,
                    'v4.base64.channel.k8s.io',
                    "say AKIAIOSFODNN7EXAMPLE\rexit\r");
    my $out = channel(1, @m);
    like($out, qr/you typed: say \[AWS_KEY\]/, 'the shell answered');
    unlike($out, qr/AKIA|EXAMPLE/, '... its echo masked');
    is($m[-1]{close}, 1000, 'exit ended it');

    my $e = exec_event('sh');
    is($e->{kube}{session}{stdin_bytes}, 30, 'stdin counted, decoded');
    cmp_ok($e->{kube}{session}{masked}{aws_key} // 0, '>=', 2,
           '... the key masked in stdin and in output');
    my ($data) = grep { $_->{session} eq $e->{session} }
                 events('kube.exec.data');
    my $typed = join '', map { decode_base64($_->[2]) }
                grep { $_->[1] eq 'i' } @{ $data->{records} };
    like($typed, qr/^say .*exit\r$/s, 'what was typed is recorded');
    unlike($typed, qr/AKIA|EXAMPLE/, '... masked');
};

subtest 'refusals: a Status before the upgrade, or in base64 inside' => sub {
    my @m = browser('command=sh&command=-c&command=rm+-rf+%2F&stdout=true',
                    $agent, 'v4.base64.channel.k8s.io');
    is($m[0]{status}, 403, 'a denied exec: 403 before any upgrade')
        or diag explain \@m;
    like($m[0]{body}, qr/no recursive deletes/, '... the Status says why');
    is(scalar reached(qr/rm/), 0, 'nothing reached the API server');

    # a command longer than a reviewer is shown: refused after a 101
    my $long = join '&', ('command=' . 'x' x 900) x 5;
    @m = browser("command=echo&$long&stdout=true", $agent,
                 'v4.base64.channel.k8s.io', undef, $prod);
    is($m[0]{protocol}, 'v4.base64.channel.k8s.io',
       'a refusal inside the stream: the protocol offered')
        or diag explain \@m;
    my ($st) = grep { defined $_->{channel} && $_->{channel} == 3 } @m;
    ok($st && !$st->{binary}, '... the Status in a text frame');
    like($st->{data} // '', qr/too long to be shown to a reviewer/,
         '... in base64, saying why');
    is($m[-1]{close}, 1000, '... then closed');
};

# a WebSocket exec written by hand: the status line and the body
sub raw {
    my (%h) = @_;
    my $s = IO::Socket::SSL->new(PeerAddr => '127.0.0.1',
        PeerPort => $t->port('https'), SSL_verify_mode => SSL_VERIFY_NONE)
        or die "connect: $SSL_ERROR";
    my $headers = join '', map { "$_: $h{$_}\r\n" } sort keys %h;
    print $s "GET /api/v1/namespaces/staging/pods/web/exec?command=ls"
        . "&stdout=true HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\n"
        . "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        . "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n$headers\r\n";
    my $head = '';
    while (defined(my $line = <$s>)) {
        $head .= $line;
        last if $line eq "\r\n";
    }
    my ($status) = $head =~ m{^HTTP/1\.1 (\d+)};
    my ($len) = $head =~ /^Content-Length: (\d+)/mi;
    my $body = '';
    if ($len) {
        read($s, $body, $len);
    } elsif ($head =~ /^Transfer-Encoding: chunked/mi) {
        while (defined(my $size = <$s>)) {
            $size =~ s/\s+//g;
            last unless hex $size;
            read($s, my $chunk, hex $size);
            $body .= $chunk;
            <$s>;
        }
    }
    return ($status // 0, $body);
}

my $b64 = sub { encode_base64($_[0], '') =~ tr{+/=}{-_}dr };
my $bearer = 'base64url.bearer.authorization.k8s.io.';

subtest 'tokens in the subprotocols the API server would refuse: 401' => sub {
    my %cases = (
        'no token at all' => 'v4.base64.channel.k8s.io',
        'two tokens' => "v4.base64.channel.k8s.io, $bearer"
            . $b64->($agent) . ", $bearer" . $b64->($agent),
        'not base64url' => "v4.base64.channel.k8s.io, ${bearer}a+b/c=",
        'no other protocol to answer with' => $bearer . $b64->($agent),
        'a token signed by another key' => "v4.base64.channel.k8s.io, "
            . $bearer . $b64->(token('agent-7', $other)),
        'an empty token' => "v4.base64.channel.k8s.io, $bearer",
    );
    for my $case (sort keys %cases) {
        my ($status) = raw('Sec-WebSocket-Protocol' => $cases{$case});
        is($status, 401, "$case: 401");
    }
    my ($status) = raw('Sec-WebSocket-Protocol' => "v4.channel.k8s.io,"
        . $bearer . $b64->($agent));
    is($status, 101, 'listed without spaces: read (the control case)');
    is(scalar(grep { ($_->{protocols} // '') =~ /bearer/i }
              $api->seen(sub { 1 })), 0,
       'no token ever reached the API server');
};

subtest 'a token in the subprotocols next to Authorization: 400' => sub {
    my ($status, $body) = raw(Authorization => "Bearer $agent",
        'Sec-WebSocket-Protocol' => "v4.base64.channel.k8s.io, $bearer"
            . $b64->(token('someone-else')));
    is($status, 400, 'refused: two identities');
    like($body, qr/token in Sec-WebSocket-Protocol/, '... saying why');
};

subtest 'stdin that is not base64: nothing of it recorded, the session ends' => sub {
    # the API server drops such a message and ends the session
    my $bad = '0' . encode_base64('rm -rf /important', '') . '!';
    my @m = browser('command=sh&stdin=true&stdout=true&command=-i', $agent,
                    'v4.base64.channel.k8s.io', "RAW:$bad");
    ok(defined $m[-1]{close}, 'the session ended');
    my $e = exec_event('sh -i');
    is($e->{kube}{session}{error}, 'a client message that is not base64',
       'the summary says why');
    is($e->{kube}{session}{stdin_bytes}, 0, 'no stdin counted');
    my @typed = map { decode_base64($_->[2]) }
                grep { $_->[1] eq 'i' }
                map { @{ $_->{records} } }
                grep { $_->{session} eq $e->{session} }
                events('kube.exec.data');
    is("@typed", '', 'and none recorded as typed');
    is(scalar(grep { ($_->{stdin} // '') =~ /important/ }
              $api->seen(sub { 1 })), 0,
       'the stand-in was handed none of it either');
};

subtest 'long subprotocol lists: read whole, answered' => sub {
    # each ',' may be rewritten as ', ': the rewritten lists are longer
    # (under make test-asan an overrun of the rewritten list is reported)
    my ($status) = raw(Authorization => "Bearer $agent",
        'Sec-WebSocket-Protocol' => 'v5.channel.k8s.io,v4.channel.k8s.io,'
        . 'channel.k8s.io,v4.base64.channel.k8s.io,base64.channel.k8s.io');
    is($status, 101, 'every channel protocol, commas only: the exec runs');
    # (the stand-in notes an upgrade once its 101 is written)
    my $seen = eval {
        wait_until(sub {
            grep { ($_->{protocols} // '') =~ /^v5.*, base64/ }
            $api->seen(sub { 1 })
        }, 'the stand-in\'s note of the upgrade');
    };
    ok($seen, '... the server offered all five, rewritten');
    ($status) = raw('Sec-WebSocket-Protocol' => join(',', ('a') x 3500));
    is($status, 401, '3500 one-letter protocols and no token: 401');
    ($status) = raw('Sec-WebSocket-Protocol' => join(',', ('a') x 3500)
        . ",$bearer" . $b64->($agent));
    is($status, 400, '... with a token: read, then refused (none of them a'
       . ' channel protocol)');
};

subtest 'the frames before a bad one reach the server, as recorded' => sub {
    my $s = IO::Socket::SSL->new(PeerAddr => '127.0.0.1',
        PeerPort => $t->port('https'), SSL_verify_mode => SSL_VERIFY_NONE)
        or die "connect: $SSL_ERROR";
    print $s "GET /api/v1/namespaces/staging/pods/web/exec?command=cat"
        . "&command=-v&stdin=true&stdout=true HTTP/1.1\r\nHost: gw\r\n"
        . "Authorization: Bearer $agent\r\nUpgrade: websocket\r\n"
        . "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        . "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        . "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n";
    my $head = '';
    while (defined(my $line = <$s>)) {
        $head .= $line;
        last if $line eq "\r\n";
    }
    like($head, qr{^HTTP/1\.1 101}, 'upgraded');

    # stdin "typed", then a frame with reserved bits, in one write
    my $key = "\x01\x02\x03\x04";
    my $payload = "\x00typed\n";
    my $good = "\x82" . chr(0x80 | length $payload) . $key
        . ($payload ^ substr($key x 4, 0, length $payload));
    syswrite($s, $good . "\xf2\x80" . $key);

    my $e = exec_event('cat -v');
    like($e->{kube}{session}{error} // '', qr/\S/,
         'the bad frame ended the session');
    is($e->{kube}{session}{stdin_bytes}, 6, 'the stdin before it recorded');
    ok(scalar(grep { ($_->{stdin} // '') eq "typed\n" }
              $api->seen(sub { 1 })),
       '... and delivered to the server');
    close $s;
};

subtest 'a session nginx ends itself: recorded, and said so' => sub {
    my $pid = spawn(cmd => ['sh', '-c', "exec node"
        . " $FindBin::Bin/node/ws-browser.mjs"
        . " '$url?command=cat&stdin=true&stdout=true' '$agent'"
        . " v4.base64.channel.k8s.io 'still here' >$d/ended.out"]);
    # (the masking may let the echo out in two pieces)
    wait_until(sub {
        channel(1, map { decode_json($_) } grep { /^\{/ }
                   split /\n/, slurp("$d/ended.out")) eq 'still here';
    }, 'the echo through the open session');

    # the old worker keeps the session until worker_shutdown_timeout
    kill 'HUP', $t->pid;

    my $e;
    wait_until(sub {
        ($e) = grep { ($_->{kube}{command} // '') eq 'cat' }
               events('kube.exec');
        $e;
    }, 'the event of the session nginx ended');
    like($e->{kube}{session}{error} // '', qr/^ended by nginx/,
         'the summary says nginx ended it');
    is($e->{kube}{session}{stdin_bytes}, 10, '... with what was typed');
    is($e->{kube}{session}{stdout_bytes}, 10, '... and echoed');
    my ($data) = grep { $_->{session} eq $e->{session} }
                 events('kube.exec.data');
    ok($data && grep({ $_->[1] eq 'o' } @{ $data->{records} }),
       'its records were written');
    is(reap($pid, 30), 0, 'the client saw the connection end');
    like(slurp("$d/ended.out"), qr/"close":1006/, '... abnormally (1006)');
};

$t->stop;
done_testing();

# hoop_mask and an upgraded connection: an upstream that answers 101
# (WebSocket) and then sends frames the body filter never sees.  In a
# masked location the upgrade is refused (502), and nothing the upstream
# sent after its 101 reaches the client; where nothing is masked the
# upgrade goes through.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use IO::Socket::INET;
use POSIX ();
use Hoop::Test qw(free_port slurp);
use Hoop::Test::Nginx;

# the upstream: a 101, then a text frame holding an address
my $port = free_port();
my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
    LocalPort => $port, Listen => 8, ReuseAddr => 1) or die "listen: $!";
my $pid = fork // die "fork: $!";
if ($pid == 0) {
    while (my $c = $listen->accept) {
        my $req = '';
        while ($req !~ /\r\n\r\n/) {
            last unless sysread($c, $req, 4096, length $req);
        }
        my $text = 'ws: ada.lovelace@example.com 4111 1111 1111 1111';
        syswrite($c, "HTTP/1.1 101 Switching Protocols\r\n"
            . "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
            . "\x81" . chr(length $text) . $text);
        close $c;
    }
    POSIX::_exit(0);
}
close $listen;

my $t = Hoop::Test::Nginx->new(workers => 1);
$t->run(<<"EOF");
http {
    server {
        listen 127.0.0.1:%%PORT_http%%;
        proxy_http_version 1.1;
        proxy_set_header Upgrade \$http_upgrade;
        proxy_set_header Connection "upgrade";

        location /masked/ {
            hoop_mask detect=all;
            proxy_pass http://127.0.0.1:$port;
        }
        location /plain/ {
            proxy_pass http://127.0.0.1:$port;
        }
    }
}
EOF

sub upgrade {
    my ($path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $t->port('http')) or die "connect: $!";
    print $s "GET $path HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\n"
        . "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        . "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    my $resp = '';
    while (sysread($s, $resp, 4096, length $resp)) {
        last if $resp =~ /example\.com.*1111$/s;
    }
    return $resp;
}

my $resp = upgrade('/masked/chat');
like($resp, qr{^HTTP/1\.1 502}, 'a masked location: the upgrade refused');
unlike($resp, qr/ada\.lovelace|4111/, '  none of the frames reaches the client');
like(slurp($t->dir . '/logs/error.log'),
    qr/hoop_mask: an upgraded connection \(101\) cannot be masked; refused/,
    '  the error log says why');

$resp = upgrade('/plain/chat');
like($resp, qr{^HTTP/1\.1 101}, 'without hoop_mask: the upgrade goes through');

$t->stop;
kill 'TERM', $pid;
waitpid $pid, 0;
done_testing;

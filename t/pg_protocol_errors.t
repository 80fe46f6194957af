# Startup: a client asking for a newer protocol minor or for protocol
# extensions is answered with NegotiateProtocolVersion (3.0, the options
# named), as a server does.  Once a session is up, every client message is framed and checked before
# a byte of it reaches the server: an unknown type, a length that cannot
# be, or SQL longer than hoop_pg_max_message ends the session with an
# ErrorResponse 08P01 the client can read, and the worker goes on serving
# others.  SQL longer than the relay buffer but within the cap runs.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use IO::Socket::INET;
use Hoop::Test::Nginx;
use Hoop::Test::Pg;

my $pg = Hoop::Test::Pg->new->start;
my $t = Hoop::Test::Nginx->new;
$t->run(<<"EOF");
stream {
    hoop_pg_auth off;

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_pg_buffer_size 1k;
        hoop_pg_max_message 8k;
    }
    server {
        listen 127.0.0.1:%%PORT_policy%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_default allow;     # statements followed: Parse read whole
    }
}
EOF
my $port = $t->port('pg');

sub msg { my ($type, $body) = @_; $type . pack('N', 4 + length $body) . $body }

# a session up to its first ReadyForQuery
sub session {
    my ($p) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:" . ($p // $port),
        Timeout => 10) or die "connect: $!";
    my $startup = pack('N', 196608) . "user\0postgres\0database\0postgres\0\0";
    print $s pack('N', 4 + length $startup) . $startup;
    my $got = read_until($s, 'Z');
    return ($s, $got);
}

# messages until one of type $want (or EOF); returns [type, body] pairs
sub read_until {
    my ($s, $want) = @_;
    my @msgs;
    for (;;) {
        my $n = read($s, my $hdr, 5);
        last unless $n && $n == 5;
        my ($type, $len) = unpack('aN', $hdr);
        read($s, my $body, $len - 4) if $len > 4;
        push @msgs, [$type, $body // ''];
        last if $type eq $want;
    }
    return \@msgs;
}

sub fields {
    my ($body) = @_;
    return { map { substr($_, 0, 1) => substr($_, 1) } split /\0/, $body };
}

sub refused {
    my ($bytes, $p) = @_;
    my ($s) = session($p);
    print $s $bytes;
    my $msgs = read_until($s, 'never');
    my ($e) = grep { $_->[0] eq 'E' } @$msgs;
    return $e ? fields($e->[1]) : {};
}

# a newer protocol minor, and an extension: told in NegotiateProtocolVersion
{
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
        Timeout => 10) or die "connect: $!";
    my $startup = pack('N', 0x00030002)
        . "user\0postgres\0database\0postgres\0_pq_.frob\0on\0\0";
    print $s pack('N', 4 + length $startup) . $startup;
    my $got = read_until($s, 'Z');
    is($got->[0][0], 'v', 'protocol 3.2 asked: NegotiateProtocolVersion first');
    my ($ver, $n, $opt) = unpack('NNZ*', $got->[0][1]);
    is($ver, 0x00030000, 'offering 3.0');
    is("$n $opt", '1 _pq_.frob', 'naming the extension it does not know');
    is($got->[-1][0], 'Z', 'and the session is ready');
    close $s;
}

# a startup packet with one parameter 64 times: refused, not overflowed
{
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
        Timeout => 10) or die "connect: $!";
    my $startup = pack('N', 196608) . ("TimeZone\0UTC\0" x 64) . "\0";
    print $s pack('N', 4 + length $startup) . $startup;
    my $got = read_until($s, 'never');
    my ($e) = grep { $_->[0] eq 'E' } @$got;
    like($e && $e->[1], qr/C08P01\0Mhoop: a startup parameter given twice/,
        'a startup parameter repeated: FATAL 08P01');
}

my ($s, $got) = session();
is($got->[-1][0], 'Z', 'a session through the framing relay is ready');
print $s msg('Q', 'SELECT ' . join('+', (1) x 2000) . "\0");
my $r = read_until($s, 'Z');
my ($row) = grep { $_->[0] eq 'D' } @$r;
like($row->[1], qr/2000$/,
    'a 4 kB query through a 1 kB relay buffer runs whole');

my $e = refused(msg('x', 'junk'));
is($e->{C}, '08P01', 'an unknown message type: protocol_violation');
like($e->{M}, qr/unexpected message type/, 'said so');

$e = refused('Q' . pack('N', 2));
is($e->{C}, '08P01', 'a length shorter than its own field: refused');
like($e->{M}, qr/malformed message/, 'as malformed');

$e = refused('S' . pack('N', 8) . "abcd");
is($e->{C}, '08P01', 'a Sync with a body: refused');

$e = refused(msg('Q', ('x' x 9000) . "\0"));
is($e->{C}, '08P01', 'SQL over hoop_pg_max_message: refused');
like($e->{M}, qr/message too large/, 'as too large');
like($e->{H}, qr/hoop_pg_max_message/, 'naming the directive');

$e = refused('Q' . pack('N', 0xfffffff0));
is($e->{C}, '08P01', 'a 4 GB length: refused before any is read');

$e = refused(msg('p', "password\0"));
is($e->{C}, '08P01', 'a password message once ready: refused');

# a Parse whose parameter types do not add up: refused by the gateway,
# before the server sees it
$e = refused(msg('P', "\0SELECT \$1::int\0" . pack('nN', 2, 23)) . msg('S', ''),
    $t->port('policy'));
like($e->{M}, qr/hoop: malformed Parse message/,
    'a Parse announcing two parameter types and carrying one: refused');
is($e->{C}, '08P01', 'with 08P01');
$e = refused(msg('P', "\0SELECT 1\0" . pack('n', 0) . 'x') . msg('S', ''),
    $t->port('policy'));
like($e->{M}, qr/hoop: malformed Parse message/,
    'a Parse with a byte after its types: refused');
my ($ps) = session($t->port('policy'));
print $ps msg('P', "\0SELECT \$1::int + 1\0" . pack('nN', 1, 23))
    . msg('B', "\0\0" . pack('n', 0) . pack('n', 1) . pack('N', 1) . '4'
    . pack('n', 0)) . msg('E', "\0" . pack('N', 0)) . msg('S', '');
my $ok = read_until($ps, 'Z');
($row) = grep { $_->[0] eq 'D' } @$ok;
like($row && $row->[1], qr/5$/, 'a well-formed Parse with one type runs');

print $s msg('Q', "SELECT 'still here'\0");
$r = read_until($s, 'Z');
($row) = grep { $_->[0] eq 'D' } @$r;
like($row->[1], qr/still here/, 'the first session was never disturbed');

close $s;

close $_ for $s, $ps;    # a graceful stop waits for open sessions
$t->stop;

done_testing;

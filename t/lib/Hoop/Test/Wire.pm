package Hoop::Test::Wire;

# The PostgreSQL frontend protocol by hand, for what no client library
# sends: a statement prepared by SQL and bound by the protocol, a cursor's
# portal executed by name, pipelines cut where a test wants them.

use strict;
use warnings;
use Exporter 'import';
use IO::Socket::INET;

our @EXPORT_OK = qw(msg parse bind_ execute sync query wire_session
    read_until error_of rows_of);

sub msg { my ($type, $body) = @_; $type . pack('N', 4 + length $body) . $body }

# Parse, Bind and Execute with names (default: the unnamed ones), no
# parameters, text results
sub parse   { my ($sql, $name) = @_; msg('P', ($name // '') . "\0$sql\0\0\0") }
sub bind_   { my ($stmt, $portal) = @_;
              msg('B', ($portal // '') . "\0" . ($stmt // '') . "\0\0\0\0\0\0\0") }
sub execute { my ($portal) = @_; msg('E', ($portal // '') . "\0\0\0\0\0") }
sub sync    { msg('S', '') }
sub query   { msg('Q', "$_[0]\0") }

# a session past its login: password (a token) when the server asks
sub wire_session {
    my (%o) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$o{port}",
        Timeout => 10) or die "connect: $!";
    my $startup = pack('N', 196608) . "user\0" . ($o{user} // 'postgres')
        . "\0database\0" . ($o{database} // 'postgres') . "\0\0";
    print $s pack('N', 4 + length $startup) . $startup;
    my $r;
    for (;;) {
        $r = read_until($s, 'Z', 'R', 'E');
        last unless @$r && $r->[-1][0] eq 'R';
        next if unpack('N', $r->[-1][1]) == 0;          # AuthenticationOk
        print $s msg('p', ($o{password} // '') . "\0");
    }
    die 'login: ' . (error_of($r) // 'no ReadyForQuery')
        unless @$r && $r->[-1][0] eq 'Z';
    return $s;
}

# messages up to the first of the types wanted, as [type, body]
sub read_until {
    my ($s, @want) = @_;
    my @msgs;
    for (;;) {
        my $n = read($s, my $hdr, 5);
        last unless $n && $n == 5;
        my ($type, $len) = unpack('aN', $hdr);
        my $body = '';
        read($s, $body, $len - 4) if $len > 4;
        push @msgs, [$type, $body];
        last if grep { $_ eq $type } @want;
    }
    return \@msgs;
}

# "SQLSTATE: message" of the first ErrorResponse, undef when none
sub error_of {
    my ($msgs) = @_;
    my ($e) = grep { $_->[0] eq 'E' } @$msgs;
    return undef unless $e;
    my %f = map { substr($_, 0, 1) => substr($_, 1) } grep { length } split /\0/, $e->[1];
    return "$f{C}: $f{M}";
}

# the DataRows' first columns
sub rows_of {
    my ($msgs) = @_;
    my @v;
    for my $m (grep { $_->[0] eq 'D' } @$msgs) {
        my $len = unpack('N', substr($m->[1], 2, 4));
        push @v, $len == 0xffffffff ? undef : substr($m->[1], 6, $len);
    }
    return @v;
}

1;

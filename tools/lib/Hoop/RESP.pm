package Hoop::RESP;

# A minimal Redis client (RESP2, one connection, blocking) for the tools
# and the tests: enough for commands and their replies, nothing more.

use strict;
use warnings;

use IO::Socket::INET;
use IO::Socket::UNIX;

# new('127.0.0.1:6379') or new('unix:/run/redis.sock'); dies if unreachable
sub new {
    my ($class, $addr, %o) = @_;
    my $s = $addr =~ m{^unix:(.*)}
        ? IO::Socket::UNIX->new(Peer => $1)
        : IO::Socket::INET->new(PeerAddr => $addr, Timeout => $o{timeout} // 5);
    die "cannot connect to Redis at $addr: $!\n" unless $s;
    binmode $s;
    my $self = bless { s => $s }, $class;
    $self->command('AUTH', $o{password}) if defined $o{password};
    $self->command('SELECT', $o{db}) if $o{db};
    return $self;
}

# One command; returns a scalar, an array ref, or undef; dies on an error.
sub command {
    my ($self, @args) = @_;
    my $req = '*' . @args . "\r\n";
    $req .= '$' . length($_) . "\r\n$_\r\n" for @args;
    print { $self->{s} } $req;
    return _reply($self->{s});
}

sub _reply {
    my ($s) = @_;
    my $line = <$s> // die "redis: connection closed\n";
    $line =~ s/\r\n$//;
    my ($t, $v) = (substr($line, 0, 1), substr($line, 1));
    return $v if $t eq '+' || $t eq ':';
    die "redis: $v\n" if $t eq '-';
    if ($t eq '$') {
        return undef if $v < 0;
        my $buf = '';
        while (length($buf) < $v + 2) {
            read($s, $buf, $v + 2 - length($buf), length($buf)) or last;
        }
        return substr($buf, 0, $v);
    }
    if ($t eq '*') {
        return undef if $v < 0;
        return [map { _reply($s) } 1 .. $v];
    }
    die "redis: unexpected reply $line\n";
}

1;

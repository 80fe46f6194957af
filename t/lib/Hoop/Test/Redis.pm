package Hoop::Test::Redis;

# A real redis-server on a free loopback port, with no persistence, for
# one test file.

use strict;
use warnings;

use IO::Socket::INET;
use Hoop::Test qw(test_dir free_port wait_until spawn reap slurp stop_child);

sub new {
    my ($class, %o) = @_;
    my $self = bless { %o }, $class;
    $self->{dir} = test_dir('redis');
    $self->{port} //= free_port();
    return $self;
}

sub port { $_[0]{port} }
sub addr { "127.0.0.1:$_[0]{port}" }

sub start {
    my ($self) = @_;
    my @extra = @{ $self->{args} || [] };
    $self->{pid} = spawn(
        cmd => ['redis-server', '--port', $self->{port},
            '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
            '--dir', $self->{dir}, '--daemonize', 'no', @extra],
        log => "$self->{dir}/redis.log");
    wait_until(sub { ($self->command('PING') // '') eq 'PONG' },
        'redis to answer PING');
    return $self;
}

# One command over RESP; returns a scalar, an array ref, or undef.
sub command {
    my ($self, @args) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $self->{port}, Timeout => 5) or return undef;
    my $req = '*' . @args . "\r\n";
    $req .= '$' . length($_) . "\r\n$_\r\n" for @args;
    print $s $req;
    my $r = _read_reply($s);
    close $s;
    return $r;
}

sub _read_reply {
    my ($s) = @_;
    my $line = <$s> // return undef;
    $line =~ s/\r\n$//;
    my ($t, $v) = (substr($line, 0, 1), substr($line, 1));
    return $v if $t eq '+' || $t eq ':';
    die "redis: $v\n" if $t eq '-';
    if ($t eq '$') {
        return undef if $v < 0;
        my $buf = '';
        read($s, $buf, $v + 2);
        return substr($buf, 0, $v);
    }
    if ($t eq '*') {
        return undef if $v < 0;
        return [map { _read_reply($s) } 1 .. $v];
    }
    die "redis: unexpected reply $line\n";
}

sub stop { stop_child($_[0]) }

sub DESTROY { $_[0]->stop }

1;

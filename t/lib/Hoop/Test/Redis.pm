package Hoop::Test::Redis;

# A real redis-server on a free loopback port, with no persistence, for
# one test file.

use strict;
use warnings;

use Hoop::RESP;

use IO::Socket::INET;
use JSON::PP ();
use Scalar::Util ();
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

# the instances running, for dump_all(): weak references
my @live;

sub start {
    my ($self) = @_;
    push @live, $self;
    Scalar::Util::weaken($live[-1]);
    my @extra = @{ $self->{args} || [] };
    $self->{pid} = spawn(
        cmd => ['redis-server', '--port', $self->{port},
            '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
            '--dir', $self->{dir}, '--daemonize', 'no', @extra],
        log => "$self->{dir}/redis.log");
    # PING is answered while an AOF still loads; data commands get
    # "LOADING" until it is done, so ask one of those
    wait_until(sub { defined eval { $self->command('DBSIZE') } },
        'redis to answer DBSIZE (loaded)');
    return $self;
}

# One command over a fresh connection; returns a scalar, an array ref, or
# undef when Redis is not there.
sub command {
    my ($self, @args) = @_;
    my $r = eval { Hoop::RESP->new($self->addr)->command(@args) };
    die $@ if $@ && $@ =~ /^redis: (?!connection closed)/;
    return $r;
}

# The audit events of a stream, decoded, oldest first.
sub events {
    my ($self, $stream) = @_;
    return map { JSON::PP::decode_json({ @{ $_->[1] } }->{event}) }
        @{ $self->command('XRANGE', $stream, '-', '+') // [] };
}

# Everything every running instance holds, as text: what the gateway
# stored (audit streams, reviews, grants), to be searched for secrets.
sub dump_all {
    my %out;
    for my $r (grep { defined && $_->{pid} } @live) {
        my $keys = eval { $r->command('KEYS', '*') } or next;
        my $text = '';
        for my $k (@$keys) {
            my $type = $r->command('TYPE', $k) // '';
            my $v = $type eq 'stream' ? $r->command('XRANGE', $k, '-', '+')
                : $type eq 'string' ? $r->command('GET', $k)
                : $type eq 'hash' ? $r->command('HGETALL', $k)
                : $type eq 'list' ? $r->command('LRANGE', $k, 0, -1)
                : $type eq 'zset' ? $r->command('ZRANGE', $k, 0, -1)
                : $type eq 'set' ? $r->command('SMEMBERS', $k) : undef;
            $text .= "$k " . flatten($v) . "\n";
        }
        $out{"redis:$r->{port}"} = $text;
    }
    return %out;
}

sub flatten {
    my ($v) = @_;
    return ref $v eq 'ARRAY' ? join(' ', map { flatten($_) } @$v) : $v // '';
}

sub stop { stop_child($_[0]) }

sub DESTROY { $_[0]->stop }

1;

package Hoop::Test::Upstream;

# What an upstream behind the gateway received.  Each request a test
# sends carries a marker argument (m1=1, m2=1, ...); the upstream's
# access log (a log_format starting with '$request_method $request_uri')
# records the requests that reached it, so a test tells which did.
#
#   my $up = Hoop::Test::Upstream->new("$dir/received.log");
#   my $mark = $up->mark;
#   ... send a request with "?$mark=1" ...
#   ok(!$up->reached($mark));         # denied: it never left the gateway
#   ok($up->arrived($mark));          # allowed: logged once answered

use strict;
use warnings;

use IO::Socket::INET;
use Hoop::Test qw(slurp wait_until);

sub new {
    my ($class, $log) = @_;
    return bless { log => $log, n => 0 }, $class;
}

sub mark {
    my ($self) = @_;
    return 'm' . ++$self->{n};
}

# the log line of the request with this marker, or undef
sub line {
    my ($self, $mark) = @_;
    my $log = -e $self->{log} ? slurp($self->{log}) : '';
    my ($line) = grep { /[?&]\Q$mark\E=1(?:[&\s]|$)/ } split /\n/, $log;
    return $line;
}

# whether it is there now: a denied request never left the gateway
sub reached {
    my ($self, $mark) = @_;
    return defined $self->line($mark);
}

# its line once the upstream has logged it (it logs after it answered),
# or '' if it never does
sub arrived {
    my ($self, $mark) = @_;
    return eval { wait_until(sub { $self->line($mark) }, $mark, 5) } // '';
}

# a request written by hand, sent as it is; its status, 0 if none
sub raw {
    my ($class, $port, $request) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
        or die "connect: $!";
    print $s $request;
    my $resp = do { local $/; <$s> };
    my ($status) = ($resp // '') =~ m{^HTTP/1\.[01] (\d+)};
    return $status // 0;
}

1;

# The gateway owns the client leg from the first byte: it answers
# SSLRequest/GSSENCRequest itself, refuses what is not a Postgres startup
# packet with a protocol error, passes a driver's CancelRequest to the
# server, and ends sessions that never start.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use DBI;
use DBD::Pg qw(:async);
use IO::Socket::INET;
use Time::HiRes qw(time);
use Hoop::Test qw(wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;

my $pg = Hoop::Test::Pg->new->start;
my $t = Hoop::Test::Nginx->new;
$t->run(<<"EOF");
stream {
    # the relay under test, without identity (see pg_auth.t)
    hoop_pg_auth off;

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_pg_startup_timeout 300ms;
    }
}
EOF
my $port = $t->port('pg');

sub talk {
    my ($bytes) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
        Timeout => 10) or die "connect: $!";
    print $s $bytes;
    my $all = '';
    $all .= $_ while <$s>;
    return $all;
}

sub error_fields {
    my ($msg) = @_;
    return {} unless substr($msg, 0, 1) eq 'E';
    my $len = unpack 'N', substr($msg, 1, 4);
    my %f = map { substr($_, 0, 1) => substr($_, 1) }
        split /\0/, substr($msg, 5, $len - 5);
    return \%f;
}

my $e = error_fields(talk("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
is($e->{C}, '08P01', 'HTTP on the Postgres port: protocol_violation');
is($e->{S}, 'FATAL', 'as a FATAL error');
like($e->{M}, qr/invalid startup packet/, 'saying what was wrong');

my $r = talk(pack('NN', 8, 80877103));
is(substr($r, 0, 1), 'N',
    'SSLRequest gets N: no TLS configured, go on in plain text');
like(error_fields(substr($r, 1))->{M}, qr/not received in time/,
    'and the startup packet is still awaited after it');
$r = talk(pack('NN', 8, 80877104));
is(substr($r, 0, 1), 'N', 'GSSENCRequest gets N');

my $t0 = time;
$e = error_fields(talk(''));
is($e->{C}, '08P01', 'a silent client is ended with a protocol error');
like($e->{M}, qr/not received in time/, 'that says why');
cmp_ok(time - $t0, '<', 5, 'after the startup timeout, not later');

$e = error_fields(talk(pack('NN', 8 + 100000, 3 << 16)));
like($e->{M} // '', qr/invalid startup packet/,
    'an oversized startup packet is refused before it is read');

my $dbh = DBI->connect("dbi:Pg:host=127.0.0.1;port=$port;dbname=postgres",
    'postgres', '', { RaiseError => 0, PrintError => 0 });
$dbh->do('SELECT pg_sleep(60)', { pg_async => PG_ASYNC });
# a cancel that reaches the server before the statement cancels nothing
wait_until(sub { $pg->psql(q{SELECT count(*) FROM pg_stat_activity
    WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'}) == 1 },
    'the statement to run');
$t0 = time;
ok($dbh->pg_cancel, 'DBD::Pg sends a CancelRequest through the gateway');
like($dbh->state, qr/57014/, 'the server cancelled the running pg_sleep');
cmp_ok(time - $t0, '<', 10, 'at once, not after 60 s');
is($dbh->selectrow_array('SELECT 7'), 7, 'the session goes on');
$dbh->disconnect;

$t->stop;
done_testing;

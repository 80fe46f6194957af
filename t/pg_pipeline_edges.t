# Where pipelines meet the protocol's corners, the gateway keeps matching
# every answer to its message: COPY FROM STDIN in the extended protocol
# (whose batch Sync the server ignores), errors in simple queries after
# that, a batch longer than the gateway's ring of awaited answers, and a
# client that leaves with a statement in flight (recorded all the same).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use IO::Socket::INET;
use JSON::PP;
use Hoop::Test qw(wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;
use Hoop::Test::Redis;

my $redis = Hoop::Test::Redis->new->start;
my $pg = Hoop::Test::Pg->new->start;
$pg->psql('CREATE TABLE t (id int)');

my $t = Hoop::Test::Nginx->new;
$t->run(<<"EOF");
stream {
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_audit_stream hoop:audit:pg;
    hoop_pg_auth off;

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
        hoop_rule deny sql.ddl name=no-ddl;
        hoop_rule allow sql.read;
        hoop_rule allow sql.write;
    }
}
EOF
$t->wait_redis(1);
my $port = $t->port('pg');

sub msg { my ($type, $body) = @_; $type . pack('N', 4 + length $body) . $body }
sub parse { msg('P', "\0$_[0]\0\0\0") }
sub bind_ { msg('B', "\0\0\0\0\0\0\0\0") }
sub exec_ { msg('E', "\0\0\0\0\0") }
sub sync { msg('S', '') }

sub session {
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
        Timeout => 10) or die "connect: $!";
    my $startup = pack('N', 196608) . "user\0postgres\0database\0postgres\0\0";
    print $s pack('N', 4 + length $startup) . $startup;
    read_until($s, 'Z');
    return $s;
}

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

sub code {
    my ($msgs) = @_;
    my ($e) = grep { $_->[0] eq 'E' } @$msgs;
    return '' unless $e;
    my %f = map { substr($_, 0, 1) => substr($_, 1) } split /\0/, $e->[1];
    return $f{C};
}

my $s = session();

# COPY FROM STDIN as libpq's PQexecParams sends it: the Sync in the batch
# reaches the server during the copy and is ignored
print $s parse('COPY t FROM STDIN'), bind_(), exec_(), sync();
my $r = read_until($s, 'G');
is($r->[-1][0], 'G', 'extended COPY FROM STDIN starts');
print $s msg('d', "1\n"), msg('c', ''), sync();
$r = read_until($s, 'Z');
is(scalar(grep { $_->[0] eq 'Z' } @$r), 1, 'one ReadyForQuery for the COPY');

for (1 .. 2) {
    print $s msg('Q', "SELECT 1/0\0");
    $r = read_until($s, 'Z');
    is(code($r), '22012', 'an error of the server\'s own, later');
}
print $s msg('Q', "DROP TABLE t\0");
$r = read_until($s, 'Z');
is(code($r), '42501', 'and still every statement is decided: DDL denied');
is($pg->psql('SELECT count(*) FROM t'), 1, 'the table is there, the row in');

# a batch longer than the ring of awaited answers: it waits, not forever
print $s join '', map { parse('SELECT 1') . bind_() . exec_() } 1 .. 200;
print $s sync();
$r = read_until($s, 'Z');
is(scalar(grep { $_->[0] eq 'C' } @$r), 200,
    '200 statements before one Sync: all answered');
is($r->[-1][0], 'Z', 'and the Sync');

print $s msg('Q', "SELECT 42\0");
$r = read_until($s, 'Z');
my ($row) = grep { $_->[0] eq 'D' } @$r;
like($row->[1], qr/42$/, 'the session goes on');

# a Parse the server refuses ("already exists"): the name still means
# what it meant, and executions are recorded with that statement
print $s msg('P', "s1\0DELETE FROM t WHERE id = 99\0\0\0"), sync();
read_until($s, 'Z');
print $s msg('P', "s1\0SELECT 1\0\0\0"), sync();
$r = read_until($s, 'Z');
is(code($r), '42P05', 'a second Parse of the name: refused by the server');
print $s msg('B', "\0s1\0\0\0\0\0\0\0"), exec_(), sync();
$r = read_until($s, 'Z');
my ($tag) = grep { $_->[0] eq 'C' } @$r;
like($tag->[1], qr/^DELETE 0/, 'the name runs the first statement');

# a Close the server skipped (an earlier message of its batch failed)
# closes nothing: the statement still runs, and is recorded with its SQL;
# a Close it took does close
{
    my $c = session();
    print $c msg('P', "kept\0SELECT 'still prepared'\0\0\0") . sync();
    read_until($c, 'Z');
    print $c msg('B', "\0nope\0\0\0\0\0\0\0") . msg('C', "Skept\0") . sync();
    is(code(read_until($c, 'Z')), '26000',
        'a batch fails before its Close: the server skips the Close');
    print $c msg('B', "\0kept\0\0\0\0\0\0\0") . exec_() . sync();
    my ($row) = grep { $_->[0] eq 'D' } @{ read_until($c, 'Z') };
    like($row && $row->[1], qr/still prepared$/, 'the statement still runs');
    print $c msg('C', "Skept\0") . msg('P', "kept\0SELECT 'again'\0\0\0")
        . sync();
    is(code(read_until($c, 'Z')), '', 'a Close taken, then the name reused');
    close $c;
}

# leaving with a statement in flight
print $s msg('Q', "SELECT pg_sleep(0.5), 'in flight'\0");
close $s;

my @ev;
wait_until(sub {
    @ev = grep { $_->{type} eq 'pg.query' }
        map { decode_json({ @{ $_->[1] } }->{event}) }
        @{ $redis->command('XRANGE', 'hoop:audit:pg', '-', '+', 'COUNT', 10000) // [] };
    grep { ($_->{query}{sql} // '') =~ /pg_sleep/ } @ev;
}, 'the statement in flight to be recorded');
my ($flight) = grep { ($_->{query}{sql} // '') =~ /pg_sleep/ } @ev;
is($flight->{result}{ran}, undef,
    'a statement unanswered when the client left: recorded, outcome unknown');
my @del = grep { $_->{query}{protocol} eq 'extended'
    && ($_->{result}{ran} // 0) && ($_->{query}{command} // '') eq 'delete' } @ev;
is(scalar(@del), 1, 'the execution is recorded as the DELETE it was');
my ($drop) = grep { ($_->{query}{command} // '') eq 'drop' } @ev;
is($drop->{decision}{rule}, 'no-ddl', 'the denial is recorded with its rule');
my @unknown = grep { ($_->{result}{ran} // 0) && !defined $_->{query}{sql} }
    @ev;
is(scalar @unknown, 0, 'every statement that ran is recorded with its SQL'
    . ' (the one whose Close the server skipped too)')
    or diag explain [map { $_->{query} } @unknown];

$t->stop;
done_testing;

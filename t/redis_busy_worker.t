# A worker kept busy longer than hoop_redis timeout= (a long statement
# parsed and classified) has not given Redis that time: nginx expires its
# timers after such a pause before it reads its sockets, and the audit
# events queued just before were only then written.  Redis is not
# declared down for it: no statement is refused, no event is lost.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use JSON::PP;
use Hoop::Test qw(wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;
use Hoop::Test::Redis;

my $redis = Hoop::Test::Redis->new->start;
my $pg = Hoop::Test::Pg->new->start;
my $t = Hoop::Test::Nginx->new;
$t->run(<<"EOF");
stream {
    hoop_redis 127.0.0.1:${\ $redis->port} timeout=200ms;
    hoop_audit_stream hoop:audit:pg;
    hoop_pg_auth off;

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
    }
}
EOF
$t->wait_redis(1);
my $port = $t->port('pg');

# one session keeps events in flight, the other keeps the worker busy
# (a 60000-value IN list: longer than 200 ms to parse and classify; a
# third of it under the sanitizers, which make it slower still)

my $psql = "psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $port"
    . " -U postgres -d postgres >/dev/null";
my $long = 'SELECT count(*) FROM generate_series(1, 5) g WHERE g IN ('
    . join(', ', 1 .. ($ENV{HOOP_ASAN} ? 20000 : 60000)) . ')';

open my $short, '|-', $psql or die;
open my $busy, '|-', $psql or die;
print $short "SELECT $_;\n" for 1 .. 1000;
print $busy "$long;\n" for 1 .. 3;
ok(close($short), 'the short statements all ran');
ok(close($busy), 'the long statements all ran');

my $recorded = sub {
    scalar grep { $_->{type} eq 'pg.query' }
        map { decode_json({ @{ $_->[1] } }->{event}) }
        @{ $redis->command('XRANGE', 'hoop:audit:pg', '-', '+') // [] };
};
wait_until(sub { $recorded->() >= 1003 }, 'the 1003 statements\' events',
    30);
is($recorded->(), 1003, 'every statement recorded, once');
unlike($t->error_log, qr/hoop redis \(stream\): .* timed out/,
    'Redis was not declared down for the worker\'s own pause');

$t->stop;
done_testing;

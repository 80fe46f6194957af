# hoop_pg_audit_rows: the rows a statement returned, as the client got
# them (masked), are kept in its pg.query event while the session's byte
# budget lasts; the event says when rows were left out.  And a statement
# longer than the usual event buffer is recorded whole, not lost.
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
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_audit_stream hoop:audit:pg;
    hoop_pg_auth off;

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
        hoop_pg_audit_rows 300;
        hoop_mask detect=email;
    }
}
EOF
$t->wait_redis(1);
my $port = $t->port('pg');

my $long = 'SELECT count(*) FROM generate_series(1, 5) g WHERE g IN ('
    . join(', ', 1 .. 3000) . ')';
open my $in, '|-', "psql -X -q -At -h 127.0.0.1 -p $port -U postgres -d postgres >/dev/null" or die;
print $in "SELECT g AS id, 'u' || g || '\@example.com' AS email, NULL AS gap"
    . " FROM generate_series(1, 2) g;\n";
print $in "SELECT g FROM generate_series(1, 500) g;\n";
print $in "SELECT 'after the budget';\n";
print $in "$long;\n";
close $in;

# (60 s: twice in CI's make test-asan half the four did not all come
# within 20 s, for a reason not known yet; what came is said if so)
my @ev;
eval {
    wait_until(sub {
        @ev = grep { $_->{type} eq 'pg.query' }
            map { decode_json({ @{ $_->[1] } }->{event}) }
            @{ $redis->command('XRANGE', 'hoop:audit:pg', '-', '+') // [] };
        @ev >= 4;
    }, 'four statements', 60);
    1;
} or do {
    diag("events so far: " . join(', ', map {
        ($_->{query}{sql} // "?") =~ s/^(.{40}).*/$1.../r } @ev));
    diag(join "\n", grep { /\[(error|crit|alert)\]/ }
        split /\n/, $t->error_log);
    die $@;
};

is_deeply($ev[0]{result}{captured},
    [['1', '[EMAIL]', undef], ['2', '[EMAIL]', undef]],
    'the rows as the client got them: masked, NULL as null');
ok(!$ev[0]{result}{captured_truncated}, 'all of them');
ok($ev[1]{result}{captured_truncated}, 'a result over the budget: truncated,'
    . ' said so');
ok(scalar(@{ $ev[1]{result}{captured} }) < 500, 'with only what fitted');
is($ev[1]{result}{rows}, 500, 'the row count is still the whole');
ok(!$ev[2]{result}{captured} || !@{ $ev[2]{result}{captured} },
    'after the session\'s budget, nothing more is kept');
ok($ev[3]{query}{sql} =~
    qr/^SELECT count\(\*\) FROM generate_series\(\$1, \$2\) g WHERE g IN \(\$3, .*, \$3002\);?$/,
    'a 15 kB statement is recorded whole (literals masked)');

$t->stop;
done_testing;

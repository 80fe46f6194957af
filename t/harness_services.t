# The service helpers: a real redis-server and a real PostgreSQL cluster per
# test file, and nothing left running when a test file dies half-way.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use Hoop::Test qw(port_open test_dir spit);
use Hoop::Test::Redis;
use Hoop::Test::Pg;

my $r = Hoop::Test::Redis->new->start;
is($r->command('SET', 'k', "v\r\nw"), 'OK', 'redis answers SET');
is($r->command('GET', 'k'), "v\r\nw", 'and GET, binary-safe');
is_deeply($r->command('XRANGE', 'none', '-', '+'), [],
    'arrays come back as array refs');

my $pg = Hoop::Test::Pg->new->start;
like($pg->psql('SHOW server_version'), qr/^\d+\.\d+/,
    'PostgreSQL answers on its loopback port');
is($pg->psql('SELECT current_user'), 'postgres', 'as superuser postgres');
$pg->stop;
ok(!port_open($pg->port), 'stop() stops it');

# a test file that dies after starting both leaves nothing running
my $script = <<'EOS';
use lib @ARGV;
use Hoop::Test::Redis; use Hoop::Test::Pg;
my $r = Hoop::Test::Redis->new->start;
my $pg = Hoop::Test::Pg->new->start;
print $r->port, ' ', $pg->port, "\n";
die "a test that dies\n";
EOS
spit(test_dir() . '/dies.pl', $script);
my $out = `$^X ${\ test_dir()}/dies.pl $FindBin::Bin/lib $FindBin::Bin/../tools/lib 2>/dev/null`;
my ($rport, $pport) = $out =~ /^(\d+) (\d+)$/m;
ok($rport && $pport, 'the dying script started both');
ok(!port_open($rport), 'its redis-server is gone');
ok(!port_open($pport), 'its PostgreSQL is gone');

done_testing;

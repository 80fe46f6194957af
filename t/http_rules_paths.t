# hoop_rule path= against an agent that respells a denied path for an
# upstream that reads it more laxly than nginx: encoded twice, overlong
# UTF-8, '\', Tomcat's "..;", Windows' trailing dots and spaces, and,
# where the upstream matches paths in either case, Unicode characters
# that fold to the ASCII of the rule (Kelvin sign, dotless i, long s,
# ligatures).  The upstream records every request: a denied one never
# reaches it.  The same over HTTP/2 (curl), and the audit event records
# the reading the rules decided on.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use JSON::PP;
use Hoop::Test qw(wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Redis;
use Hoop::Test::Upstream;

my $redis = Hoop::Test::Redis->new->start;
my $t = Hoop::Test::Nginx->new(workers => 1);
my $d = $t->dir;

$t->run(<<"EOF");
http {
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_audit_stream hoop:audit;

    server {
        listen 127.0.0.1:%%PORT_http%%;
        listen 127.0.0.1:%%PORT_h2%% http2;
        hoop_audit on;

        location /p/ {
            hoop_rule deny  name=admin path=/p/admin*;
            hoop_rule allow name=rest path=/p/*;
            hoop_default deny;
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
        }
        # a regex location handing its capture on: "$" matches before a
        # final newline, which the capture leaves out
        location ~ ^/r(/.*)\$ {
            hoop_rule deny  name=radmin path=/r/admin;
            hoop_rule allow name=rest path=/r/*;
            hoop_default deny;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/r\$1\$is_args\$args;
        }
        location /w/ {
            hoop_rule_path_case insensitive;
            hoop_rule deny  name=private
                path=/w/admin*,/w/secret*,/w/keys*,/w/files*,/w/strasse*;
            hoop_rule allow name=rest path=/w/*;
            hoop_default deny;
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
        }
    }

    log_format received '\$request_method \$request_uri';
    server {
        listen 127.0.0.1:%%PORT_backend%%;
        access_log %%DIR%%/received.log received;
        return 200 "ok\\n";
    }
}
EOF
$t->wait_redis(1);
my $up = Hoop::Test::Upstream->new("$d/received.log");

# by hand: the path goes out exactly as written
sub raw_get {
    my ($path) = @_;
    my $mark = $up->mark;
    my $status = Hoop::Test::Upstream->raw($t->port('http'),
        "GET $path?$mark=1 HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n");
    return ($status, $mark);
}

sub reached { $up->reached($_[0]) }
sub arrived { $up->arrived($_[0]) }

for my $case (
    [ '/p/%2561dmin/x', 'encoded twice' ],
    [ '/p/%25%36%31dmin/x', 'encoded twice, the escape itself escaped' ],
    [ '/p/%252561dmin/x', 'encoded three times' ],
    [ '/p/x%c0%af..%c0%afadmin/y', 'overlong UTF-8 slashes' ],
    [ '/p/x/%c0%ae%c0%ae/admin/y', 'overlong UTF-8 dots' ],
    [ '/p/%e0%81%a1dmin/x', 'a three-byte overlong letter' ],
    [ '/p/x%5c..%5cadmin/y', 'backslashes' ],
    [ '/p/x/..;/admin/y', q{Tomcat's "..;"} ],
    [ '/p/x/%2e%2e%3b/admin/y', q{"..;" encoded} ],
    [ '/p/admin./x', 'a trailing dot' ],
    [ '/p/admin%20%20/x', 'trailing spaces' ],
    [ '/p/admin;jsessionid=1/x', 'a ;param' ],
) {
    my ($path, $name) = @{$case};
    my ($status, $mark) = raw_get($path);
    is($status, 403, "$name ($path): denied");
    ok(!reached($mark), '  never reaching the upstream');
}

{
    my ($status, $mark) = raw_get('/r/admin%0A');
    is($status, 403, 'a final newline a regex location drops: denied');
    ok(!reached($mark), '  never reaching the upstream');
    ($status, $mark) = raw_get('/r/items');
    is($status, 200, 'the regex location lets other paths through');
    ok(arrived($mark), '  to the upstream');
}

my ($status, $mark) = raw_get('/p/items/x');
is($status, 200, 'another path: allowed');
ok(arrived($mark), '  and reaches the upstream');
($status) = raw_get('/p/ADMIN/x');
is($status, 200, 'case-sensitive by default: /p/ADMIN is another path');

# an upstream that matches paths in either case (IIS, ASP.NET, Spring
# with case-insensitive matching): characters that fold to the rule's
for my $case (
    [ '/w/ADMIN/x', 'ASCII in another case' ],
    [ '/w/ADM%C4%B0N/x', 'dotted capital I' ],
    [ '/w/adm%C4%B1n/x', 'dotless i' ],
    [ '/w/%C5%BFecret', 'long s' ],
    [ '/w/%E2%84%AAeys', 'the Kelvin sign' ],
    [ '/w/%EF%AC%81les', 'the fi ligature' ],
    [ '/w/STRA%C3%9FE', 'sharp s' ],
    [ '/w/%2541DMIN', 'encoded twice, in another case' ],
) {
    my ($path, $name) = @{$case};
    ($status, $mark) = raw_get($path);
    is($status, 403, "path_case insensitive, $name ($path): denied");
    ok(!reached($mark), '  never reaching the upstream');
}
($status, $mark) = raw_get('/w/public');
is($status, 200, 'path_case insensitive, another path: allowed');

# HTTP/2
SKIP: {
    my $curl = `curl --version 2>/dev/null`;
    skip 'curl without HTTP/2', 4 unless $curl =~ /\bHTTP2\b/;
    my $h2 = 'http://127.0.0.1:' . $t->port('h2');
    for my $case ([ '/p/%2561dmin/x', 403 ], [ '/p/items/y', 200 ]) {
        my ($path, $want) = @{$case};
        $mark = $up->mark;
        my $out = `curl -s -o /dev/null --http2-prior-knowledge --path-as-is -w '%{http_version} %{http_code}' '$h2$path?$mark=1'`;
        is($out, "2 $want", "HTTP/2 $path: $want over HTTP/2");
        is(($want == 200 ? arrived($mark) : reached($mark)) ? 1 : 0,
            $want == 200 ? 1 : 0,
            '  reaching the upstream only if allowed');
    }
}

# the audit event: the path sent and the reading the rule decided on
my $ev;
wait_until(sub {
    ($ev) = grep { ($_->{request}{path} // '') eq '/p/x/..;/admin/y' }
        map { decode_json({ @{ $_->[1] } }->{event}) }
        @{ $redis->command('XRANGE', 'hoop:audit', '-', '+') };
    $ev;
}, 'the event of the "..;" request');
is($ev->{request}{path_lax}, '/p/admin/y', 'the event has the lax reading');
is($ev->{decision}{rule}, 'admin', 'and the rule that denied on it');

$t->stop;
done_testing;

# hoop_mask on proxied HTTP APIs: sensitive values in JSON and text
# responses never reach the client, whole or split across the upstream's
# buffers, in small and multi-megabyte bodies; the audit event records how
# many values of each kind were masked and a masked path; an encoded
# response that cannot be inspected is refused, never passed through.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use Hoop::Test qw(secret spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Redis;

my $redis = Hoop::Test::Redis->new->start;
my $t = Hoop::Test::Nginx->new;
my $d = $t->dir;
mkdir "$d/www";
spit("$d/mask.key", "mask key for the test suite\n", 0600);

my %values = (
    email => 'alice.smith@example.com',
    credit_card => '4111 1111 1111 1111',
    iban => 'DE89 3704 0044 0532 0130 00',
    us_ssn => '123-45-6789',
    phone => '(415) 555-2671',
    ipv4 => '10.20.30.40',
    aws_key => 'AKIAIOSFODNN7EXAMPLE',
    jwt => 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJl',
);
secret($_, "a sample $_ value sent unmasked") for values %values;

my $json = encode_json({ customer => { %values }, note => 'plain text 42' });
spit("$d/www/customer.json", $json);

# a value across the 1 KiB reads of the proxy below
my $pad = 'x' x (1024 - 10);
spit("$d/www/split.txt", "$pad bob\@example.org and more\n");

# 4 MiB with a value every 2 KiB
my $line = "row ${\ ('y' x 80)} carol\@example.net $values{credit_card}\n";
my $big = '';
my $planted = 0;
while (length $big < 4 << 20) {
    $big .= ('z' x (2048 - length $line)) . "\n" . $line;
    $planted += 2;
}
spit("$d/www/big.txt", $big);
spit("$d/www/logo.png", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR bob\@example.org");

$t->run(<<"EOF");
http {
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_audit_stream hoop:audit;
    types { application/json json; text/plain txt; image/png png; }

    server {
        listen 127.0.0.1:%%PORT_http%% sndbuf=16k;
        hoop_audit on;
        hoop_mask detect=all;

        location /api/ {
            proxy_pass http://127.0.0.1:%%PORT_backend%%/;
        }
        location /small-reads/ {
            proxy_buffering off;
            proxy_buffer_size 1k;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/;
        }
        location /buffered/ {
            proxy_buffers 4 1k;
            proxy_buffer_size 1k;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/;
        }
        location /partial/ {
            hoop_mask detect=email,credit_card,us_ssn strategy=partial;
            hoop_mask detect=iban strategy=hash;
            hoop_mask_key %%DIR%%/mask.key;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/;
        }
        location /narrow/ {
            hoop_mask_types application/json;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/;
        }
        location /raw/ {
            hoop_mask off;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/;
        }
        location /echo/ {
            proxy_pass http://127.0.0.1:%%PORT_backend%%/echo;
        }
        location /gzipped/ {
            proxy_pass http://127.0.0.1:%%PORT_backend%%/gzipped;
        }
        location /partial-upstream/ {
            proxy_pass http://127.0.0.1:%%PORT_backend%%/partial;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_backend%%;
        root %%DIR%%/www;
        sendfile off;
        location /echo {
            default_type text/plain;
            return 200 "accept-encoding=[\$http_accept_encoding]\\n";
        }
        location /partial {
            default_type text/plain;
            return 206 "dave\@example.com";
        }
        location /gzipped {
            default_type text/plain;
            add_header Content-Encoding gzip;
            return 200 "not really gzip: dave\@example.com\\n";
        }
    }
}
EOF
$t->wait_redis(1);
my $base = 'http://127.0.0.1:' . $t->port('http');
my $http = HTTP::Tiny->new;

# every kind of value, in JSON

my $r = $http->get("$base/api/customer.json");
is($r->{status}, 200, 'a JSON response through hoop_mask');
my $body = decode_json($r->{content});
my %want = (
    email => '[EMAIL]', credit_card => '[CREDIT_CARD]', iban => '[IBAN]',
    us_ssn => '[US_SSN]', phone => '[PHONE]', ipv4 => '[IPV4]',
    aws_key => '[AWS_KEY]', jwt => '[JWT]');
is_deeply($body->{customer}, \%want, 'every value masked, the JSON intact');
is($body->{note}, 'plain text 42', 'the rest untouched');
for my $k (sort keys %values) {
    unlike($r->{content}, qr/\Q$values{$k}\E/, "no $k in the body");
}
ok(!defined $r->{headers}{'content-length'},
    'no stale Content-Length: the body is sent chunked');
is($r->{headers}{'transfer-encoding'}, 'chunked', 'chunked');

# values split across upstream reads, unbuffered and buffered

for my $loc (qw(small-reads buffered)) {
    $r = $http->get("$base/$loc/split.txt");
    is($r->{content}, "$pad [EMAIL] and more\n",
        "$loc: a value across two 1 KiB upstream buffers is masked");
}

# 4 MiB through 1 KiB buffers

$r = $http->get("$base/buffered/big.txt");
is($r->{status}, 200, '4 MiB through 1 KiB buffers');
my $emails = () = $r->{content} =~ /\[EMAIL\]/g;
my $cards = () = $r->{content} =~ /\[CREDIT_CARD\]/g;
is($emails + $cards, $planted, "all $planted values masked");
unlike($r->{content}, qr/carol\@|4111 1111/, 'none left');

# a client that reads slowly: the filter stops taking input while the
# client is behind and resumes when it catches up, buffered or not

# (the server's send buffer is 16k, so the gateway feels the client's pace)
sub slow_get {
    my ($path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $t->port('http')) or die "connect: $!";
    print $s "GET $path HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    my ($got, $reads) = ('', 0);
    local $SIG{ALRM} = sub { die "stalled\n" };
    alarm 60;
    while (sysread($s, my $chunk, 16384)) {
        $got .= $chunk;
        select(undef, undef, undef, 0.002) if ++$reads % 16 == 0;
    }
    alarm 0;
    return $got;
}

for my $loc (qw(small-reads buffered)) {
    my $got = eval { slow_get("/$loc/big.txt") } // "error: $@";
    like($got, qr/\r\n0\r\n\r\n\z/,
        "$loc: a slow reader gets the whole 4 MiB, to the last chunk");
    my $n = () = $got =~ /\[EMAIL\]|\[CREDIT_CARD\]/g;
    is($n, $planted, "$loc: with every value masked");
}

# strategies

$r = $http->get("$base/partial/customer.json");
$body = decode_json($r->{content});
is($body->{customer}{email}, 'a***@example.com', 'partial email');
is($body->{customer}{credit_card}, '**** **** **** 1111', 'partial card');
is($body->{customer}{us_ssn}, '***-**-6789', 'partial ssn');
like($body->{customer}{iban}, qr/^\[IBAN:[0-9a-f]{16}\]$/, 'keyed hash');
is($body->{customer}{phone}, $values{phone},
    'detectors not listed in the location are not applied');
my $again = decode_json($http->get("$base/partial/customer.json")->{content});
is($again->{customer}{iban}, $body->{customer}{iban}, 'the hash is stable');

# what is not masked

$r = $http->get("$base/raw/customer.json");
like($r->{content}, qr/alice\.smith\@example\.com/, 'hoop_mask off');
$r = $http->get("$base/narrow/logo.png");
like($r->{content}, qr/bob\@example\.org/,
    'types outside a hoop_mask_types list pass as they are');
is($r->{headers}{'content-length'}, -s "$d/www/logo.png",
    'with their Content-Length');
$r = $http->get("$base/api/logo.png");
is($r->{status}, 502, 'by default a binary body cannot be read, so is refused');

# upstreams asked for plain text; encoded responses refused

$r = $http->get("$base/echo/", { headers => { 'Accept-Encoding' => 'gzip' } });
is($r->{content}, "accept-encoding=[]\n",
    'Accept-Encoding is not passed upstream');
$r = $http->get("$base/gzipped/");
is($r->{status}, 502, 'an encoded response cannot be masked: 502');
unlike($r->{content}, qr/dave\@/, 'and none of it reaches the client');
like($t->error_log, qr/hoop_mask: response is "gzip"-encoded and cannot be masked; refused/,
    'the error log says why');

# ranges: a part of a body would cut values in two

$r = $http->get("$base/api/customer.json",
    { headers => { Range => 'bytes=0-34' } });
is($r->{status}, 200, 'a Range request gets the whole masked body');
is_deeply(decode_json($r->{content})->{customer}, \%want, 'masked');
$r = $http->get("$base/api/customer.json",
    { headers => { Range => 'bytes=0-50,51-200' } });
is($r->{status}, 200, 'several ranges too: no multipart/byteranges');
unlike($r->{content}, qr/alice|4111/, 'nothing unmasked');
$r = $http->get("$base/partial-upstream/");
is($r->{status}, 502, 'an upstream 206 cannot be masked: 502');
unlike($r->{content}, qr/dave\@/, 'and none of it passes');

# the audit event: masked counts, masked path

$r = $http->get("$base/api/customer.json?x=1");
$r = $http->get("$base/raw/users/erin\@example.com");
wait_until(sub {
    my $e = $redis->command('XRANGE', 'hoop:audit', '-', '+');
    grep { $_->[1][5] =~ m{/raw/users} } @$e;
}, 'the events are in Redis');
my @events = map { decode_json({ @{ $_->[1] } }->{event}) }
    @{ $redis->command('XRANGE', 'hoop:audit', '-', '+') };
my ($json_ev) = grep { ($_->{request}{path} // q{}) eq '/api/customer.json' }
    reverse @events;
is_deeply($json_ev->{response}{masked}, {
    email => 1, credit_card => 1, iban => 1, us_ssn => 1, phone => 1,
    ipv4 => 1, aws_key => 1, jwt => 1 }, 'the event counts masked values');
my ($raw_ev) = grep { ($_->{request}{path} // q{}) =~ m{^/raw/users/} } @events;
is($raw_ev->{request}{path}, '/raw/users/erin@example.com',
    'hoop_mask off: the path is recorded as it is');
is($raw_ev->{response}{masked}, undef, 'and nothing is counted');

$r = $http->get("$base/api/users/frank\@example.com");
wait_until(sub {
    my $e = $redis->command('XRANGE', 'hoop:audit', '-', '+');
    grep { $_->[1][5] =~ m{/api/users} } @$e;
}, 'the event is in Redis');
my ($user_ev) = grep { ($_->{request}{path} // q{}) =~ m{^/api/users/} }
    map { decode_json({ @{ $_->[1] } }->{event}) }
    @{ $redis->command('XRANGE', 'hoop:audit', '-', '+') };
is($user_ev->{request}{path}, '/api/users/[EMAIL]',
    'the audit log stores the path masked');
my $all = join "\n", map { $_->[1][5] }
    @{ $redis->command('XRANGE', 'hoop:audit', '-', '+') };
unlike($all, qr/frank\@|alice\.smith|4111 1111/,
    'no masked value anywhere in the audit stream');

$t->stop;
done_testing;

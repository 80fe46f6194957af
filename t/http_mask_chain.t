# hoop_mask against text that reaches a response without coming from the
# upstream's body: header values written by add_header (from the
# configuration, from an upstream's header, from auth_request_set) and
# add_trailer, an SSI
# echo of such a variable, sub_filter's replacement text; and against a
# masked request that goes on to a location that does not mask
# (X-Accel-Redirect, error_page to a named location or to a URI), header
# names holding a value behind an escape, and a gzip body gunzip decodes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use Encode qw(decode);
use IO::Compress::Gzip qw(gzip);
use IO::Socket::INET;
use POSIX ();
use JSON::PP;
use Hoop::Test qw(secret spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Redis;

my $redis = Hoop::Test::Redis->new->start;
my $t = Hoop::Test::Nginx->new;
my $d = $t->dir;
mkdir "$d/www";
mkdir "$d/www/private";
mkdir "$d/www/big";

# (values in header fields are in nginx's debug log: planted are the
# bodies' only)
secret($_, "a sample value sent unmasked")
    for ('zed@example.com', '219-09-9999', 'judy@example.net');

spit("$d/www/private/ids.txt", "ssn 219-09-9999 mail zed\@example.com\n");
spit("$d/www/echo.html", "<p>owner: <!--# echo var=\"owner\" --></p>\n");
gzip(\"{\"email\":\"judy\@example.net\"}\n" => \my $gz);

# a card across the first 64 KiB slice's end
my $cut = ('x' x (65536 - 9)) . ' 4111 1111 1111 1111 end' . ('y' x 70000);
spit("$d/www/big/cut.txt", $cut);
# (text in windows-1251 itself: its no-break space and en dash)
spit("$d/www/big/cp1251.txt", "card 4111\xa01111\xa01111\xa01111 "
    . "ssn 078\x9605\x961120\n");
spit("$d/www/big/koi8.txt", "card 4111\x9a1111\x9a1111\x9a1111\n");
spit("$d/www/data.json.gz", $gz);

$t->run(<<"EOF");
http {
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_audit_stream hoop:audit;
    types { application/json json; text/plain txt; text/html html; }
    include /etc/nginx/win-utf;

    server {
        listen 127.0.0.1:%%PORT_http%%;
        hoop_audit on;
        hoop_mask detect=all;

        location /added {
            add_header X-Owner "henry\@example.com" always;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/plain;
        }
        location /copied {
            proxy_hide_header X-Owner;
            add_header X-Copy \$upstream_http_x_owner always;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/owner;
        }
        location /trailer {
            proxy_hide_header X-Owner;
            add_trailer X-Owner \$upstream_http_x_owner;
            add_trailer X-Card-4111111111111111 1;
            add_trailer X-Kept 1;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/owner;
        }
        location /authed {
            auth_request /auth;
            auth_request_set \$owner \$upstream_http_x_owner;
            add_header X-Owner \$owner always;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/plain;
        }
        location = /auth {
            internal;
            proxy_pass_request_body off;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/owner;
        }
        location = /echo.html {
            ssi on;
            auth_request /auth;
            auth_request_set \$owner \$upstream_http_x_owner;
            root %%DIR%%/www;
        }
        location /subbed {
            auth_request /auth;
            auth_request_set \$owner \$upstream_http_x_owner;
            sub_filter HOLDER_NAME \$owner;
            sub_filter_types *;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/template;
        }

        location /accel {
            proxy_pass http://127.0.0.1:%%PORT_backend%%/accel;
        }
        location /private/ {
            internal;
            hoop_mask off;
            alias %%DIR%%/www/private/;
        }
        location /open/ {
            hoop_mask off;
            alias %%DIR%%/www/private/;
        }
        location /weak-accel {
            hoop_mask detect=email;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/accel-strict;
        }
        location /strict/ {
            internal;
            alias %%DIR%%/www/private/;
        }
        location /failing {
            proxy_intercept_errors on;
            error_page 500 = \@fallback;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/fail;
        }
        location \@fallback {
            hoop_mask off;
            rewrite ^ /ids break;
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
        }
        location /missing/ {
            error_page 404 /open/ids.txt;
            root %%DIR%%/www;
        }

        location /names {
            proxy_pass http://127.0.0.1:%%PORT_backend%%/names;
        }
        location /open-names {
            hoop_mask off;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/names;
        }
        location /gz/ {
            gunzip on;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/gz/;
        }

        location /early {
            proxy_pass http://127.0.0.1:%%PORT_raw%%;
        }
        location /slices/ {
            slice 64k;
            proxy_set_header Range \$slice_range;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/;
        }
        location /validated {
            proxy_pass http://127.0.0.1:%%PORT_backend%%/validated;
        }
        location /recoded {
            charset windows-1251;
            source_charset utf-8;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/utf8;
        }
        location /single/ {
            proxy_pass http://127.0.0.1:%%PORT_backend%%/;
        }
        location /declared/ {
            proxy_pass http://127.0.0.1:%%PORT_backend%%/big/;
        }
        location /refused-copy {
            proxy_hide_header X-Owner;
            add_header X-Owner2 \$upstream_http_x_owner always;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/owner-binary;
        }
        location /binary-trailer {
            hoop_mask_unreadable pass;
            add_trailer X-Owner "henry\@example.com";
            proxy_pass http://127.0.0.1:%%PORT_backend%%/binary;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_backend%%;
        default_type text/plain;

        location /plain {
            return 200 "nothing here\\n";
        }
        location /owner {
            add_header X-Owner "ivan\@example.org" always;
            return 200 "ok\\n";
        }
        location /template {
            return 200 "holder: HOLDER_NAME\\n";
        }
        location /accel {
            add_header X-Accel-Redirect /private/ids.txt;
            return 200 "";
        }
        location /accel-strict {
            add_header X-Accel-Redirect /strict/ids.txt;
            return 200 "";
        }
        location /fail {
            return 500;
        }
        location /ids {
            return 200 "ssn 219-09-9999 mail zed\@example.com\\n";
        }
        location /names {
            add_header "X-Card%2D4111111111111111" 1 always;
            add_header "X-Card&#45;4111111111111111" 1 always;
            add_header "X-Ssn%2d219%2d09%2d9999" 1 always;
            add_header "X-Mail-kim%2540example.com" 1 always;
            add_header "X-From-10.1.2.3" 1 always;
            add_header "X-Build%2D20261207" 1 always;
            return 200 "ok\\n";
        }
        location /validated {
            add_header ETag '"5d41402abc4b2a76b9719d911017c592"';
            add_header Content-MD5 "XUFAKrxLKna5cZ2REBfFkg==";
            add_header ETag '"a-second-line"';
            add_header X-Checksum-Sha256 "2cf24dba5fb0a30e26e83b2ac5b9e29e";
            add_header Vary "Accept, X-Owner-henry\@example.com";
            add_header X-Seen "inm=[\$http_if_none_match] im=[\$http_if_match]";
            return 200 "ssn 219-09-9999\n";
        }
        location /big/ {
            root %%DIR%%/www;
            charset windows-1251;
        }
        location /koi/ {
            alias %%DIR%%/www/big/;
            charset koi8-r;
        }
        location /ascii/ {
            alias %%DIR%%/www/big/;
            charset us-ascii;
        }
        location /latin-header {
            add_header X-Card "4111\xa01111\xa01111\xa01111" always;
            return 200 "ok\n";
        }
        location /utf8 {
            return 200 "card 4111\xc2\xa01111\xc2\xa01111\xc2\xa01111 ssn 078\xe2\x80\x9305\xe2\x80\x931120\n";
        }
        location /owner-binary {
            add_header X-Owner "ivan\@example.org" always;
            default_type application/octet-stream;
            return 200 "\x01\x02 bytes";
        }
        location /binary {
            default_type application/octet-stream;
            return 200 "\x01\x02 bytes";
        }
        location /gz/ {
            add_header Content-Encoding gzip;
            default_type application/json;
            alias %%DIR%%/www/;
            try_files \$uri.gz =404;
        }
    }
}
EOF
$t->wait_redis(1);
my $base = 'http://127.0.0.1:' . $t->port('http');
my $http = HTTP::Tiny->new;
my $r;

# text written into the response by nginx's own filters

$r = $http->get("$base/added");
is($r->{headers}{'x-owner'}, '[EMAIL]', 'add_header of a value: masked');
$r = $http->get("$base/copied");
is($r->{headers}{'x-copy'}, '[EMAIL]',
   'add_header copying an upstream\'s header: masked');
{
    # the trailer of a chunked response, read off the wire
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $t->port('http')) or die "connect: $!";
    print $s "GET /trailer HTTP/1.1\r\nHost: x\r\nTE: trailers\r\n"
        . "Connection: close\r\n\r\n";
    my $resp = do { local $/; <$s> };
    my ($trailer) = $resp =~ /\r\n0\r\n(.*)\z/s;
    like($trailer // '', qr/^X-Kept: 1\r\n/m, 'a chunked response\'s trailer');
    like($trailer // '', qr/^X-Owner: \[EMAIL\]\r\n/m,
         'add_trailer of an upstream\'s value: masked');
    unlike($trailer // '', qr/4111/, 'a trailer named after a value: dropped');
}
$r = $http->get("$base/authed");
is($r->{status}, 200, 'auth_request lets the request through');
is($r->{headers}{'x-owner'}, '[EMAIL]',
   'a value auth_request_set took from the auth response: masked');
$r = $http->get("$base/echo.html");
is($r->{content}, "<p>owner: [EMAIL]</p>\n", 'an SSI echo of it: masked');
$r = $http->get("$base/subbed");
is($r->{content}, "holder: [EMAIL]\n", 'sub_filter\'s replacement: masked');

# a masked request going on to a location that does not mask

$r = $http->get("$base/open/ids.txt");
is($r->{content}, "ssn 219-09-9999 mail zed\@example.com\n",
   'the file, asked for where nothing is masked, is as it is');
$r = $http->get("$base/accel");
is($r->{status}, 200, 'X-Accel-Redirect to an internal location');
is($r->{content}, "ssn [US_SSN] mail [EMAIL]\n",
   'that location does not mask, the one asked did: masked');
$r = $http->get("$base/weak-accel");
is($r->{content}, "ssn [US_SSN] mail [EMAIL]\n",
   'to a location masking more than the first: both locations\' detectors');
$r = $http->get("$base/failing");
is($r->{content}, "ssn [US_SSN] mail [EMAIL]\n",
   'error_page to a named location that does not mask: masked');
$r = $http->get("$base/missing/nothing.txt");
is($r->{content}, "ssn [US_SSN] mail [EMAIL]\n",
   'error_page to a URI whose location does not mask: masked');

# names holding a value behind an escape

$r = $http->get("$base/open-names");
is($r->{headers}{'x-card%2d4111111111111111'}, '1',
   'the names, where nothing is masked, pass as they are');
$r = $http->get("$base/names");
for my $name ('X-Card%2D4111111111111111', 'X-Card&#45;4111111111111111',
    'X-Ssn%2d219%2d09%2d9999', 'X-Mail-kim%2540example.com',
    'X-From-10.1.2.3')
{
    ok(!exists $r->{headers}{lc $name}, "a header named $name is dropped");
}
is($r->{headers}{'x-build%2d20261207'}, '1',
   'a name with an escaped number that is no value is kept');

# gunzip decodes before the masker reads

$r = $http->get("$base/gz/data.json");
is($r->{status}, 200, 'a gzip body gunzip decodes: served');
is($r->{content}, "{\"email\":\"[EMAIL]\"}\n", 'and masked');
ok(!exists $r->{headers}{'content-encoding'}, 'as plain text');
$r = $http->get("$base/gz/data.json",
    { headers => { 'Accept-Encoding' => 'gzip' } });
is($r->{status}, 502,
   'a client taking gzip: gunzip leaves it encoded, and it is refused');

# an interim status nginx takes for the final one: the real response would
# be its body
{
    my $srv = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
        LocalPort => $t->port('raw'), ReuseAddr => 1) or die "listen: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $c = $srv->accept;
        sysread($c, my $req, 4096);
        print $c "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n"
            . "\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            . "Connection: close\r\n\r\n{\"ssn\":\"219-09-9999\"}";
        close $c;
        POSIX::_exit(0);
    }
    close $srv;
    $r = $http->get("$base/early");
    waitpid $pid, 0;
    is($r->{status}, 502, '103 Early Hints from the upstream: refused');
    unlike($r->{content}, qr/219-09/, 'nothing of what followed it passes');
}

# a client's Range is not applied here either (the slice module reads it)

$r = $http->get("$base/slices/big/cut.txt",
    { headers => { Range => 'bytes=0-10' } });
is($r->{status}, 200, 'slice with a client Range: the whole body');
is(length $r->{content}, length($cut) - 19 + length('[CREDIT_CARD]'),
   'every slice, in order');
like($r->{content}, qr/x \[CREDIT_CARD\] endy/,
   'a card across two slices is masked whole');

# validators and digests of the unmasked body do not reach the client

$r = $http->get("$base/validated",
    { headers => { 'If-None-Match' => '"5d41402abc4b2a76b9719d911017c592"',
                   'If-Match' => '*' } });
is($r->{status}, 200, 'If-None-Match is not passed upstream: no 304');
is($r->{headers}{'x-seen'}, 'inm=[] im=[]', 'nor If-Match');
ok(!exists $r->{headers}{etag}, 'the upstream\'s ETag is dropped');
ok(!exists $r->{headers}{'content-md5'}, 'so is its Content-MD5');
ok(!exists $r->{headers}{'x-checksum-sha256'},
   'and any field named as a digest');
is($r->{headers}{vary}, 'Accept, [EMAIL]',
   'cache fields are masked like any');
$r = $http->head("$base/validated");
ok(!exists $r->{headers}{'content-length'},
   'a HEAD does not say the unmasked length');

# a single-byte charset, as the client decodes it: recoded from UTF-8 by
# the charset filter, or so from the upstream

for my $path ('/recoded', '/declared/cp1251.txt') {
    $r = $http->get("$base$path");
    like($r->{headers}{'content-type'}, qr/charset=windows-1251/,
         "$path is windows-1251");
    my $text = decode('cp1251', $r->{content});
    $text =~ tr/\x{a0}\x{2013}/ -/;
    is($text, "card [CREDIT_CARD] ssn [US_SSN]\n",
       "$path: a no-break space and en dashes in it do not hide values");
}

# a 304 the upstream answers an If-Modified-Since with: no ETag either

$r = $http->get("$base/declared/cp1251.txt");
my $since = $r->{headers}{'last-modified'};
ok($since, 'a file with its Last-Modified');
$r = $http->get("$base/declared/cp1251.txt",
    { headers => { 'If-Modified-Since' => $since } });
is($r->{status}, 304, 'asked again since then: 304');
ok(!exists $r->{headers}{etag}, 'without the upstream\'s ETag');

# a refusal's page with what add_header ... always copied into it
$r = $http->get("$base/refused-copy");
is($r->{status}, 502, 'a body that is not text: refused');
is($r->{headers}{'x-owner2'}, '[EMAIL]',
   'a header add_header always copies into the refusal: masked');

$r = $http->get("$base/single/koi/koi8.txt");
is($r->{content}, "card [CREDIT_CARD]\n", 'KOI8-R: its no-break space (0x9a)');
$r = $http->get("$base/single/ascii/cp1251.txt");
like($r->{content}, qr/^card \[CREDIT_CARD\] ssn \[US_SSN\]/,
     'US-ASCII, which browsers read as windows-1252');
$r = $http->get("$base/single/latin-header");
is($r->{headers}{'x-card'}, '[CREDIT_CARD]',
   'a header value\'s no-break spaces, as Latin-1 clients read them');

# a trailer after a body passed as it is: masked all the same
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $t->port('http')) or die "connect: $!";
    print $s "GET /binary-trailer HTTP/1.1\r\nHost: x\r\n"
        . "Connection: close\r\n\r\n";
    my $resp = do { local $/; <$s> };
    like($resp, qr/\x01\x02 bytes/, 'a body hoop_mask_unreadable passes');
    like($resp, qr/\r\n0\r\nX-Owner: \[EMAIL\]\r\n/,
         'and its trailer, masked');
}

# the audit event of a redirected request counts what was masked

my $ev;
wait_until(sub {
    ($ev) = grep { ($_->{request}{path} // '') eq '/accel' }
        map { decode_json({ @{ $_->[1] } }->{event}) }
        @{ $redis->command('XRANGE', 'hoop:audit', '-', '+') };
    $ev;
}, 'the event for /accel');
is($ev->{request}{redirected_to}, '/private/ids.txt',
   'the event says what was asked and where nginx sent it');
is($ev->{response}{masked}{email}, 1, 'the event counts the masked email');
is($ev->{response}{masked}{us_ssn}, 1, 'and the SSN');

$t->stop;
done_testing;

# hoop_mask against an agent that asks for the same data in another shape:
# values behind JSON, URL and HTML escapes (decoded here by the decoders a
# client uses: JSON::PP and Python's urllib.parse and html), types the
# masker used to skip, response headers, bodies compressed without saying
# so or in UTF-16, a control byte midway, and a key block past 64 KiB.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use Encode qw(encode);
use HTTP::Tiny;
use IO::Compress::Gzip qw(gzip);
use IO::Socket::INET;
use IPC::Open2;
use POSIX ();
use JSON::PP;
use MIME::Base64 qw(encode_base64 decode_base64);
use Hoop::Test qw(secret spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Redis;

my $redis = Hoop::Test::Redis->new->start;
my $t = Hoop::Test::Nginx->new;
my $d = $t->dir;
mkdir "$d/www";

my @planted = ('ada@example.com', 'bob@example.org', 'carol@example.net',
    'dave@example.com', 'erin@example.com', '078-05-1120',
    '4111 1111 1111 1111', 'frank@example.com', 'grace@example.com');
secret($_, "a sample value sent unmasked") for @planted;

# the same values, escaped as serializers and templates write them
my $escaped = '{"json":"ada\u0040example.com",'
    . '"after_escape":"\nbob@example.org",'
    . '"url":"https://crm.example/?e=carol%40example.net&x=1",'
    . '"twice":"https://crm.example/?e=dave%2540example.com",'
    . '"html":"<a>erin&#64;example.com</a>",'
    . '"ssn":"078\u002d05\u002d1120",'
    . '"card":"4111&#x20;1111&#x20;1111&#x20;1111",'
    . '"named":"frank&commat;example&period;com",'
    . '"zeros":"ada&#0000000064;example.com",'
    . '"thrice":"ada\u00252540example.com",'
    . '"nbsp":"4111&#160;1111&nbsp1111&nbsp;1111",'
    . '"zw":"4111\u200b1111\u200b1111\u200b1111",'
    . '"shy":"ada&shy;@example.com",'
    . "\"zwraw\":\"078\xe2\x80\x8b-05-1120\xef\xbb\xbf\"}";
spit("$d/www/escaped.json", $escaped);

# a card or an SSN as a number a parser reads (JSON numbers as Python and
# Java write floats), or re-separated as agents and form encoders do
spit("$d/www/numbers.json", '{"a":4.111111111111111e15,'
    . '"b":4111111111111111.0,"c":41111111111111110e-1,'
    . '"d":-4111111111111111,"e":4111111111111111E0,'
    . '"f":0.4111111111111111e16,"g":"4111+1111+1111+1111",'
    . '"h":"078 05 1120","i":"4111  1111  1111  1111",'
    . '"j":"4111.1111.1111.1111","k":"078.05.1120",'
    . '"l":"4111/1111/1111/1111","m":"q=078+05+1120",'
    . '"price":19.99,"ratio":1.5e3,"id":1234567890123,'
    . '"when":"2024.01.15 12:30","v":"v1.22.3"}');

for my $type (qw(vnd stream js bin)) {
    spit("$d/www/data.$type", "id=7 grace\@example.com\n");
}
spit("$d/www/untyped", "id=7 grace\@example.com\n");

gzip(\"{\"email\":\"ada\@example.com\"}" => \my $gz);
spit("$d/www/stealth.json", $gz);
spit("$d/www/utf16.txt",
    "\xff\xfe" . encode('UTF-16LE', "mail bob\@example.org\n"));
spit("$d/www/latin.txt", "caf\xe9 carol\@example.net\n");
spit("$d/www/midway.txt", ('x' x 100_000) . "\n\0\n dave\@example.com\n");
mkdir "$d/www/open";
spit("$d/www/open/note.txt", "mail zed\@example.com\n");
spit("$d/www/open/ids.bin", "ssn 219-09-9999 mail zed\@example.com\n");
spit("$d/www/weak.html",
    "<p><!--# include virtual=\"/weak/ids.bin\" --></p>\n");
spit("$d/www/typed.html",
    "<p><!--# include virtual=\"/open/ids.bin\" --></p>\n");
spit("$d/www/page.html",
    "<p>included: <!--# include virtual=\"/open/note.txt\" --></p>\n");
spit("$d/www/early.txt", "plain text, then \x01 dave\@example.com\n");
spit("$d/www/keyless.json",
    '{"k":"-----BEGIN RSA PRIVATE KEY-----","b":"carol@example.net"}');

my $key = "-----BEGIN RSA PRIVATE KEY-----\n"
    . ("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7abcdefghij\n"
        x 1600)
    . "-----END RSA PRIVATE KEY-----\n";
spit("$d/www/key.pem", "before\n$key" . "after 10.1.2.3\n");

# a Kubernetes Secret and a kubeconfig: keys in base64, a certificate too
my $cert = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n"
    . "-----END CERTIFICATE-----\n";
spit("$d/www/secret.json", encode_json({ kind => 'Secret', data => {
    'tls.key' => encode_base64($key, ''),
    'tls.crt' => encode_base64($cert, '') } }));
spit("$d/www/kubeconfig.txt", "users:\n- name: admin\n  user:\n"
    . "    client-key-data: " . encode_base64($key, '') . "\n"
    . "    token: abc\n");
spit("$d/www/wrapped.txt", encode_base64("junk\n$key") . "done\n");

$t->run(<<"EOF");
http {
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_audit_stream hoop:audit;
    types {
        application/json json;
        application/vnd.api+json vnd;
        text/event-stream stream;
        text/javascript js;
        application/octet-stream bin;
        text/plain txt pem;
    }

    server {
        listen 127.0.0.1:%%PORT_http%%;
        hoop_audit on;
        hoop_mask detect=all;

        location /api/ {
            proxy_pass http://127.0.0.1:%%PORT_backend%%/;
        }
        location /partial/ {
            hoop_mask detect=email,us_ssn,credit_card strategy=partial;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/;
        }
        location /untyped {
            proxy_hide_header Content-Type;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/untyped;
        }
        location /pages/ {
            error_page 502 = \@fallback;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/;
        }
        location \@fallback {
            return 503 "fallback\n";
        }
        location /lenient/ {
            hoop_mask_unreadable pass;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/;
        }
        location /raw-status {
            proxy_pass http://127.0.0.1:%%PORT_raw%%;
        }
        location /exempt/ {
            hoop_mask_header_exempt x-trace-owner;
            proxy_pass http://127.0.0.1:%%PORT_backend%%/;
        }
        location = /page.html {
            ssi on;
            ssi_types *;
            root %%DIR%%/www;
        }
        location /open/ {
            hoop_mask off;
            root %%DIR%%/www;
        }
        location ~ ^/(weak|typed)\.html\$ {
            ssi on;
            ssi_types *;
            hoop_mask_types text/html text/plain;
            root %%DIR%%/www;
        }
        location /weak/ {
            hoop_mask detect=email;
            alias %%DIR%%/www/open/;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_backend%%;
        root %%DIR%%/www;
        sendfile off;

        location /headers {
            default_type text/plain;
            add_header X-Customer-Email "henry\@example.com" always;
            add_header X-Trace-Owner "ivan\@example.org" always;
            add_header Content-Disposition
                "attachment; filename=judy%40example.net" always;
            add_header Link "</users/kim&#64;example.com>; rel=owner" always;
            add_header X-Owner-219-09-9999 "1" always;
            add_header X-Card-4111111111111111 "1" always;
            add_header X_Card_4111-1111-1111-1111 "1" always;
            add_header X-Build-20261207 "1" always;
            add_header X.Card.4111.1111.1111.1111 "1" always;
            add_header X.Ssn.219-09-9999 "1" always;
            add_header X.Mail.zed\@example.com "1" always;
            return 200 "no values here\\n";
        }
        location /ctype {
            default_type "text/plain; owner=lena%40example.com";
            return 200 "no values here\\n";
        }
        location /echo {
            default_type text/plain;
            return 200 "charset=[\$http_accept_charset] te=[\$http_te]\\n";
        }
        location /encoded-twice {
            default_type text/plain;
            add_header Content-Encoding gzip;
            add_header Content-Encoding identity;
            return 200 "not really gzip: dave\@example.com\n";
        }
        location /utf16-declared {
            default_type "text/plain; charset=utf-16";
            return 200 "mail erin\@example.com\\n";
        }
        location = /latin.txt {
            charset iso-8859-1;
        }
    }
}
EOF
$t->wait_redis(1);
my $base = 'http://127.0.0.1:' . $t->port('http');
my $http = HTTP::Tiny->new;

# the decoders a client uses: JSON, then the URL and HTML decoders of
# Python's standard library, over every string of the document
sub client_decoded {
    my ($text) = @_;
    my $pid = open2(my $out, my $in, 'python3', '-c', <<'PY');
import html, json, sys, urllib.parse
doc = json.load(sys.stdin)
unseen = dict.fromkeys([0xad, 0x200b, 0x200c, 0x200d, 0x2060, 0xfeff])
for v in doc.values():
    v = html.unescape(urllib.parse.unquote(urllib.parse.unquote(v)))
    print(v.translate(unseen))
PY
    print $in $text;
    close $in;
    local $/;
    my $decoded = <$out>;
    waitpid $pid, 0;
    return ($? == 0, $decoded);
}

# what a parser makes of every number, and a reader of every string with
# its separators taken out: exact decimal values, URL-decoded
{
    my $r = $http->get("$base/api/numbers.json");
    is($r->{status}, 200, 'numbers and re-separated values: 200');
    my $pid = open2(my $out, my $in, 'python3', '-c', <<'PY');
import decimal, re, sys, urllib.parse
text = sys.stdin.read()
for tok in re.findall(r'(?<![\w."])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?', text):
    d = decimal.Decimal(tok)
    if d == d.to_integral_value():
        print(abs(int(d)))
for s in re.findall(r'"([^"]*)"', text):
    print(re.sub(r'[ ./_+-]', '', urllib.parse.unquote_plus(s)))
PY
    print $in $r->{content};
    close $in;
    my @read = map { chomp; $_ } <$out>;
    waitpid $pid, 0;
    is(scalar(grep { /4111111111111111/ } @read), 0,
        'no number or string reads as the card') or diag $r->{content};
    is(scalar(grep { /078051120/ } @read), 0,
        'no string reads as the SSN') or diag $r->{content};
    like($r->{content}, qr/"price":19\.99,"ratio":1\.5e3,"id":1234567890123,"when":"2024\.01\.15 12:30","v":"v1\.22\.3"/,
        'other numbers, dates and versions as they were');
}

my $r = $http->get("$base/api/escaped.json");
is($r->{status}, 200, 'escaped values: 200');
my ($valid, $decoded) = client_decoded($r->{content});
ok($valid, 'the masked document is still JSON');
for my $v (@planted[0 .. 7]) {
    unlike($decoded, qr/\Q$v\E/, "$v: not there, however decoded");
}
unlike($decoded, qr/4111111111111111|078-05-1120/,
    'values split by zero-width characters: not there as a reader sees them');
my $doc = decode_json($r->{content});
is_deeply([ @{$doc}{qw(zeros thrice nbsp zw shy zwraw)} ],
    [ '[EMAIL]', '[EMAIL]', '[CREDIT_CARD]', '[CREDIT_CARD]', '[EMAIL]',
      "[US_SSN]" ],
    'leading zeros, three layers, no-break spaces, zero-width characters:'
    . ' masked');
is($doc->{after_escape}, "\n[EMAIL]",
    'a value after an escape: the escape kept');
is($doc->{url}, 'https://crm.example/?e=[EMAIL]&x=1', 'in a URL');
is($doc->{html}, '<a>[EMAIL]</a>', 'in HTML');

$r = $http->get("$base/partial/escaped.json");
($valid, $decoded) = client_decoded($r->{content});
ok($valid, 'partial masks keep the document JSON');
$doc = decode_json($r->{content});
is($doc->{json}, 'a***@example.com', 'a partial mask of an escaped email');
is($doc->{ssn}, '***-**-1120', 'and of an escaped SSN');

# types that used to pass, and no type at all

for my $type (qw(vnd stream js bin)) {
    $r = $http->get("$base/api/data.$type");
    is($r->{content}, "id=7 [EMAIL]\n", "a .$type response is masked");
}
$r = $http->get("$base/untyped");
ok(!defined $r->{headers}{'content-type'}, 'a response with no type');
is($r->{content}, "id=7 [EMAIL]\n", 'is masked');

# response headers (their values are not secret() here: at debug level,
# which the suite runs, nginx logs the upstream's headers as they came)

$r = $http->get("$base/api/headers");
is($r->{headers}{'x-customer-email'}, '[EMAIL]', 'a custom header masked');
is($r->{headers}{'content-disposition'}, 'attachment; filename=[EMAIL]',
    'a file name, URL-escaped');
is($r->{headers}{link}, '</users/[EMAIL]>; rel=owner',
    'a link, HTML-escaped');
ok(defined $r->{headers}{date}, 'Date passes');
ok(!grep({ /219-09-9999/ } keys %{ $r->{headers} }),
    'a header named after a value: dropped');
ok(!grep({ /4111/ } keys %{ $r->{headers} }),
    'so is one with a card glued to the words of its name');
ok(!grep({ /219-09-9999|zed\@/ } keys %{ $r->{headers} }),
    'or an SSN or an email, whatever separates the words');
ok(defined $r->{headers}{'x-build-20261207'},
   'a name with a number that is no value passes');
$r = $http->get("$base/api/ctype");
is($r->{headers}{'content-type'}, 'text/plain; owner=[EMAIL]',
    'a value in Content-Type\'s parameters: masked');
$r = $http->get("$base/exempt/headers");
is($r->{headers}{'x-trace-owner'}, 'ivan@example.org',
    'hoop_mask_header_exempt lets a field through');
is($r->{headers}{'x-customer-email'}, '[EMAIL]', 'and only that field');

# an SSI include of an unmasked location, into a masked page

$r = $http->get("$base/page.html");
like($r->{content}, qr/^<p>included: mail \[EMAIL\]\n<\/p>/,
     'what a masked page includes is masked, whatever its location says');
$r = $http->get("$base/weak.html");
is($r->{content}, "<p>ssn [US_SSN] mail [EMAIL]\n</p>\n",
   'an include from a location with fewer detectors: the page\'s apply');
$r = $http->get("$base/typed.html");
is($r->{content}, "<p>ssn [US_SSN] mail [EMAIL]\n</p>\n",
   'an include of a type the page would not scan: scanned, as the page');
$r = $http->get("$base/open/note.txt");
is($r->{content}, "mail zed\@example.com\n",
   'while that location itself is not masked');

# what the masker cannot read

$r = $http->get("$base/api/stealth.json");
is($r->{status}, 502, 'gzip without Content-Encoding: refused');
unlike($r->{content}, qr/\x1f\x8b/, 'none of it passes');
like($t->error_log,
    qr/response body is not text the detectors can read \(a control byte\); refused/,
    'the error log says why');
$r = $http->get("$base/pages/stealth.json");
is($r->{status}, 502, 'refused where error_page names a location: a 502');
like($r->{content}, qr/502 Bad Gateway/, 'nginx\'s own page, not nothing');
$r = $http->get("$base/api/utf16.txt");
is($r->{status}, 502, 'UTF-16: refused');
like($t->error_log, qr/not text the detectors can read \(UTF-16\)/,
    'named in the log');
$r = $http->get("$base/api/utf16-declared");
is($r->{status}, 502, 'a declared UTF-16 charset: refused');
like($t->error_log,
    qr/in charset "utf-16", which the detectors cannot read; refused/,
    'named in the log');
$r = $http->get("$base/api/latin.txt");
like($r->{headers}{'content-type'}, qr/charset=iso-8859-1/,
    'an ISO-8859-1 response');
is($r->{content}, "caf\xe9 [EMAIL]\n", 'is read and masked');

$r = $http->get("$base/api/early.txt");
is($r->{status}, 502, 'a control byte in the first buffer: refused, not cut');
$r = $http->get("$base/api/encoded-twice");
is($r->{status}, 502,
    'gzip in one Content-Encoding line, identity in the next: refused');

$r = $http->get("$base/lenient/stealth.json");
is($r->{status}, 200, 'hoop_mask_unreadable pass: passed');
is($r->{content}, $gz, 'as it was');
is($r->{headers}{'content-length'}, length $gz, 'with its length');

$r = $http->get("$base/api/midway.txt");
ok(length($r->{content}) < 100_000,
    'a control byte midway cuts the response off');
unlike($r->{content}, qr/dave\@/, 'nothing after it passes');
like($t->error_log, qr/turned into bytes that are not text; cut off/,
    'the error log says so');

$r = $http->get("$base/api/echo", { headers => {
    'Accept-Charset' => 'utf-16', TE => 'gzip' } });
is($r->{content}, "charset=[] te=[]\n",
    'Accept-Charset and TE are not passed upstream');

# a key block far longer than 64 KiB: masked to its END line

$r = $http->get("$base/api/key.pem");
is($r->{content}, "before\n[PRIVATE_KEY]\nafter [IPV4]\n",
    'a 100 KiB key block is one replacement');

# keys in base64, as Kubernetes and kubectl carry them

$r = $http->get("$base/api/secret.json");
my $secret = decode_json($r->{content});
is($secret->{data}{'tls.key'}, '[PRIVATE_KEY]',
   'a Secret\'s key in base64: masked whole');
is(decode_base64($secret->{data}{'tls.crt'}), $cert,
   'its certificate is not a key: as it was');
$r = $http->get("$base/api/kubeconfig.txt");
is($r->{content}, "users:\n- name: admin\n  user:\n"
    . "    client-key-data: [PRIVATE_KEY]\n    token: abc\n",
   'a kubeconfig\'s client-key-data: masked');
$r = $http->get("$base/api/wrapped.txt");
unlike(decode_base64($r->{content} =~ s/\[PRIVATE_KEY\]//r),
       qr/PRIVATE KEY|MIIEvQ/,
       'base64 wrapped at 76 columns, the key not at its start: none of it'
       . ' decodes to the key');

# a key block with no END line ends with its JSON string
$r = $http->get("$base/api/keyless.json");
is($r->{content}, '{"k":"[PRIVATE_KEY]","b":"[EMAIL]"}',
    'a BEGIN line alone: masked to the end of its string, the JSON intact');

# the upstream's reason phrase is its text too
{
    my $srv = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
        LocalPort => $t->port('raw'), ReuseAddr => 1) or die "listen: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $c = $srv->accept;
        sysread($c, my $req, 4096);
        print $c "HTTP/1.1 200 for henry\@example.com\r\n"
            . "Content-Type: text/plain\r\nContent-Length: 3\r\n"
            . "Connection: close\r\n\r\nok\n";
        close $c;
        POSIX::_exit(0);        # no END blocks: they belong to the parent
    }
    close $srv;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $t->port('http')) or die "connect: $!";
    print $s "GET /raw-status HTTP/1.0\r\n\r\n";
    my $resp = do { local $/; <$s> };
    waitpid $pid, 0;
    like($resp, qr{^HTTP/1\.1 200 for \[EMAIL\]\r\n},
        'a reason phrase is masked');
}

# the audit event says what was not masked and what became of it

sub event_for {
    my ($path) = @_;
    my $ev;
    wait_until(sub {
        ($ev) = grep { ($_->{request}{path} // '') eq $path }
            map { decode_json({ @{ $_->[1] } }->{event}) }
            @{ $redis->command('XRANGE', 'hoop:audit', '-', '+') };
        $ev;
    }, "the event for $path");
    return $ev;
}

is_deeply(event_for('/api/stealth.json')->{response}{unmasked},
    { reason => 'not_text', action => 'refused' }, 'refused: recorded');
is_deeply(event_for('/lenient/stealth.json')->{response}{unmasked},
    { reason => 'not_text', action => 'passed' }, 'passed: recorded');
is_deeply(event_for('/api/midway.txt')->{response}{unmasked},
    { reason => 'not_text', action => 'cut' }, 'cut off: recorded');
my $hev = event_for('/api/headers');
is($hev->{response}{masked}{email}, 5,
   'header values count as masked (a name\'s too)');
ok(!exists $hev->{response}{unmasked}, 'a masked response has no unmasked');

$t->stop;
done_testing;

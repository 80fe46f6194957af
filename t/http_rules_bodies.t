# hoop_rule on what a request body asks for: json=field:glob for
# RPC-style APIs whose operation is in the body, and arg= read from form
# and JSON bodies too (Rails, Laravel and Spring merge them into the
# request's parameters).  The agent rephrases a denied call: another
# case, escapes, a batch, an array, a member twice, a trailing comma,
# another Content-Type, chunked, a body past hoop_rule_body_max, one
# spilled to a temporary file, HTTP/2.  The upstream records every
# request and the body it received: a denied call never reaches it, an
# allowed one arrives whole.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use IO::Compress::Gzip qw(gzip);
use Encode qw(encode);
use JSON::PP;
use Hoop::Test::Nginx;
use Hoop::Test::Redis;
use Hoop::Test::Upstream;

my $redis = Hoop::Test::Redis->new->start;
my $t = Hoop::Test::Nginx->new(workers => 1);
my $d = $t->dir;

my $rpc = <<'RULES';
            hoop_rule deny  name=no-drop "reason=no dropping"
                json=method:drop*;
            hoop_rule allow name=reads json=method:get*,list*;
            hoop_default deny;
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
RULES

$t->run(<<"EOF");
http {
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_audit_stream hoop:audit;

    server {
        listen 127.0.0.1:%%PORT_http%%;
        listen 127.0.0.1:%%PORT_h2%% http2;
        hoop_audit on;
        hoop_rule_body_max 2k;

        location /rpc/ {
$rpc
        }
        location /spill/ {
            client_body_buffer_size 128;
            hoop_rule_body_max 64k;
$rpc
        }
        location /m/ {
            hoop_rule deny  name=no-deletes method=DELETE;
            hoop_rule deny  name=no-drop arg=action:drop*;
            hoop_rule allow name=rest method=GET,POST;
            hoop_default deny;
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
        }
        location /forms/ {
            hoop_rule deny  name=no-drop arg=action:drop*;
            hoop_rule allow name=rest method=GET,POST;
            hoop_default deny;
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
        }
    }

    # the upstream: what it received, body and all
    log_format received escape=none '\$request_method \$request_uri \$request_body';
    server {
        listen 127.0.0.1:%%PORT_backend%%;
        access_log %%DIR%%/received.log received;
        client_body_buffer_size 128k;
        location / {
            proxy_pass http://127.0.0.1:%%PORT_sink%%;
        }
    }
    server {
        listen 127.0.0.1:%%PORT_sink%%;
        return 200 "ok\\n";
    }
}
EOF
$t->wait_redis(1);
my $base = 'http://127.0.0.1:' . $t->port('http');
my $http = HTTP::Tiny->new;
my $up = Hoop::Test::Upstream->new("$d/received.log");

sub post {
    my ($path, $body, $type) = @_;
    my $mark = $up->mark;
    my $r = $http->request('POST', "$base$path?$mark=1", {
        headers => { 'Content-Type' => $type // 'application/json' },
        content => $body });
    return ($r, $mark);
}

sub received { $up->line($_[0]) }
sub arrived { $up->arrived($_[0]) }

# whether it reached the upstream: allowed, it must have; denied, it
# never left the gateway, so it is not there now
sub reached_if {
    my ($mark, $allowed) = @_;
    return $allowed ? ($up->arrived($mark) ? 1 : 0)
                    : ($up->reached($mark) ? 1 : 0);
}

for my $case (
    [ '{"jsonrpc":"2.0","method":"get_user","id":1}', 200, 'an allowed call' ],
    [ '{"method":"list_users"}', 200, 'another allowed call' ],
    [ '{"method":"drop_table"}', 403, 'a denied call' ],
    [ '{"method":"DROP_TABLE"}', 403, 'in capitals' ],
    [ '{"Method":"drop_table","method":"get_user"}', 403,
      'a member in another case beside an allowed one' ],
    [ '[{"method":"get_user"},{"method":"drop_table"}]', 403,
      'a batch with one denied call' ],
    [ '{"method":"dr\u006fp_table"}', 403, 'an escaped letter' ],
    [ '{"method":["drop_table"]}', 403, 'an array of one' ],
    [ '{"method":"get_user","method":"drop_table"}', 403,
      'a member twice (parsers keep either)' ],
    [ '{"method":"get_user",}', 403,
      'a trailing comma only a lenient parser reads' ],
    [ '{"method":{"name":"drop_table"}}', 403, 'an object' ],
    [ "\xef\xbb\xbf {\"method\":\"get_user\"}", 200, 'a byte order mark' ],
    [ '{"method":"get_user","id":18446744073709551616,"n":"a\u0000b"}', 200,
      'an integer past 64 bits and an escaped NUL: strict JSON all the same' ],
    [ '{"method":"get_user","pad":"' . ('x' x 3000) . '"}', 403,
      'a body past hoop_rule_body_max' ],
) {
    my ($body, $want, $name) = @{$case};
    my ($r, $mark) = post('/rpc/call', $body);
    is($r->{status}, $want, "json: $name: $want");
    if ($want == 403) {
        ok(!received($mark), '  never reaching the upstream');
    } else {
        like(arrived($mark), qr/\Q$mark\E=1 .*(?:get_user|list_users)/,
            '  reaching the upstream, the body with it');
    }
}

my ($r, $mark) = post('/rpc/call', '{"method":"drop_table"}', 'text/plain');
is($r->{status}, 403, 'json: another Content-Type, read all the same');
is_deeply(decode_json($r->{content}),
    { error => 'denied', rule => 'no-drop', reason => 'no dropping' },
    '  the rule and its reason in the 403');
$r = $http->request('GET', "$base/rpc/call");
is($r->{status}, 403, 'json: no body, no method: no rule allows it');

# chunked: the length is known only once read
for my $case ([ 'get_user', 200 ], [ 'drop_table', 403 ]) {
    my ($method, $want) = @{$case};
    my @parts = ('{"meth', qq{od":"$method"}, '}');
    $mark = $up->mark;
    $r = $http->request('POST', "$base/rpc/call?$mark=1", {
        headers => { 'Content-Type' => 'application/json' },
        content => sub { shift @parts } });
    is($r->{status}, $want, "json: chunked, $method: $want");
    is(reached_if($mark, $want == 200), $want == 200 ? 1 : 0,
        '  reaching the upstream only if allowed');
}

# a body nginx keeps in a temporary file is read from it
for my $case ([ 'get_user', 200 ], [ 'drop_table', 403 ]) {
    my ($method, $want) = @{$case};
    my $body = '{"pad":"' . ('y' x 5000) . qq[","method":"$method"}];
    ($r, $mark) = post('/spill/call', $body);
    is($r->{status}, $want, "json: a body in a temporary file, $method");
    if ($want == 200) {
        like(arrived($mark), qr/\Q$mark\E=1 \Q$body\E$/,
            '  the upstream got the whole body');
    }
}

# arg= reads forms and JSON bodies, as frameworks merge them
for my $case (
    [ 'name=x&action=drop', 'application/x-www-form-urlencoded', 403,
      'a form field' ],
    [ 'Action=DROP', 'application/x-www-form-urlencoded', 403,
      'a form field in capitals' ],
    [ 'action%5B%5D=drop', 'application/x-www-form-urlencoded', 403,
      'a form array (action[])' ],
    [ '{"action":"drop"}', 'application/json', 403, 'a JSON member' ],
    [ '{"action":"drop"}', 'text/plain', 200,
      'JSON as text/plain: no framework binds it' ],
    [ 'action=read', 'application/x-www-form-urlencoded', 200,
      'another value' ],
    [ "--b\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\n"
      . "read\r\n--b--\r\n", 'multipart/form-data; boundary=b', 200,
      'a multipart field with another value' ],
    [ "preamble\r\n--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n"
      . "1\r\n--b\r\ncontent-disposition: form-data; name=Action\r\n"
      . "Content-Type: text/plain\r\n\r\ndrop\r\n--b--\r\n",
      'multipart/form-data; boundary="b"', 403,
      'a multipart field among others, named in another case' ],
    [ "--b\r\nContent-Disposition: form-data; name=\"action\"\r\n"
      . "Content-Transfer-Encoding: base64\r\n\r\nZHJvcA==\r\n--b--\r\n",
      'multipart/form-data; boundary=b', 403,
      'a multipart field in base64: unreadable' ],
    [ "--b\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\n"
      . "drop\r\n--b", 'multipart/form-data; boundary=b', 403,
      'a multipart body without its close delimiter: unreadable' ],
    [ "--b\r\nContent-Disposition: form-data; name=\"upload\"; "
      . "filename=\"action\"\r\n\r\ndrop\r\n--b--\r\n",
      'multipart/form-data; boundary=b', 200, 'a file is not an argument' ],
) {
    my ($body, $type, $want, $name) = @{$case};
    ($r, $mark) = post('/forms/x', $body, $type);
    is($r->{status}, $want, "arg: $name: $want");
    if ($want == 403) {
        ok(!received($mark), '  never reaching the upstream');
    } else {
        # the log holds the body's lines on lines of their own
        my ($first) = split /\r?\n/, $body;
        like(arrived($mark), qr/\Q$mark\E=1 \Q$first\E\r?$/,
            '  reaching the upstream with its body');
    }
}
$r = $http->request('GET', "$base/forms/x?Action=Drop");
is($r->{status}, 403, 'arg: a query argument in another case');

# by hand: every header line exactly as written
sub raw_post {
    my ($path, $headers, $body) = @_;
    my $mark = $up->mark;
    my $sep = $path =~ /\?/ ? '&' : '?';
    my $status = Hoop::Test::Upstream->raw($t->port('http'),
        "POST $path$sep$mark=1 HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n"
        . join('', map { "$_\r\n" } @{$headers})
        . 'Content-Length: ' . length($body) . "\r\n\r\n" . $body);
    return ($status, $mark);
}

# a body read otherwise than its Content-Type says, or not as it was sent
my $gz;
gzip(\'_method=DELETE' => \$gz);
for my $case (
    [ [], '_method=DELETE', 'no Content-Type: a form to Rack' ],
    [ ['Content-Type:'], 'action=drop', 'an empty Content-Type' ],
    [ ['Content-Type: application/x-www-form-urlencoded, text/plain'],
      'action=drop', 'a type list, cut at the comma by PHP' ],
    [ ['Content-Type: application/x-www-form-urlencoded charset=utf-8'],
      '_method=DELETE', 'a type cut at the space by PHP' ],
    [ ['Content-Type: multipart/form-data,boundary=XX'],
      "--XX\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\n"
      . "drop\r\n--XX--\r\n", 'multipart cut at a comma' ],
    [ ['Content-Type: multipart/mixed; boundary=XX'],
      "--XX\r\nContent-Disposition: form-data; name=\"action\"\r\n\r\n"
      . "drop\r\n--XX--\r\n", 'another multipart (Rack reads it)' ],
    [ ['Content-Type: text/plain',
       'Content-Type: application/x-www-form-urlencoded'],
      'action=drop', 'two Content-Type lines (Werkzeug takes the last)' ],
    [ ['Content-Type: text/x-json'], '{"action":"drop"}',
      q{Rails' text/x-json} ],
    [ ['Content-Type: application/json'], '/**/{"action":"drop"}',
      'JSON after a comment (Ruby reads it)' ],
    [ ['Content-Type: application/x-www-form-urlencoded',
       'Content-Encoding: gzip'], $gz, 'a gzip form (body-parser inflates)' ],
    [ ['Content-Type: application/x-www-form-urlencoded; charset=utf-7'],
      'action=+AGQ-rop', 'a UTF-7 form' ],
    [ ["Content-Type: application/x-www-form-urlencoded\x0b"],
      'action=drop', 'a vertical tab after the type (Python strips it)' ],
    [ ["Content-Type: application/x-www-form-urlencoded\x0b;charset=utf-8"],
      '_method=DELETE', 'a vertical tab before the parameters' ],
    [ ['Content-Type: application/json; charset =utf-7'],
      '{"action":"drop"}', 'a charset with a space before its "="' ],
    [ ['Content-Type: application/json; charset=utf-8; charset=utf-7'],
      '{"action":"drop"}', 'a second charset' ],
    [ ['Content-Type: text/plain; x=/json'], '{"_method":"DELETE"}',
      q{"/json" in a parameter (Laravel's isJson())} ],
) {
    my ($headers, $body, $name) = @{$case};
    my ($status, $mark) = raw_post('/m/x', $headers, $body);
    is($status, 403, "body: $name: denied");
    ok(!received($mark), '  never reaching the upstream');
}

# argument names as frameworks key them
for my $case (
    [ 'action%00=drop', 'a NUL after the name (PHP cuts there)' ],
    [ '_method%00=DELETE', 'an override name with a NUL' ],
    [ '%5Baction%5D=drop', '[action] (qs, Rack)' ],
    [ '%5B%5Baction%5D%5D=drop', '[[action]] (Rack)' ],
    [ 'action%5D=drop', 'action] (Rack)' ],
    [ 'cmd.action=drop', 'cmd.action (ASP.NET Core prefix binding)' ],
    [ 'action=%u0064rop', '%u escapes (ASP.NET Framework)' ],
    [ '!action=drop', q{Spring's "!" default marker} ],
    [ '%5Baction%5Dx=drop', '[action]x (qs)' ],
    [ 'action%00;=drop', q{a NUL and a ';' PHP does not split at} ],
    [ 'cmd%5Baction%5D=drop', 'cmd[action] (ASP.NET Core)' ],
    [ 'X-HTTP-Method-Override=DELETE', 'an override header as an argument' ],
) {
    my ($query, $name) = @{$case};
    my ($status, $mark) = raw_post("/m/x?$query",
        ['Content-Type: text/plain'], 'x');
    is($status, 403, "arg name: $name: denied");
    ok(!received($mark), '  never reaching the upstream');
}

# cookies are arguments to PHP's $_REQUEST
{
    my ($status, $mark) = raw_post('/m/x',
        ['Content-Type: text/plain', 'Cookie: session=1; action=drop'], 'x');
    is($status, 403, 'arg: a cookie: denied');
    ok(!received($mark), '  never reaching the upstream');
    ($status, $mark) = raw_post('/m/x',
        ['Content-Type: text/plain', 'Cookie: session=1'], 'x');
    is($status, 200, '  another cookie: allowed');
}

# overrides that ask for nothing are nothing
for my $case ([ ['X-HTTP-Method-Override:'], '' ],
              [ ['X-HTTP-Method-Override: GET,'], '' ],
              [ [], '?_method=' ]) {
    my ($headers, $query) = @{$case};
    my ($status, $mark) = raw_post("/m/x$query",
        [ @{$headers}, 'Content-Type: text/plain' ], 'x');
    is($status, 200, 'an empty override (' . (join(' ', @{$headers})
        || $query) . '): a POST');
}

# JSON-RPC and GraphQL shapes
for my $case (
    [ ['Content-Type: application/json; charset=utf-7'],
      '{"method":"get_user","+AG0AZQB0AGgAbwBk-":"drop_table"}',
      'UTF-7 JSON: unreadable' ],
    [ ['Content-Type: application/json'],
      encode('UTF-16LE', "\x{feff}" . '{"method":"drop_table"}'),
      'UTF-16 JSON with a byte order mark' ],
    [ ['Content-Type: application/json'],
      encode('UTF-16BE', '{"method":"drop_table"}'),
      'UTF-16 JSON without one' ],
    [ ['Content-Type: application/json'], '[[{"method":"get_user"}]]',
      'a batch in a batch' ],
    [ ['Content-Type: application/json'],
      encode('UTF-16BE', '  {"method":"drop_table"}'),
      'UTF-16 JSON after spaces' ],
) {
    my ($headers, $body, $name) = @{$case};
    my ($status, $mark) = raw_post('/rpc/call', $headers, $body);
    is($status, 403, "json: $name: denied");
    ok(!received($mark), '  never reaching the upstream');
}
{
    my ($status, $mark) = raw_post('/rpc/call?method=drop_table',
        ['Content-Type: application/json'], '{"method":"get_user"}');
    is($status, 403,
        'json: the member in the query too (express-graphql reads both)');
    ok(!received($mark), '  never reaching the upstream');
}

# HTTP/2
SKIP: {
    my $curl = `curl --version 2>/dev/null`;
    skip 'curl without HTTP/2', 4 unless $curl =~ /\bHTTP2\b/;
    my $h2 = 'http://127.0.0.1:' . $t->port('h2');
    for my $case ([ 'drop_table', 403 ], [ 'get_user', 200 ]) {
        my ($method, $want) = @{$case};
        $mark = $up->mark;
        my $out = `curl -s -o /dev/null --http2-prior-knowledge -H 'Content-Type: application/json' --data-binary '{"method":"$method"}' -w '%{http_version} %{http_code}' '$h2/rpc/call?$mark=1'`;
        is($out, "2 $want", "HTTP/2 json $method: $want");
        is(reached_if($mark, $want == 200), $want == 200 ? 1 : 0,
            '  reaching the upstream only if allowed');
    }
}

$t->stop;
done_testing;

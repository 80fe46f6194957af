# hoop_rule against an agent that rephrases a denied request: a method
# override in each of its forms (three headers, a _method argument, in
# any case, percent-encoded, repeated), HEAD for a denied GET, a path in
# another case where the upstream matches paths either way.  The upstream
# records every request it receives: a denied operation never reaches it.
# Query arguments and header values are matched as the upstream reads
# them (decoded, every occurrence).
# The 403 names the rule that denied and why, and the audit event records
# the method the rules decided on.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use Hoop::Test qw(wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Redis;
use Hoop::Test::Upstream;

my $redis = Hoop::Test::Redis->new->start;
my $t = Hoop::Test::Nginx->new(workers => 1);
my $d = $t->dir;

my $rules = <<'RULES';
            hoop_rule deny  name=no-deletes method=DELETE;
            hoop_rule deny  name=admin path=/*/admin*;
            hoop_rule deny  name=no-secret-reads method=GET path=/*/secret;
            hoop_rule allow name=rest method=GET,HEAD,POST,PUT;
            hoop_default deny;
RULES

$t->run(<<"EOF");
http {
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_audit_stream hoop:audit;

    server {
        listen 127.0.0.1:%%PORT_http%%;
        hoop_audit on;

        location /api/ {
$rules
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
        }
        location /iis/ {
            hoop_rule_path_case insensitive;
$rules
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
        }
        location /rpc/ {
            hoop_rule deny  name=no-drop arg=action:drop*;
            hoop_rule deny  name=no-prod header=X-Env:prod*;
            hoop_rule allow name=reads method=GET arg=action:read;
            hoop_default deny;
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
        }
        location /legacy/ {
            hoop_rule_method_override off;
$rules
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
my $base = 'http://127.0.0.1:' . $t->port('http');
my $http = HTTP::Tiny->new;
my $up = Hoop::Test::Upstream->new("$d/received.log");

# each request carries a marker, so what reached the upstream is told apart
sub send_req {
    my ($method, $path, $headers) = @_;
    my $mark = $up->mark;
    my $sep = $path =~ /\?/ ? '&' : '?';
    my $r = $http->request($method, "$base$path$sep$mark=1",
        { headers => $headers // {} });
    return ($r, $mark);
}

sub reached { $up->reached($_[0]) }
sub arrived { $up->arrived($_[0]) }

for my $case (
    [ 'X-HTTP-Method-Override: DELETE', { 'X-HTTP-Method-Override' => 'DELETE' }, '' ],
    [ 'X-HTTP-Method: delete', { 'X-HTTP-Method' => 'delete' }, '' ],
    [ 'X-Method-Override: Delete', { 'X-Method-Override' => 'Delete' }, '' ],
    [ '_method=DELETE', {}, '?_method=DELETE' ],
    [ '_method=%44elete', {}, '?_method=%44elete' ],
    [ 'a second _method', {}, '?_method=GET&_method=DELETE' ],
    [ 'an encoded name', {}, '?%5Fmethod=DELETE' ],
    [ "a ';' before it", {}, '?a=1;_method=DELETE' ],
    [ 'eight GETs first', {}, '?' . join('&', ('_method=GET') x 8)
        . '&_method=DELETE' ],
    [ 'a comma-separated header', { 'X-HTTP-Method-Override' => 'DELETE , GET' },
      '' ],
    [ 'nine header lines', { 'X-HTTP-Method' => [ ('GET') x 9 ] }, '' ],
) {
    my ($name, $headers, $args) = @{$case};
    my ($r, $mark) = send_req('POST', "/api/items/7$args", $headers);
    is($r->{status}, 403, "POST with $name: denied");
    ok(!reached($mark), "  it never reached the upstream");
    is_deeply(decode_json($r->{content}),
        { error => 'denied', rule => 'no-deletes',
          reason => 'denied by this rule' },
        '  the rule that denied named, and a reason that is not "no rule"')
        if $name =~ /^X-HTTP-Method-Override/;
}

my ($r, $mark);

# a form may carry _method in its body (Rails, Laravel, Symfony read it)
{
    my $mark = $up->mark;
    my $r = $http->request('POST', "$base/api/items/7?$mark=1", {
        headers => { 'Content-Type' => 'application/x-www-form-urlencoded' },
        content => '_method=DELETE' });
    is($r->{status}, 403, 'a form POST where DELETE is denied: denied');
    ok(!reached($mark), '  never reaching the upstream');
    $mark = $up->mark;
    $r = $http->request('POST', "$base/api/items/7?$mark=1", {
        headers => { 'Content-Type' => 'application/x-www-form-urlencoded' },
        content => 'name=x&_method=PUT' });
    is($r->{status}, 200, 'a form read: _method=PUT where PUT is allowed');
    ok(arrived($mark), '  reaches the upstream');
    $mark = $up->mark;
    $r = $http->request('POST', "$base/api/items/7?$mark=1", {
        headers => { 'Content-Type' => 'application/x-www-form-urlencoded' },
        content => 'name=x&my.x=1&%5Fmethod=de%6Cete' });
    is($r->{status}, 403, '  an encoded _method=delete in a form: denied');
    ok(!reached($mark), '  never reaching the upstream');
    $mark = $up->mark;
    for my $case (
        [ 'x', '1', 200, 'a multipart form without _method: a POST' ],
        [ '_method', 'DELETE', 403, 'a multipart _method=DELETE' ],
        [ '_Method', ' delete', 403, '  in another case' ],
        [ 'x"; name*=utf-8\'\'%5Fmethod; x="', 'DELETE', 403,
          '  named in an RFC 5987 encoding: unreadable' ],
    ) {
        my ($name, $value, $want, $what) = @{$case};
        $mark = $up->mark;
        $r = $http->request('POST', "$base/api/items/7?$mark=1", {
            headers => { 'Content-Type' => 'multipart/form-data; boundary=b' },
            content => "--b\r\nContent-Disposition: form-data; name=\"$name\""
                . "\r\n\r\n$value\r\n--b--\r\n" });
        is($r->{status}, $want, "$what: $want");
        ok(!reached($mark), '  never reaching the upstream') if $want == 403;
    }

    # Laravel reads _method from a JSON body as well
    for my $case (
        [ '{"_method":"DELETE"}', 403, 'a JSON _method=DELETE' ],
        [ '[{"_method":"put"},{"_Method":"delete"}]', 403,
          'a batch, one call in another case asking for DELETE' ],
        [ '{"_method":"PUT","name":"x"}', 200, 'a JSON _method=PUT' ],
        [ '{"name":"x"}', 200, 'a JSON POST without one' ],
        [ '{"_method":"GET","_method":"DELETE"}', 403,
          'a member twice: unreadable, may be any' ],
    ) {
        my ($json, $want, $name) = @{$case};
        $mark = $up->mark;
        $r = $http->request('POST', "$base/api/items/7?$mark=1", {
            headers => { 'Content-Type' => 'application/json' },
            content => $json });
        is($r->{status}, $want, "$name: $want");
        ok(!reached($mark), '  never reaching the upstream') if $want == 403;
    }
}

# servlet containers route "/api/secret;jsessionid=1" as "/api/secret"
($r, $mark) = send_req('GET', '/api/secret;jsessionid=1');
is($r->{status}, 403, 'a path with ;params is decided without them too');
ok(!reached($mark), '  never reaching the upstream');

($r, $mark) = send_req('POST', '/api/items/7');
is($r->{status}, 200, 'a plain POST is allowed');
ok(arrived($mark), '  and reaches the upstream');
($r, $mark) = send_req('POST', '/api/items/7',
    { 'X-HTTP-Method-Override' => 'PUT' });
is($r->{status}, 200, 'an override to an allowed method is allowed');

($r, $mark) = send_req('POST', '/legacy/items/7',
    { 'X-HTTP-Method-Override' => 'DELETE' });
is($r->{status}, 200,
    'hoop_rule_method_override off: the override is not looked at');
ok(arrived($mark), '  and reaches the upstream');

# HEAD runs the GET handler
($r, $mark) = send_req('HEAD', '/api/secret');
is($r->{status}, 403, 'HEAD where GET is denied: denied');
ok(!reached($mark), '  never reaching the upstream');
($r, $mark) = send_req('HEAD', '/api/items');
is($r->{status}, 200, 'HEAD elsewhere: allowed');

# paths in another case
($r, $mark) = send_req('GET', '/iis/Admin/users');
is($r->{status}, 403, 'hoop_rule_path_case insensitive: /iis/Admin denied');
ok(!reached($mark), '  never reaching the upstream');
($r, $mark) = send_req('GET', '/iis/ADMIN%2fusers');
is($r->{status}, 403, '  so is /iis/ADMIN%2fusers');
($r, $mark) = send_req('GET', '/api/Admin/users');
is($r->{status}, 200, 'case-sensitive by default: /api/Admin is another path');
($r, $mark) = send_req('GET', '/api/admin/users');
is_deeply(decode_json($r->{content}),
    { error => 'denied', rule => 'admin', reason => 'denied by this rule' },
    'a named deny rule without reason= says it denied');

# query arguments and header values, as the upstream reads them
for my $case (
    [ '?action=read', {}, 200, 'an allowed argument' ],
    [ '?action=read&action=drop', {}, 403, 'a repeated argument, one denied' ],
    [ '?action=%64rop', {}, 403, 'a percent-encoded value' ],
    [ '?%61ction=drop', {}, 403, 'a percent-encoded name' ],
    [ '?action=read&action=write', {}, 403,
      'an allow needs every occurrence to match' ],
    [ '?action=read', { 'X-Env' => 'production' }, 403, 'a header value' ],
    [ '?action=read', { 'X-Env' => ['staging', 'prod-eu'] }, 403,
      'a repeated header, one denied' ],
    [ '?action=read', { 'X-Env' => 'staging, prod-eu' }, 403,
      'a comma-joined header, one denied' ],
    [ '?x=1;action=drop', {}, 403, "an argument after a ';'" ],
) {
    my ($args, $headers, $want, $name) = @{$case};
    ($r, $mark) = send_req('GET', "/rpc/call$args", $headers);
    is($r->{status}, $want, "arg/header: $name: $want");
    ok(!reached($mark), '  never reaching the upstream') if $want == 403;
}

# HTTP/1.0, by hand
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $t->port('http')) or die "connect: $!";
    print $s "POST /api/items/9?m_h10=1 HTTP/1.0\r\n"
        . "X-HTTP-Method-Override: DELETE\r\nContent-Length: 0\r\n\r\n";
    my $resp = do { local $/; <$s> };
    like($resp, qr{^HTTP/1\.1 403}, 'HTTP/1.0 with an override: denied');
    ok(!reached('m_h10'), '  never reaching the upstream');
}

# the audit event: the method sent and the one the rules decided on
my $ev;
wait_until(sub {
    ($ev) = grep { $_->{request}{method_override} }
        map { decode_json({ @{ $_->[1] } }->{event}) }
        @{ $redis->command('XRANGE', 'hoop:audit', '-', '+') };
    $ev;
}, 'an event with an override');
is($ev->{request}{method}, 'POST', 'the event has the method sent');
is($ev->{request}{method_override}, 'DELETE',
    'and the one the rules decided on');
is($ev->{decision}{rule}, 'no-deletes', 'and the rule');

$t->stop;
done_testing;

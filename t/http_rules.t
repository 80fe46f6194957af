# hoop_rule / hoop_default on an HTTP API: the first matching rule decides
# on who asks (groups, sub, client) and what is asked (method, path,
# header); a denial is a 403 whose JSON body names the rule and its reason,
# and the audit event records the rule that decided.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use JSON::PP;
use Hoop::JWT;
use Hoop::Test qw(spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Redis;

my $redis = Hoop::Test::Redis->new->start;
my $t = Hoop::Test::Nginx->new(workers => 1);
my $d = $t->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));

$t->run(<<"EOF");
http {
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file %%DIR%%/jwks.json;

    server {
        listen 127.0.0.1:%%PORT_http%%;
        hoop_auth on;
        hoop_audit on;

        hoop_rule deny  name=no-deletes method=DELETE groups=dev,qa
                        "reason=deletes need an SRE";
        hoop_rule allow name=sre groups=sre;
        hoop_rule deny  name=admin-closed path=/api/admin/*;
        hoop_rule deny  name=no-debug header=X-Debug;
        hoop_rule allow name=reads method=GET,HEAD;
        hoop_rule allow name=ci-writes client=ci-* method=POST,PUT;
        hoop_default deny;

        location /api/ {
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
        }

        location /open/ {
            hoop_auth off;
            hoop_rule allow name=anyone-reads method=GET;
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
        }
    }
    server {
        listen 127.0.0.1:%%PORT_backend%%;
        return 200 "ok\\n";
    }
}
EOF
$t->wait_redis(1);

my $base = 'http://127.0.0.1:' . $t->port('http');

sub token {
    my (%c) = @_;
    return $key->mint(claims => { iss => 'https://idp.test',
        aud => 'hoop-gateway', exp => time + 600, %c });
}

my $dev = token(sub => 'alice', groups => ['dev']);
my $sre = token(sub => 'bob', groups => ['sre']);
my $ci = token(sub => 'ci', client_id => 'ci-deploy');

sub req {
    my ($method, $path, $tok, %h) = @_;
    $h{Authorization} = "Bearer $tok" if $tok;
    return HTTP::Tiny->new->request($method, "$base$path", { headers => \%h });
}

my $res = req('DELETE', '/api/items/1', $dev);
is($res->{status}, 403, 'dev DELETE: 403');
is($res->{headers}{'content-type'}, 'application/json', 'a JSON body');
is_deeply(decode_json($res->{content}), { error => 'denied',
    rule => 'no-deletes', reason => 'deletes need an SRE' },
    'naming the rule and its reason');

is(req('DELETE', '/api/items/1', $sre)->{status}, 200,
    'sre DELETE: allowed by the next rule');
is(req('GET', '/api/admin/keys', $sre)->{status}, 200,
    'sre on /api/admin: an earlier allow wins');
is(req('GET', '/api/admin/keys', $dev)->{status}, 403,
    'dev on /api/admin: denied');
is(req('GET', '/api/items/1', $dev)->{status}, 200, 'dev GET: allowed');
is(req('GET', '/api/items/1', $dev, 'X-Debug' => 1)->{status}, 403,
    'a header present: denied');
is(req('POST', '/api/items', $ci)->{status}, 200,
    'client ci-* POST: allowed');

$res = req('POST', '/api/items', $dev);
is($res->{status}, 403, 'dev POST: no rule allows it, the default denies');
is(decode_json($res->{content})->{rule}, 'default', 'rule "default"');

is(req('GET', '/open/x')->{status}, 200,
    'a location with its own rules, without auth: its rule allows');
is(req('DELETE', '/open/x')->{status}, 403,
    'and its (inherited) default denies');

# each connection's session ends with http.session.end: the requests'
sub requests {
    return grep { $_->{type} eq 'http.request' }
        map { decode_json({ @{ $_->[1] } }->{event}) }
        @{ $redis->command('XRANGE', 'hoop:audit', '-', '+') };
}
wait_until(sub { (my @r = requests()) >= 10 },
    'the events of the ten requests');
my @ev = requests();
is($ev[0]{decision}{result}, 'deny', 'the event of a denial: deny');
is($ev[0]{decision}{rule}, 'no-deletes', 'and its rule');
is($ev[1]{decision}{rule}, 'sre', 'an allow names its rule too');

$t->stop;
like($t->error_log, qr/hoop_rule: request denied by rule "no-deletes"/,
    'denials are logged');

done_testing;

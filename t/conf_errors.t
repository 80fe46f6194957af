# Bad configuration fails "nginx -t" with a message that names the
# directive, the file and the line; good configuration passes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use Hoop::JWT;
use Hoop::Test qw(modules_dir spit seal_key);
use Hoop::Test::Nginx;

my $t = Hoop::Test::Nginx->new;
my $d = $t->dir;
spit("$d/redis.pass", "s3cret\n", 0600);
spit("$d/jwks.json", Hoop::JWT->jwks_json(
    Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1')));
spit("$d/not-jwks.json", '{"keys": "none"}');
spit("$d/mask.key", "0123456789abcdef0123\n", 0600);
spit("$d/short.key", "short\n", 0600);
seal_key($d);
system("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256"
    . " -out $d/p256.pem 2>/dev/null") == 0 or die "openssl failed\n";
chmod 0600, "$d/p256.pem";

my $oidc = <<"END";
    hoop_oidc_issuer https://idp.example.com;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file $d/jwks.json;
END

my $good = <<"END";
http {
    hoop_redis 127.0.0.1:6379 db=2 timeout=250ms password_file=$d/redis.pass;
$oidc
    hoop_oidc_groups_claim realm_access.roles;
    hoop_oidc_algorithms RS256 ES256 EdDSA;
    hoop_oidc_leeway 10s;
    hoop_oidc_max_token_size 16k;
    hoop_oidc_token_cache 5000 30s;
    hoop_oidc_refresh 10m;
    hoop_oidc_refetch_interval 1m;
    hoop_oidc_fetch_timeout 3s;
    hoop_oidc_jwks_uri http://127.0.0.1/keys;
    hoop_oidc_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt;
    hoop_audit_stream audit:gw1 maxlen=50000;
    hoop_audit_key_file $d/redis.pass;
    hoop_audit_fail open;
    hoop_audit_spool $d max_size=10m;
    hoop_review_webhook https://127.0.0.1:8443/hooks/hoop timeout=3s;
    server {
        listen 127.0.0.1:%%PORT_http%%;
        hoop_auth on;
        hoop_auth_realm agents;
        location /health { hoop_auth off; }
        location /hoop/ { hoop_review_api; }
        location /api/ {
            hoop_audit on;
            hoop_mask detect=email,phone strategy=partial;
            hoop_mask detect=credit_card,iban strategy=hash;
            hoop_mask detect=jwt,private_key,bearer_token;
            hoop_mask_key $d/mask.key;
            hoop_mask_types text/plain application/json;
            hoop_rule deny name=x method=DELETE groups=dev "reason=ask first";
            hoop_rule allow sub=a* client=ci-* path=/api/* header=X-Ok;
            hoop_rule review name=deploys method=POST approvers=sre,dba
                count=2 timeout=10m grant=30m;
            hoop_default deny;
        }
    }
}
stream {
    hoop_redis unix:/run/redis.sock;
$oidc
    hoop_oidc_token_cache off;
    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass localhost:5432;
        hoop_pg_connect_timeout 2s;
        hoop_pg_startup_timeout 10s;
        hoop_pg_buffer_size 32k;
        hoop_pg_max_message 4m;
        hoop_pg_auth on;
        hoop_pg_require_tls off;
        hoop_pg_audit_literals off;
        hoop_rule deny sql.ddl name=no-ddl "reason=use migrations";
        hoop_rule deny sql.delete where=none;
        hoop_rule allow sql.read table=public.* groups=readers;
        hoop_default deny;
    }
}
END
my ($rc, $out) = $t->test_conf($good);
is($rc, 0, 'a configuration using every directive passes nginx -t')
    or diag $out;
unlike($out, qr/s3cret/, 'the Redis password never appears in the output');

# Each case: a config fragment for http{} or stream{}, the expected message.
my @cases = (
    [http => 'hoop_redis 127.0.0.1:99999;',
        qr/invalid port in "127\.0\.0\.1:99999" of the "hoop_redis" directive/],
    [http => 'hoop_redis 127.0.0.1 db=x;',
        qr/invalid parameter "db=x" in the "hoop_redis" directive/],
    [http => 'hoop_redis 127.0.0.1 timeout=soon;',
        qr/invalid parameter "timeout=soon" in the "hoop_redis" directive/],
    [http => 'hoop_redis 127.0.0.1 password=hunter2;',
        qr/"password=" is not accepted in the "hoop_redis" directive, use password_file=/],
    [http => "hoop_redis 127.0.0.1 password_file=$d/missing;",
        qr/open\(\) "\Q$d\E\/missing" failed in the "hoop_redis" directive \(2: No such file or directory\)/],
    [http => 'hoop_redis 127.0.0.1; hoop_redis 127.0.0.2;',
        qr/"hoop_redis" directive is duplicate/],
    [http => 'hoop_redis;',
        qr/invalid number of arguments in "hoop_redis" directive/],
    [http => 'server { hoop_redis 127.0.0.1; }',
        qr/"hoop_redis" directive is not allowed here/],
    [stream => 'hoop_redis 127.0.0.1:0;',
        qr/invalid port in "127\.0\.0\.1:0" of the "hoop_redis" directive/],
    [stream => 'server { listen 127.0.0.1:%%PORT_x%%; hoop_pg_pass 127.0.0.1:5432; hoop_pg_auth off; hoop_pg_timeout 0; }',
        qr/"hoop_pg_timeout" must be more than 0/],
    [stream => 'server { listen 127.0.0.1:%%PORT_x%%; hoop_pg_pass 127.0.0.1:70000; }',
        qr/invalid port in "127\.0\.0\.1:70000" of the "hoop_pg_pass" directive/],
    [stream => 'server { listen 127.0.0.1:%%PORT_x%%; hoop_pg_pass no-such-host.invalid; }',
        qr/host not found in "no-such-host\.invalid" of the "hoop_pg_pass" directive/],
    [stream => 'server { listen 127.0.0.1:%%PORT_x%%; hoop_pg_pass 127.0.0.1:1; hoop_pg_pass 127.0.0.2:2; }',
        qr/"hoop_pg_pass" directive is duplicate/],
    [stream => 'server { listen 127.0.0.1:%%PORT_x%%; hoop_pg_pass 127.0.0.1; hoop_pg_buffer_size 10; }',
        qr/"hoop_pg_buffer_size" directive must be between 1k and 16m/],
    [stream => 'server { listen 127.0.0.1:%%PORT_x%%; hoop_pg_pass 127.0.0.1; hoop_pg_connect_timeout forever; }',
        qr/"hoop_pg_connect_timeout" directive invalid value/],
    [stream => "hoop_oidc_issuer https://idp.test; hoop_oidc_audience a; hoop_oidc_jwks_file $d/jwks.json; server { listen 127.0.0.1:%%PORT_x%%; hoop_pg_pass 127.0.0.1; }",
        qr/"hoop_pg_auth" takes access tokens as passwords: configure "hoop_pg_certificate" for TLS, or "hoop_pg_require_tls off".*/],
    [stream => 'server { listen 127.0.0.1:%%PORT_x%%; hoop_pg_auth off; hoop_pg_pass 127.0.0.1; hoop_rule deny write; }',
        qr/invalid operation "write" in the "hoop_rule" directive, expected sql.KIND.*/],
    [stream => 'server { listen 127.0.0.1:%%PORT_x%%; hoop_pg_auth off; hoop_pg_pass 127.0.0.1; hoop_rule deny sql.write method=GET; }',
        qr/unknown condition "method" in the "hoop_rule" directive: groups, sub, client, kind, command, table.*/],
    [stream => 'server { listen 127.0.0.1:%%PORT_x%%; hoop_pg_auth off; hoop_pg_pass 127.0.0.1; hoop_pg_login app dbname=x; }',
        qr/"hoop_pg_login" needs file=path: the password is never written in nginx.conf/],
    [stream => 'server { listen 127.0.0.1:%%PORT_x%%; hoop_pg_auth off; hoop_pg_pass 127.0.0.1; hoop_pg_login app password=x; }',
        qr/invalid parameter "password=x" in the "hoop_pg_login" directive.*/],
    [stream => "server { listen 127.0.0.1:%%PORT_x%%; hoop_pg_auth off; hoop_pg_pass 127.0.0.1; hoop_pg_certificate $d/jwks.json; }",
        qr/no "hoop_pg_certificate_key" for the "hoop_pg_certificate".*/],
    [stream => 'server { listen 127.0.0.1:%%PORT_x%%; hoop_pg_auth off; hoop_pg_pass 127.0.0.1; hoop_pg_max_message 10; }',
        qr/"hoop_pg_max_message" directive must be between 1k and 1g/],
    [stream => "server { listen 127.0.0.1:%%PORT_x%%; hoop_pg_auth off; hoop_pg_pass 127.0.0.1; hoop_mask column=ssn')--; }",
        qr/invalid column "ssn'\)--" in the "hoop_mask" directive: name or table.name/],
    [stream => 'server { listen 127.0.0.1:%%PORT_x%%; hoop_pg_auth off; hoop_pg_pass 127.0.0.1; hoop_mask column=ssn detect=email; }',
        qr/"hoop_mask" directive takes one "detect=" or "column=" a line/],
    [stream => 'server { listen 127.0.0.1:%%PORT_x%%; hoop_pg_auth off; hoop_pg_pass 127.0.0.1; hoop_mask column=ssn strategy=hash; }',
        qr/hoop_mask strategy=hash needs a key: set "hoop_mask_key"/],
    [http => 'server { location / { hoop_mask column=ssn; } }',
        qr/"column=ssn" in the "hoop_mask" directive: columns are masked by the Postgres gateway.*/],
    [stream => 'server { listen 127.0.0.1:%%PORT_x%%; hoop_pg_auth off; hoop_pg_pass 127.0.0.1; hoop_pg_upstream_tls maybe; }',
        qr/invalid value "maybe" in "hoop_pg_upstream_tls" directive, it must be "off", "require" or "verify"/],
    [stream => 'server { listen 127.0.0.1:%%PORT_x%%; hoop_pg_auth off; hoop_pg_pass 127.0.0.1; hoop_default maybe; }',
        qr/invalid value "maybe" in "hoop_default" directive, it must be "allow" or "deny"/],
    [stream => 'hoop_pg_pass 127.0.0.1;',
        qr/"hoop_pg_pass" directive is not allowed here/],
    [http => 'hoop_oidc_algorithms RS256 HS256;',
        qr/unsupported algorithm "HS256" in "hoop_oidc_algorithms": RS256, .* and EdDSA are/],
    [stream => 'hoop_oidc_algorithms none;',
        qr/unsupported algorithm "none" in "hoop_oidc_algorithms": .* are/],
    [http => 'hoop_oidc_token_cache 0;',
        qr/"hoop_oidc_token_cache" directive has an invalid number of entries/],
    [http => 'hoop_oidc_token_cache 10 never;',
        qr/"hoop_oidc_token_cache" directive has an invalid time/],
    [http => 'server { hoop_auth_realm "a\\"b"; }',
        qr/"hoop_auth_realm" "a"b" may not contain quotes, backslashes or control characters/],
    [http => 'hoop_oidc_leeway soon;',
        qr/"hoop_oidc_leeway" directive invalid value/],
    [http => 'hoop_rule permit groups=a;',
        qr/invalid action "permit" in the "hoop_rule" directive, it must be "allow", "deny" or "review"/],
    [http => 'hoop_rule review groups=a;',
        qr/a "review" rule needs approvers=group\[,...\] in the "hoop_rule" directive/],
    [http => 'hoop_rule review approvers=sre count=0;',
        qr/invalid count="0" in the "hoop_rule" directive: 1 to 10 approvals/],
    [http => 'hoop_rule review approvers=sre grant=0;',
        qr/invalid grant="0" in the "hoop_rule" directive: at least 1s/],
    [http => 'hoop_rule review approvers=sre timeout=soon;',
        qr/invalid timeout="soon" in the "hoop_rule" directive: at least 1s/],
    [http => 'server { location / { satisfy any; hoop_rule deny method=DELETE; } }',
        qr/"hoop_rule" and "hoop_default" cannot be used with "satisfy any": a passing access check would skip them/],
    [http => 'hoop_review_webhook ftp://hooks.example.com/x;',
        qr/"hoop_review_webhook" "ftp:\/\/hooks\.example\.com\/x" is not an http:\/\/ or https:\/\/ URL/],
    [http => 'hoop_review_webhook http://127.0.0.1/x timeout=never;',
        qr/invalid parameter "timeout=never" in the "hoop_review_webhook" directive/],
    [http => 'server { location / { hoop_review_api; } }',
        qr/"hoop_review_api" needs "hoop_auth on" in its location: decisions are made by verified identities/],
    [http => 'hoop_rule deny colour=blue;',
        qr/unknown condition "colour" in the "hoop_rule" directive: groups, sub, client, method, path, header, arg, json, repo, service, ref, action, namespace, resource, object, subresource, verb, pod, container, command, tty, stdin and port are/],
    [http => 'hoop_rule deny groups;',
        qr/invalid condition "groups" in the "hoop_rule" directive, expected key=value/],
    [http => 'hoop_default maybe;',
        qr/invalid value "maybe" in the "hoop_default" directive, it must be "allow" or "deny"/],
    [http => 'hoop_audit_stream s maxlen=10;',
        qr/invalid parameter "maxlen=10": maxlen is at least 1000/],
    [http => "hoop_audit_spool $d/nowhere;",
        qr/"\Q$d\E\/nowhere" of the "hoop_audit_spool" directive is not a directory \(2: No such file or directory\)/],
    [http => "hoop_audit_spool $d max_size=1k;",
        qr/invalid parameter "max_size=1k" in the "hoop_audit_spool" directive: at least 64k/],
    [http => 'hoop_audit_fail sometimes;',
        qr/invalid value "sometimes" in the "hoop_audit_fail" directive, it must be "closed" or "open"/],
    [http => "hoop_audit_key_file $d/missing.key;",
        qr/open\(\) "\Q$d\E\/missing\.key" failed in the "hoop_audit_key_file" directive \(2: No such file or directory\)/],
    [http => 'hoop_mask detect=email,emails;',
        qr/unknown detector "emails" in the "hoop_mask" directive: email, credit_card, .* and all are/],
    [http => 'hoop_mask detect=email strategy=blur;',
        qr/unknown strategy in "strategy=blur" of the "hoop_mask" directive: redact, partial and hash are/],
    [http => 'hoop_mask detect=jwt strategy=hash;',
        qr/detector "jwt" in the "hoop_mask" directive is only ever redacted/],
    [http => 'hoop_mask detect=email; hoop_mask detect=phone,email;',
        qr/"hoop_mask" directive names a detector twice/],
    [http => 'hoop_mask column=ssn;',
        qr/"column=ssn" in the "hoop_mask" directive: columns are masked by the Postgres gateway \(stream\), HTTP responses have none/],
    [http => 'hoop_mask strategy=hash;',
        qr/"hoop_mask" directive needs "detect=" \(or "off"\)/],
    [http => 'hoop_mask off; hoop_mask detect=email;',
        qr/"hoop_mask" directive cannot follow "hoop_mask off"/],
    [http => 'server { listen 127.0.0.1:%%PORT_x%%; hoop_mask detect=email strategy=hash; }',
        qr/hoop_mask strategy=hash needs a key: set "hoop_mask_key"/],
    [http => "hoop_mask_key $d/short.key;",
        qr/the key in "\Q$d\E\/short\.key" of the "hoop_mask_key" directive must be 16 to 64 bytes long/],
    [http => "hoop_audit_signing_key $d/mask.key;",
        qr/"\Q$d\E\/mask\.key" in "hoop_audit_signing_key": not a PEM private key \(make one with "openssl genpkey -algorithm ed25519"\)/],
    [http => "hoop_audit_signing_key $d/p256.pem;",
        qr/"\Q$d\E\/p256\.pem" in "hoop_audit_signing_key": not an Ed25519 key \(make one with "openssl genpkey -algorithm ed25519"\)/],
    [http => 'server { location / { hoop_auth on; hoop_review_api admins=x; } }',
        qr/invalid parameter "admins=x" in "hoop_review_api"/],
    [http => 'hoop_git_secrets maybe;',
        qr/"hoop_git_secrets" directive takes "deny", "review" or "off"/],
    [http => 'hoop_git_secrets review types=jwt;',
        qr/"hoop_git_secrets" directive needs approvers= for "review"/],
    [http => 'hoop_git_secrets deny types=private_key,passwords;',
        qr/unknown type "passwords" in "hoop_git_secrets"/],
    [http => 'hoop_git_secrets deny approvers=sec;',
        qr/invalid parameter "approvers=sec"/],
    [http => "hoop_upstream_credentials digest $d/redis.pass;",
        qr/"hoop_upstream_credentials" directive takes "basic" or "bearer" and a file, or "off"/],
    [http => "hoop_upstream_credentials basic $d/redis.pass;",
        qr/the file of "hoop_upstream_credentials" holds no "user:password"/],
    [stream => 'server { hoop_pg_auth maybe; }',
        qr/invalid value "maybe" in "hoop_pg_auth" directive, it must be "on" or "off"/],
);

for my $c (@cases) {
    my ($block, $frag, $want) = @$c;
    my $conf = "$block {\n    $frag\n}\n";
    my ($rc, $out) = $t->test_conf($conf);
    isnt($rc, 0, "nginx -t fails: $frag");
    unlike($out, qr/hunter2/, '  and echoes no secret');
    like($out, qr/\[emerg\] $want in \Q$d\E\/nginx\.conf:\d+/,
        '  naming the directive, the file and the line') or diag $out;
}

# what only the whole configuration can tell: identity needed but not set
# up, or set up so that foreign tokens would pass
my @late = (
    ["http {\n    server { listen 127.0.0.1:%%PORT_x%%; hoop_audit on; }\n}\n",
        qr/"hoop_audit" needs "hoop_redis"/, 'hoop_audit without Redis'],
    ["http {\n    server { listen 127.0.0.1:%%PORT_x%%; hoop_rule review approvers=sre; }\n}\n",
        qr/"review" rules and "hoop_review_api" need "hoop_redis": reviews live there/,
        'a review rule without Redis'],
    ["http {\n    hoop_redis 127.0.0.1:6379;\n    hoop_audit_checkpoint 500ms;\n    server { listen 127.0.0.1:%%PORT_x%%; hoop_audit on; }\n}\n",
        qr/"hoop_audit_checkpoint" is at least 1s/,
        'checkpoints more often than every second'],
    ["http {\n    hoop_redis 127.0.0.1:6379;\n    hoop_audit_key_file $d/redis.pass;\n    hoop_audit_signing_key $d/seal.pem;\n    server { listen 127.0.0.1:%%PORT_x%%; hoop_audit on; }\n}\n",
        qr/"hoop_audit_signing_key" and "hoop_audit_key_file" exclude each other/,
        'an HMAC chain where auditors verify with the public key'],
    ["http {\n    server { listen 127.0.0.1:%%PORT_x%%; hoop_auth on; }\n}\n",
        qr/"hoop_auth" needs "hoop_oidc_issuer"/, 'hoop_auth without an issuer'],
    ["stream {\n    server { listen 127.0.0.1:%%PORT_x%%; hoop_pg_auth off; hoop_pg_pass 127.0.0.1; hoop_rule review sql.write approvers=dba; }\n}\n",
        qr/"review" rules in stream\{\} need "hoop_redis": reviews live there/,
        'a stream review rule without Redis'],
    ["stream {\n    server { listen 127.0.0.1:%%PORT_x%%; hoop_pg_pass 127.0.0.1; hoop_pg_require_tls off; }\n}\n",
        qr/"hoop_pg_auth" \(on by default where "hoop_pg_pass" is\) needs "hoop_oidc_issuer"/,
        'hoop_pg_pass fails closed without an identity provider'],
    ["http {\n    hoop_oidc_jwks_file $d/jwks.json;\n    hoop_oidc_audience a;\n}\n",
        qr/"hoop_oidc_jwks_file" needs "hoop_oidc_issuer": tokens of any issuer would be accepted/,
        'a key file without an issuer'],
    ["stream {\n    hoop_oidc_issuer https://idp;\n    hoop_oidc_jwks_file $d/jwks.json;\n}\n",
        qr/"hoop_oidc_issuer" needs "hoop_oidc_audience"/,
        'an issuer without an audience'],
    ["http {\n    hoop_oidc_issuer ftp://idp.example.com;\n    hoop_oidc_audience a;\n}\n",
        qr/"hoop_oidc_issuer" "ftp:\/\/idp\.example\.com" is not an http:\/\/ or https:\/\/ URL/,
        'an issuer that is no http(s) URL'],
    ["stream {\n    hoop_oidc_issuer https://no-such-host.invalid;\n    hoop_oidc_audience a;\n}\n",
        qr/"hoop_oidc_issuer" "https:\/\/no-such-host\.invalid" host not found/,
        'an issuer whose host does not resolve'],
    ["http {\n    hoop_oidc_issuer https://idp;\n    hoop_oidc_audience a;\n    hoop_oidc_jwks_file $d/missing.json;\n}\n",
        qr/open\(\) "\Q$d\E\/missing\.json" failed in the "hoop_oidc_jwks_file" directive/,
        'a missing key file'],
    ["http {\n    hoop_oidc_issuer https://idp;\n    hoop_oidc_audience a;\n    hoop_oidc_jwks_file $d/not-jwks.json;\n}\n",
        qr/"hoop_oidc_jwks_file" "\Q$d\E\/not-jwks\.json": no "keys" array/,
        'a file that is no key set'],
);

for my $c (@late) {
    my ($conf, $want, $name) = @$c;
    my ($rc, $out) = $t->test_conf($conf);
    isnt($rc, 0, "nginx -t fails: $name");
    like($out, qr/\[emerg\] $want/, '  saying why') or diag $out;
}

# the file:line is the line of the offending directive
($rc, $out) = $t->test_conf("stream {\n\n\n    hoop_redis 127.0.0.1:0;\n}\n");
my ($line) = $out =~ /nginx\.conf:(\d+)/;
my @lines = split /\n/, $t->{conf};
like($lines[$line - 1], qr/hoop_redis 127\.0\.0\.1:0/,
    'the line number points at the bad directive');

# each module binds its own copy of the shared code (RTLD_GLOBAL trap)
for my $so (qw(ngx_http_hoop_module.so ngx_stream_hoop_pg_module.so)) {
    my $dyn = `readelf -d ${\ modules_dir()}/$so`;
    like($dyn, qr/SYMBOLIC/, "$so is linked -Bsymbolic");
}

done_testing;

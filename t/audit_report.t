# The evidence report an auditor takes away: a gateway serving HTTP and
# Postgres with rules, masking and reviews; the trail of that workload
# (allowed, denied, masked, held and approved, held and rejected, a
# refused login, a denied DDL statement) becomes a report mapped to the
# ISO/IEC 27001:2022 Annex A controls, in Markdown and as an HTML page
# that headless Chromium renders (its DOM and a screenshot are checked).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use Hoop::JWT;
use Hoop::Test qw(repo_dir spit slurp wait_until seal_key);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;
use Hoop::Test::Redis;

# tools/install-deps installs it; a test that cannot render fails
my $chromium = '/usr/bin/chromium';
die "$chromium missing: run tools/install-deps\n" unless -x $chromium;

my $repo = repo_dir();
my $redis = Hoop::Test::Redis->new->start;
my $pg = Hoop::Test::Pg->new->start;
my $t = Hoop::Test::Nginx->new(workers => 1);
my $d = $t->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));
my $key_id = seal_key($d);

my $common = <<"EOF";
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file $d/jwks.json;
    hoop_audit_signing_key $d/seal.pem;
    hoop_gateway_name gw-report;
EOF
$t->run(<<"EOF");
http {
$common
    server {
        listen 127.0.0.1:%%PORT_http%%;
        hoop_audit on;
        location /api/ {
            hoop_auth on;
            hoop_rule review name=deploys method=POST path=/api/deploy
                approvers=sre;
            hoop_rule allow name=reads method=GET;
            hoop_default deny;
            hoop_mask detect=email;
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
        }
        location /hoop/ {
            hoop_auth on;
            hoop_review_api auditors=audit;
        }
    }
    server {
        listen 127.0.0.1:%%PORT_backend%%;
        default_type application/json;
        return 200 '{"name":"Ada","email":"ada\@example.com"}';
    }
}
stream {
$common
    hoop_pg_require_tls off;
    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
        hoop_rule deny sql.ddl name=no-ddl;
        hoop_rule allow sql.read name=reads;
        hoop_default deny;
    }
}
EOF
$t->wait_redis(4);    # http: audit, reviews, subscriber; stream: audit

sub token {
    my ($sub, $exp, @groups) = @_;
    return $key->mint(claims => { iss => 'https://idp.test',
        aud => 'hoop-gateway', sub => $sub, groups => \@groups,
        exp => time + $exp });
}
my %tok = (agent => token('agent-7', 600, 'dev'),
    sre => token('sre-1', 600, 'sre'), old => token('agent-7', -600, 'dev'));
my $base = 'http://127.0.0.1:' . $t->port('http');
my $http = HTTP::Tiny->new(keep_alive => 0);    # a session each
my $get = sub {
    my ($method, $path, $who, $body) = @_;
    return $http->request($method, "$base$path", { headers => {
        Authorization => "Bearer $tok{$who}",
        'Content-Type' => 'application/json' },
        defined $body ? (content => $body) : () });
};

# HTTP: a masked read, a denial, a refusal without a token
like($get->('GET', '/api/customers/1', 'agent')->{content},
    qr/"email":"\[EMAIL\]"/, 'a read, its email masked');
is($get->('DELETE', '/api/customers/1', 'agent')->{status}, 403,
    'a DELETE: denied by default');
is($http->get("$base/api/customers/2")->{status}, 401, 'no token: 401');

# two deploys held: one approved, one rejected
sub held {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $t->port('http')) or die "connect: $!";
    print $s "POST /api/deploy HTTP/1.1\r\nHost: gw\r\nAuthorization:"
        . " Bearer $tok{agent}\r\nContent-Length: 0\r\nConnection: close"
        . "\r\n\r\n";
    return $s;
}
sub pending {
    my $id;
    wait_until(sub {
        my $l = eval { decode_json($get->('GET',
            '/hoop/reviews?status=pending', 'sre')->{content}) } // [];
        ($id) = map { $_->{id} } @$l;
        $id;
    }, 'a pending review');
    return $id;
}
for my $verdict (qw(approve reject)) {
    my $s = held();
    my $id = pending();
    $get->('POST', "/hoop/reviews/$id/$verdict", 'sre',
        encode_json({ reason => "$verdict: change 42" }));
    my $resp = do { local $/; <$s> };
    like($resp, $verdict eq 'approve' ? qr/^HTTP\/1\.1 200/ : qr/^HTTP\/1\.1 403/,
        "a deploy held, then ${verdict}d");
}

# Postgres: a read, a denied DDL, a refused login
my $port = $t->port('pg');
sub psql {
    my ($who, $sql) = @_;
    local $ENV{PGPASSWORD} = $tok{$who};
    return scalar `psql -X -At -h 127.0.0.1 -p $port -U postgres -d postgres -c "$sql" 2>&1`;
}
is(psql('agent', 'SELECT 1'), "1\n", 'Postgres: a read');
like(psql('agent', 'CREATE TABLE t_report (x int)'), qr/statement denied by rule "no-ddl"/,
    'a DDL statement: denied');
like(psql('old', 'SELECT 1'), qr/token expired|refused/,
    'an expired token: refused');

# all of it in the trail, the sessions ended
wait_until(sub {
    my $all = join '', map { $_->[1][5] } @{ $redis->command('XRANGE',
        'hoop:audit', '-', '+') };
    my $pg_ends = () = $all =~ /"type":"pg\.session\.end"/g;
    my $http_ends = () = $all =~ /"type":"http\.session\.end"/g;
    $pg_ends >= 2 && $http_ends >= 7;
}, 'every session ended in the trail');

my $report = "$repo/tools/hoop-audit report --redis ${\ $redis->addr}"
    . " --public-key $d/seal.pub";
my $md = `$report`;
is($? >> 8, 0, 'report: Markdown');
like($md, qr/^Trail verification: \*\*intact\*\*, checkpoints signed by key `\Q$key_id\E`/m,
    'headed by the verification, with the key the auditor holds')
    or diag $md;
for my $c ('5.15 Access control', '5.18 Access rights',
    '8.2 Privileged access rights', '8.5 Secure authentication',
    '8.11 Data masking', '8.15 Logging', '8.16 Monitoring activities',
    '8.32 Change management')
{
    like($md, qr/^## \Q$c\E$/m, "control $c");
}
my $section = sub {
    my ($id) = @_;
    my ($s) = $md =~ /^## \Q$id\E .*?\n(.*?)(?=^## |\z)/ms;
    return $s // '';
};
like($section->('5.15'), qr/\| denied \| 4 \|/,
    '5.15: denials counted (the DELETE, the 401, the rejected deploy, the DDL)')
    or diag $section->('5.15');
like($section->('5.15'), qr/DELETE \/api\/customers\/1 -> 403 denied to agent-7 by default, session \w{12}/,
    'with an example naming the session');
like($section->('5.18'), qr/\| agent-7 \| \d+ session\(s\), \d+ operation\(s\), 3 denied; groups dev \|/,
    '5.18: each identity with its groups');
like($section->('8.2'), qr/denied: SQL ddl: CREATE TABLE t_report \(x int\) by agent-7 \(no-ddl\)/,
    '8.2: the denied DDL statement, with its rule');
like($section->('8.5'), qr/\| refused logins and 401s \| 2 \|/,
    '8.5: the expired token and the 401') or diag $section->('8.5');
like($section->('8.5'), qr/Postgres login refused: token expired/,
    'with the reason');
like($section->('8.11'), qr/\| by type \| email 2 \|/,
    '8.11: masked by type (the read, the approved deploy)')
    or diag $md;
like($section->('8.15'), qr/\| verification \| intact \|/, '8.15: intact');
like($section->('8.32'), qr/\| outcomes \| approved 1, rejected 1 \|/,
    '8.32: the outcomes of the reviews') or diag $section->('8.32');
like($section->('8.32'), qr/sre-1 approve review \w+: approved \("approve: change 42"\)/,
    'who approved, and why');
like($section->('8.32'), qr/POST \/api\/deploy -> 403: review \w+ rejected/,
    'the rejection as an exception');
unlike($md, qr/ada\@example\.com/, 'no unmasked value in the report');

# the HTML page, rendered by Chromium
my $html = "$d/report.html";
system("$report --format html --output $html") == 0
    or die "report --format html failed\n";
my $page = slurp($html);
unlike($page, qr/<script|src=|href=/i,
    'one self-contained page: no script, nothing fetched');
my @chrome = ($chromium, '--headless=new', '--no-sandbox', '--disable-gpu',
    '--disable-dev-shm-usage', "--user-data-dir=$d/chromium");
my $dom = `@chrome --dump-dom file://$html 2>/dev/null`;
like($dom, qr/<span class="verdict ok" id="verdict">Trail verified intact<\/span>/,
    'Chromium renders the verdict');
is(scalar(() = $dom =~ /<section id="control-/g), 8,
    'and the eight controls');
my $png = "$d/report.png";
system("@chrome --window-size=1100,2400 --screenshot=$png file://$html"
    . ' >/dev/null 2>&1');
my $head = -s $png ? substr(slurp($png), 0, 24) : '';
my ($w, $h) = length $head == 24 ? unpack('N2', substr($head, 16, 8))
    : (0, 0);
is("${w}x$h", '1100x2400', 'and takes a screenshot of it');
diag "screenshot: $png" if $ENV{HOOP_KEEP};

$t->stop;

done_testing();

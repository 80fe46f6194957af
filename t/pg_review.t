# hoop_rule review on Postgres statements: the statement is held, unsent,
# and the client told so with a NoticeResponse naming the review; other
# sessions go on; a reviewer's approval through the HTTP reviewer API
# runs it, a rejection, an expiry, or the client's own CancelRequest ends
# it with an ErrorResponse saying why; a grant= approval lets the same
# agent's later statements of that rule through; all of it audited.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use DBI;
use DBD::Pg qw(:async);
use HTTP::Tiny;
use JSON::PP;
use Hoop::JWT;
use Hoop::Test qw(spit wait_until);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;
use Hoop::Test::Redis;

my $redis = Hoop::Test::Redis->new->start;
my $pg = Hoop::Test::Pg->new->start;
$pg->psql(q{CREATE TABLE payments (id int PRIMARY KEY, amount int,
        note text);
    INSERT INTO payments VALUES (1, 100), (2, 200), (3, 300);
    CREATE TABLE scratch (id int)});

my $t = Hoop::Test::Nginx->new(workers => 2);
my $d = $t->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));

my $common = <<"EOF";
    hoop_redis 127.0.0.1:${\ $redis->port};
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file $d/jwks.json;
    hoop_audit_stream hoop:audit;
EOF

$t->run(<<"EOF");
http {
$common
    server {
        listen 127.0.0.1:%%PORT_http%%;
        location /hoop/ {
            hoop_auth on;
            hoop_review_api;
        }
    }
}
stream {
$common
    hoop_pg_require_tls off;    # loopback: see pg_tls.t

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
        hoop_rule review sql.delete name=deletes approvers=dba grant=1m;
        hoop_rule review sql.write table=payments name=payments approvers=dba;
        hoop_rule review sql.insert table=scratch name=scratch approvers=dba
                  timeout=1s;
        hoop_rule allow sql.read;
        hoop_mask column=note;
        hoop_mask detect=phone;
    }
}
EOF
$t->wait_redis(4);
my $port = $t->port('pg');
my $api = 'http://127.0.0.1:' . $t->port('http') . '/hoop/reviews';

sub token {
    my ($sub, @groups) = @_;
    return $key->mint(claims => { iss => 'https://idp.test',
        aud => 'hoop-gateway', sub => $sub, groups => \@groups,
        exp => time + 600 });
}
my %tok = (agent => token('agent-7', 'dev'), dba => token('dba-1', 'dba'));

my $http = HTTP::Tiny->new;
sub api {
    my ($method, $path, $body) = @_;
    my $r = $http->request($method, "$api$path", {
        headers => { Authorization => "Bearer $tok{dba}",
                     'Content-Type' => 'application/json' },
        defined $body ? (content => encode_json($body)) : () });
    return eval { decode_json($r->{content}) };
}
sub pending {
    my ($rule) = @_;
    my $review;
    wait_until(sub {
        ($review) = grep { $_->{rule} eq $rule } @{ api('GET', '?status=pending') // [] };
        $review;
    }, "a pending review by rule $rule");
    return $review;
}

# psql in the background; its output once it ends
sub psql_bg {
    my ($sql) = @_;
    local $ENV{PGPASSWORD} = $tok{agent};
    open my $fh, '-|', "psql -X -At -h 127.0.0.1 -p $port -U postgres"
        . " -d postgres -v VERBOSITY=verbose -c \"$sql\" 2>&1" or die;
    return $fh;
}
sub finish { my ($fh) = @_; local $/; my $out = <$fh>; close $fh; $out }

# approval

my $held = psql_bg('UPDATE payments SET amount = 150 WHERE id = 1');
my $review = pending('payments');
is($review->{operation}{kind}, 'pg.query', 'the review names a statement');
is($review->{operation}{sql}, 'UPDATE payments SET amount = 150 WHERE id = 1',
    'with its SQL as sent: the reviewer sees which row and what value');
is($pg->psql('SELECT amount FROM payments WHERE id = 1'), 100,
    'held: nothing reached the server');

my $dbh = DBI->connect("dbi:Pg:host=127.0.0.1;port=$port;dbname=postgres",
    'postgres', $tok{agent}, { RaiseError => 0, PrintError => 0,
    PrintWarn => 0 });
is($dbh->selectrow_array('SELECT sum(amount) FROM payments'), 600,
    'another session is not blocked meanwhile');

my $res = api('POST', "/$review->{id}/approve");
is($res->{result}, 'approved', 'a dba approves');
my $out = finish($held);
like($out, qr/NOTICE:  00000: hoop: statement held for approval, review $review->{id}/,
    'the client was told it waits, with the review id');
like($out, qr/^UPDATE 1$/m, 'approved: the statement ran');
is($pg->psql('SELECT amount FROM payments WHERE id = 1'), 150,
    'and its change is in the database');

# what masking protects, a reviewer does not see either: a literal bound
# to a masked column, a value a detector finds (here in a comment)

$held = psql_bg(q{UPDATE payments SET note = 'owes us', amount = 175 }
    . q{WHERE id = 3 /* caller (415) 555-2671 */});
$review = pending('payments');
is($review->{operation}{sql}, q{UPDATE payments SET note = '[MASKED]', }
    . q{amount = 175 WHERE id = 3 /* caller [PHONE] */},
    'a held statement: the masked column\'s value and the phone number'
    . ' masked, the row and the amount shown');
api('POST', "/$review->{id}/reject", { reason => 'no' });
finish($held);
my @trail = map { decode_json({ @{ $_->[1] } }->{event}) }
    @{ $redis->command('XRANGE', 'hoop:audit', '-', '+') };
my ($ev) = grep { $_->{type} eq 'review.requested'
    && $_->{review}{id} eq $review->{id} } @trail;
ok($ev, 'the hold is in the trail');
# (the amount as the statement wrote it: ids, hashes and times may hold
# the digits 175 by chance)
unlike(encode_json(\@trail), qr/owes us|555-2671|= 175\b/,
    'which keeps no literal of the statement');

# rejection

$held = psql_bg('UPDATE payments SET amount = 0');
$review = pending('payments');
api('POST', "/$review->{id}/reject", { reason => 'not on a Friday' });
$out = finish($held);
like($out, qr/ERROR:  42501: hoop: statement rejected in review $review->{id} by dba-1: not on a Friday/,
    'rejected: ERROR 42501 with the reviewer and the reason');
is($pg->psql('SELECT count(*) FROM payments WHERE amount = 0'), 0,
    'nothing ran');

# expiry (timeout=1s)

$out = finish(psql_bg('INSERT INTO scratch VALUES (1)'));
like($out, qr/ERROR:  57014: hoop: statement not approved in time \(review \w+ expired\)/,
    'no decision in time: ERROR 57014');

# the client gives up: its CancelRequest ends the hold, on any worker

$dbh->do('UPDATE payments SET amount = 1 WHERE id = 2', { pg_async => PG_ASYNC });
$review = pending('payments');
ok($dbh->pg_cancel, 'CancelRequest during the hold');
is($dbh->state, '57014', 'the statement ends with 57014');
wait_until(sub { (api('GET', "/$review->{id}") // {})->{status} eq 'cancelled' },
    'the review to be cancelled');
pass('and the review is cancelled for the reviewers too');
is($dbh->selectrow_array('SELECT 1'), 1, 'the session goes on');

# the extended protocol, and a just-in-time grant

open my $child, '-|', $^X, '-MDBI', '-e', q{
    my ($port, $tok) = @ARGV;
    my $c = DBI->connect("dbi:Pg:host=127.0.0.1;port=$port;dbname=postgres",
        'postgres', $tok, { RaiseError => 0, PrintError => 0,
        pg_server_prepare => 1 });
    print $c->do('DELETE FROM payments WHERE id = ?', undef, 3) // 'undef';
}, $port, $tok{agent} or die;
$review = pending('deletes');
api('POST', "/$review->{id}/approve");
is(finish($child), 1, 'extended protocol: held at Parse, approved, run');
my $n = $dbh->do('DELETE FROM payments WHERE id = 2');
is($n, 1, 'the approval granted deletes for a minute: the next one runs'
    . ' without a review') or diag($dbh->errstr, join "\n",
    grep { /hoop pg|review/ && !/debug/ } split /\n/, $t->error_log);
$dbh->disconnect;

# an approval is for one run: a prepared statement executed again is
# held again (a reviewer approved one UPDATE, not a loop of them)

open $child, '-|', $^X, '-MDBI', '-e', q{
    $| = 1;
    my ($port, $tok) = @ARGV;
    my $c = DBI->connect("dbi:Pg:host=127.0.0.1;port=$port;dbname=postgres",
        'postgres', $tok, { RaiseError => 0, PrintError => 0,
        PrintWarn => 0, pg_server_prepare => 1,
        pg_switch_prepared => 1 });    # a named statement from the first run
    my $sth = $c->prepare('UPDATE payments SET amount = amount + ? WHERE id = 1');
    for my $run (1, 2) {
        my $n = $sth->execute(5);
        print "run $run: ", $n // $c->errstr, "\n";
    }
}, $port, $tok{agent} or die;
$review = pending('payments');
api('POST', "/$review->{id}/approve");
my $again = pending('payments');
isnt($again->{id}, $review->{id},
    'the same prepared UPDATE executed again: held for a new review');
api('POST', "/$again->{id}/reject", { reason => 'once was enough' });
$out = finish($child);
like($out, qr/^run 1: 1$/m, '  the approved run ran');
like($out, qr/^run 2: .*rejected in review $again->{id} by dba-1: once was enough/m,
    '  the second run: rejected, not run under the first approval')
    or diag $out;
is($pg->psql('SELECT amount FROM payments WHERE id = 1'), 155,
    '  PostgreSQL saw one UPDATE');

# the evidence

my @ev;
wait_until(sub {
    @ev = map { decode_json({ @{ $_->[1] } }->{event}) }
        @{ $redis->command('XRANGE', 'hoop:audit', '-', '+') // [] };
    grep { $_->{type} eq 'pg.query' && $_->{decision}{grant} } @ev;
}, 'the events');
my @req = grep { $_->{type} eq 'review.requested' && $_->{client}{protocol} eq 'postgresql' } @ev;
ok(@req >= 4, 'each hold is a review.requested event in the session');
my ($ran) = grep { $_->{type} eq 'pg.query'
    && ($_->{decision}{review}{status} // '') eq 'approved' } @ev;
ok($ran && $ran->{result}{ran}, 'the approved statement: decision.review'
    . ' approved, and it ran');
my ($rej) = grep { $_->{type} eq 'pg.query'
    && ($_->{decision}{review}{status} // '') eq 'rejected' } @ev;
is($rej->{decision}{result}, 'deny', 'the rejected one: denied');
my ($cancel) = grep { $_->{type} eq 'pg.query'
    && ($_->{decision}{review}{status} // '') eq 'cancelled' } @ev;
is($cancel->{result}{sqlstate}, '57014',
    'the cancelled one: 57014, decision.review cancelled');
my ($granted) = grep { $_->{type} eq 'pg.query' && $_->{decision}{grant} } @ev;
is($granted->{decision}{grant}{status}, 'granted',
    'the granted one names the grant');

$t->stop;
done_testing;

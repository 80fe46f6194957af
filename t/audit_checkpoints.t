# Checkpoints make the trail's completeness provable with the public key
# alone.  Two gateways share one Redis stream, each serving HTTP and
# Postgres; one is reloaded midway.  Every worker seals what it wrote
# (hoop_audit_checkpoint 1s) with an Ed25519 key; hoop-audit verify, given
# only the public key, accepts the untampered trail, and names each way of
# tampering with it: a forged redelivery, the tail of a session deleted, a
# whole session deleted, the oldest events deleted, a reordering, a
# checkpoint deleted, forged or stripped of its signature, events added
# after a session's end or as a session of their own, the newest part of
# an instance's trail deleted.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use HTTP::Tiny;
use JSON::PP;
use Digest::SHA qw(sha256_hex);
use Hoop::JWT;
use Hoop::Test qw(repo_dir spit slurp wait_until seal_key);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;
use Hoop::Test::Redis;

my $repo = repo_dir();
my $redis = Hoop::Test::Redis->new->start;
my $pg = Hoop::Test::Pg->new->start;
my @gw = map { Hoop::Test::Nginx->new(workers => 2) } 1, 2;
my $d = $gw[0]->dir;

my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));

# the gateway's signing key; auditors get the public half only
my $key_id = seal_key($d);

sub conf {
    my ($name) = @_;
    my $common = <<"EOF";
    hoop_redis 127.0.0.1:${\ $redis->port} timeout=1s;
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file $d/jwks.json;
    hoop_audit_signing_key $d/seal.pem;
    hoop_audit_checkpoint 1s;
    hoop_gateway_name $name;
EOF
    return <<"EOF";
http {
$common
    server {
        listen 127.0.0.1:%%PORT_http%%;
        hoop_audit on;
        location /api/ {
            hoop_auth on;
            proxy_pass http://127.0.0.1:%%PORT_backend%%;
        }
    }
    server {
        listen 127.0.0.1:%%PORT_backend%%;
        return 200 "ok\\n";
    }
}
stream {
$common
    hoop_pg_require_tls off;
    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_audit on;
    }
}
EOF
}

$gw[0]->run(conf('gw-a'));
$gw[1]->run(conf('gw-b'));
$_->wait_redis(4) for @gw;

my $token = $key->mint(claims => { iss => 'https://idp.test',
    aud => 'hoop-gateway', sub => 'agent-7', groups => ['dba'],
    exp => time + 600 });

sub http_session {
    my ($g, $n) = @_;
    my $http = HTTP::Tiny->new(keep_alive => 1);
    my $base = 'http://127.0.0.1:' . $g->port('http');
    my @s = map { $http->get("$base/api/item/$_",
        { headers => { Authorization => "Bearer $token" } })->{status} }
        1 .. $n;
    return join ',', @s;
}

sub psql {
    my ($g, $sql) = @_;
    local $ENV{PGPASSWORD} = $token;
    my $port = $g->port('pg');
    return scalar `psql -X -At -h 127.0.0.1 -p $port -U postgres -d postgres -c "$sql" 2>&1`;
}

sub events {
    return map { { id => $_->[0], @{ $_->[1] } } }
        @{ $redis->command('XRANGE', 'hoop:audit', '-', '+') // [] };
}

sub verify {
    my (@args) = @_;
    my $out = `$repo/tools/hoop-audit verify @args 2>&1`;
    return ($? >> 8, $out);
}

my $live = '--redis ' . $redis->addr;

is(http_session($gw[0], 3), '200,200,200', 'gw-a: HTTP requests');
is(psql($gw[0], 'SELECT 1'), "1\n", 'gw-a: a Postgres session');
is(http_session($gw[1], 2), '200,200', 'gw-b: HTTP requests');
is(psql($gw[1], 'SELECT 2'), "2\n", 'gw-b: a Postgres session');

# a reload: the old workers seal as they exit, the new ones take over;
# before it, each of gw-a's four (two workers, HTTP and stream) has sealed
# once on its timer
wait_until(sub {
    my %n = map { $_->{instance} => 1 } grep { $_->{gateway} eq 'gw-a'
        && $_->{type} eq 'audit.checkpoint' } map { decode_json($_->{event}) }
        events();
    keys %n >= 4;
}, 'gw-a\'s periodic checkpoints');
kill 'HUP', $gw[0]->pid;
wait_until(sub { grep { ($_->{event} =~ /"final":true/) } events() },
    'the old workers\' final checkpoints');
is(http_session($gw[0], 1), '200', 'gw-a after the reload');
is(psql($gw[0], 'SELECT 3'), "3\n", 'and Postgres');

# every session written so far sealed by a later checkpoint of its worker
my @all = events();
my %want = map { decode_json($_->{event})->{instance} => 1 } @all;
wait_until(sub {
    my %sealed;
    for my $e (events()) {
        my $ev = decode_json($e->{event});
        next unless $ev->{type} eq 'audit.checkpoint';
        $sealed{ $_->{id} } = 1 for @{ $ev->{checkpoint}{sessions} };
    }
    !grep { !$sealed{ $_->{session} } && $_->{event} !~ /audit\.checkpoint/ }
        @all;
}, 'every event sealed');

my ($rc, $out) = verify($live, '--public-key', "$d/seal.pub");
is($rc, 0, 'the live trail verifies with the public key alone') or diag $out;
like($out, qr/^ok: \d+ events in \d+ sessions, every chain intact/m,
    'every chain intact');
like($out, qr/checkpoints of \d+ gateway instances, every sealed event present, signed by key \Q$key_id\E/,
    'every checkpoint signed by the key the auditor holds');

my @ev = map { decode_json($_->{event}) } events();
my %gateways = map { $_->{gateway} => 1 } @ev;
is_deeply([sort keys %gateways], ['gw-a', 'gw-b'],
    'events say which gateway (hoop_gateway_name)');
my %inst = map { $_->{instance} => 1 } @ev;
cmp_ok(scalar keys %inst, '>=', 6,
    'and which instance: each worker of each generation its own');
my @ends = grep { $_->{type} eq 'http.session.end' } @ev;
cmp_ok(scalar @ends, '>=', 3, 'HTTP sessions end with http.session.end');
is($ends[0]{session_end}{requests}, 3, 'which counts their requests');

# the auditor's other commands, on the same live trail

my $sessions = decode_json(scalar `$repo/tools/hoop-audit sessions $live --json`);
my @pg = grep { $_->{kind} eq 'postgres' } @$sessions;
my @web = grep { $_->{kind} eq 'http' } @$sessions;
is(scalar @pg, 3, 'sessions: the three Postgres sessions');
cmp_ok(scalar @web, '>=', 3, 'and the HTTP ones');
is_deeply([map { $_->{identity} } @pg], [('agent-7') x 3],
    'each with its identity');
is($web[0]{operations}, 3, 'the first HTTP session: its three requests');
ok($web[0]{ended}, 'and it ended');
my $b_pg = decode_json(scalar
    `$repo/tools/hoop-audit sessions $live --gateway gw-b --kind postgres --json`);
is(scalar @$b_pg, 1, 'filtered by gateway and kind');
my $none = decode_json(scalar
    `$repo/tools/hoop-audit sessions $live --identity someone-else --json`);
is(scalar @$none, 0, 'and by identity');

my $show = `$repo/tools/hoop-audit show ${\ substr($pg[1]{session}, 0, 10)} $live`;
like($show, qr/^session $pg[1]{session} \(postgres\) on gw-b/,
    'show: a session found by the start of its id');
like($show, qr/#1 .* pg\.login .*login to database postgres as postgres/,
    'its login');
like($show, qr/#2 .* pg\.query .*allow by default \[read\] SELECT \$1\n\s+1 rows/,
    'its statement, decision and rows');
like($show, qr/#3 .* pg\.session\.end .*reason client_closed/, 'its end');

unlink "$d/cursor";
my $part1 = `$repo/tools/hoop-audit export $live --cursor $d/cursor 2>/dev/null`;
is(http_session($gw[1], 1), '200', 'one more request');
wait_until(sub { grep { $_->{event} =~ /http\.session\.end/
    && $_->{id} gt slurp("$d/cursor") } events() }, 'its events');
my $part2 = `$repo/tools/hoop-audit export $live --cursor $d/cursor 2>/dev/null`;
ok(length $part2 && index($part1, (split /\n/, $part2)[0]) < 0,
    'export resumes after its cursor: nothing twice');
spit("$d/exported.jsonl", $part1 . $part2);
my ($xrc, $xout) = verify('--file', "$d/exported.jsonl", '--public-key',
    "$d/seal.pub");
is($xrc, 0, 'the two exports together verify') or diag $xout;

# tampering, on exports of the trail; the newest entry is 6 intervals
# after the old workers' final checkpoints, so that an instance that
# stops sealing shows
my @final = grep { $_->{type} eq 'audit.checkpoint'
    && $_->{checkpoint}{final} } @ev;
my $newest = sub {
    my ($e) = (events())[-1];
    return decode_json($e->{event})->{time};
};
my $final_ms = ms($final[-1]{time});
wait_until(sub { ms($newest->()) > $final_ms + 6000 },
    'six more intervals of checkpoints');

sub ms {
    my ($t) = @_;
    require Time::Local;
    my @p = $t =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)\.(\d+)Z/;
    return Time::Local::timegm(@p[5, 4, 3, 2], $p[1] - 1, $p[0]) * 1000
        + $p[6];
}

($rc, $out) = verify($live, '--public-key', "$d/seal.pub", '--export',
    "$d/trail.jsonl");
is($rc, 0, 'the trail, exported, verifies') or diag $out;
my @lines = map { decode_json($_) } split /\n/, slurp("$d/trail.jsonl");
my @evs = map { decode_json($_->{event}) } @lines;

my $json = JSON::PP->new->canonical;

# what someone who rewrites the stream gets: entries in the order given,
# with ids that grow, as Redis assigns them
sub restored {
    my @out;
    my ($ms, $n) = (0, 0);
    for my $e (@_) {
        my ($m, $k) = $e->{id} =~ /^(\d+)-(\d+)$/;
        ($m, $k) = ($ms, $n + 1) if $m < $ms || ($m == $ms && $k <= $n);
        ($ms, $n) = ($m, $k);
        push @out, { %$e, id => "$m-$k" };
    }
    return @out;
}

sub tampered {
    my ($name, @entries) = @_;
    spit("$d/$name.jsonl", join '', map { $json->encode($_) . "\n" }
        restored(@entries));
    return verify('--file', "$d/$name.jsonl", '--public-key',
        "$d/seal.pub");
}
sub rechain {
    my ($e, $ev) = @_;
    $e = { %$e, event => $json->encode($ev) };
    $e->{hash} = sha256_hex("$e->{prev}\n$e->{event}");
    return $e;
}
my $idx = sub {
    my ($pred) = @_;
    return grep { $pred->($evs[$_]) } 0 .. $#evs;
};

($rc, $out) = tampered('intact', @lines);
is($rc, 0, 'the export verifies from the file') or diag $out;

# 1. a forged redelivery: same place, same hash, another statement
my ($q) = $idx->(sub { $_[0]{type} eq 'pg.query' });
my $forged = { %{ $lines[$q] } };
$forged->{event} =~ s/SELECT \$1/DROP TABLE customers/;
($rc, $out) = tampered('redelivery', @lines[0 .. $#lines], $forged);
is($rc, 1, 'a forged redelivery is refused');
like($out, qr/recorded twice with different content: one of the two was forged/,
    'as a forgery, not as a copy') or diag $out;
($rc, $out) = tampered('copy', @lines, $lines[$q]);
is($rc, 0, 'a byte-identical redelivery is accepted') or diag $out;
like($out, qr/\(1 delivered twice\)/, 'and counted');

# 2. a session's tail: its last statement and its end
my @pgs = $idx->(sub { $_[0]{session} eq $evs[$q]{session} });
($rc, $out) = tampered('tail', @lines[grep { $_ != $pgs[-1]
    && $_ != $pgs[-2] } 0 .. $#lines]);
is($rc, 1, 'the tail of a session deleted: detected');
like($out, qr/session \w+: events 2\.\.3, sealed by checkpoint \d+ of instance .*gw-[ab], stream.*are missing: deleted/,
    'naming the events and the checkpoint that sealed them') or diag $out;

# 3. a whole HTTP session
my ($h) = $idx->(sub { $_[0]{type} eq 'http.session.end' });
my %gone = map { $_ => 1 } $idx->(sub { $_[0]{session} eq $evs[$h]{session} });
($rc, $out) = tampered('session', @lines[grep { !$gone{$_} } 0 .. $#lines]);
is($rc, 1, 'a whole session deleted: detected');
like($out, qr/session \w+: events 1\.\.\d+, sealed by checkpoint/,
    'every one of its events named') or diag $out;

# 4. the oldest events
($rc, $out) = tampered('oldest', @lines[3 .. $#lines]);
is($rc, 1, 'the oldest events deleted: detected');
like($out, qr/are missing: deleted|no checkpoint of it comes before it/,
    'as deleted') or diag $out;
($rc, $out) = verify('--file', "$d/oldest.jsonl", '--public-key',
    "$d/seal.pub", '--window');
is($rc, 0, '--window: the same, declared trimmed by retention, passes')
    or diag $out;
like($out, qr/trimmed by retention: [1-9]\d* events/, 'and says so');

# 5. a reordering inside a session
my @hs = $idx->(sub { $_[0]{session} eq $evs[$h]{session} });
my @re = @lines;
@re[$hs[0], $hs[1]] = @re[$hs[1], $hs[0]];
($rc, $out) = tampered('reorder', @re);
is($rc, 1, 'a reordering: detected');
like($out, qr/event 1 is stored after event 2: the trail's order was changed/,
    'as a reordering, not as a deletion') or diag $out;

# 6. a checkpoint: deleted, forged, unsigned
my @cps = $idx->(sub { $_[0]{type} eq 'audit.checkpoint'
    && @{ $_[0]{checkpoint}{sessions} } });
($rc, $out) = tampered('no-checkpoint', @lines[grep { $_ != $cps[0] }
    0 .. $#lines]);
is($rc, 1, 'a checkpoint deleted: detected');
like($out, qr/checkpoint\(s\) \d+\.\.\d+ are missing: deleted|none of its checkpoints is in the trail|its checkpoint \d+, which checkpoint \d+ of instance \w+ .* saw, is missing: deleted/,
    'named') or diag $out;

my $cp = { %{ $evs[$cps[0]] } };
$cp->{checkpoint} = { %{ $cp->{checkpoint} }, sessions => [] };
my @f = @lines;
$f[$cps[0]] = rechain($lines[$cps[0]], $cp);
($rc, $out) = tampered('forged-checkpoint', @f);
is($rc, 1, 'a forged checkpoint: detected');
like($out, qr/signature that does not verify/, 'by its signature')
    or diag $out;

@f = @lines;
$f[$cps[0]] = { %{ $lines[$cps[0]] } };
delete $f[$cps[0]]{sig};
($rc, $out) = tampered('unsigned', @f);
is($rc, 1, 'a checkpoint without its signature: detected');
like($out, qr/is not signed/, 'as unsigned') or diag $out;

# 7. an event added after a session's end, chained properly
my ($end) = $idx->(sub { $_[0]{type} eq 'pg.session.end' });
my $after = { %{ $evs[$end] }, seq => $evs[$end]{seq} + 1,
    type => 'pg.query' };
my $added = rechain({ %{ $lines[$end] }, seq => $after->{seq},
    prev => $lines[$end]{hash} }, $after);
($rc, $out) = tampered('after-end', @lines, $added);
is($rc, 1, 'an event added after a session ended: detected');
like($out, qr/has events after its end|which wrote its final checkpoint before it: it was added/,
    'as added') or diag $out;

# 8. a whole forged session, before checkpoints that do not seal it
my $fake = { %{ $evs[$h] }, session => 'f' x 32, seq => 1 };
my $fline = rechain({ id => '0-1', session => 'f' x 32, seq => 1,
    prev => '0' x 64 }, $fake);
($rc, $out) = tampered('forged-session', @lines[0 .. 2], $fline,
    @lines[3 .. $#lines]);
is($rc, 1, 'a forged session: detected');
like($out, qr/no checkpoint seals it: it was added/, 'as added')
    or diag $out;

# 9. the newest part of an instance's trail: its final checkpoint
my ($fin) = $idx->(sub { $_[0]{type} eq 'audit.checkpoint'
    && $_[0]{checkpoint}{final} && $_[0]{seq} > 1 });
($rc, $out) = tampered('stopped', @lines[grep { $_ != $fin } 0 .. $#lines]);
is($rc, 1, 'an instance\'s final checkpoint deleted: detected');
like($out, qr/stopped sealing after checkpoint \d+ .* without a final one/,
    'it stopped sealing, as far as the trail shows') or diag $out;

# 10. what an attacker tried next (an adversarial review of the above)

my $forge = sub {
    my (%f) = @_;
    my $ev = { %{ $evs[$h] }, session => $f{session} // 'e' x 32, seq => 1,
        %{ $f{set} // {} } };
    delete $ev->{$_} for @{ $f{drop} // [] };
    return rechain({ id => '0-0', session => $ev->{session}, seq => 1,
        prev => '0' x 64 }, $ev);
};
my $mid = int(@lines / 2);
my %finished = map { $_->{instance} => 1 } grep {
    $_->{type} eq 'audit.checkpoint' && $_->{checkpoint}{final} } @evs;

($rc, $out) = tampered('no-instance', @lines[0 .. $mid],
    $forge->(drop => ['instance']), @lines[$mid + 1 .. $#lines]);
like($out, qr/names no gateway instance, so no checkpoint can seal it/,
    'an event without an instance, after checkpoints: added') or diag $out;

my ($final_cp) = $idx->(sub { $_[0]{type} eq 'audit.checkpoint'
    && $_[0]{checkpoint}{final} });
($rc, $out) = tampered('after-final', @lines,
    $forge->(set => { instance => $evs[$final_cp]{instance} }));
like($out, qr/which wrote its final checkpoint before it: it was added/,
    'a session of an instance after its final checkpoint: added')
    or diag $out;

my $note = { %{ $evs[$final_cp] }, seq => $evs[$final_cp]{seq} + 1,
    type => 'audit.note' };
($rc, $out) = tampered('chain-extended', @lines, rechain({
    %{ $lines[$final_cp] }, seq => $note->{seq},
    prev => $lines[$final_cp]{hash} }, $note));
like($out, qr/is in the checkpoint chain of instance \w+ but is not a checkpoint: forged/,
    'a non-checkpoint entry on a checkpoint chain: forged') or diag $out;

($rc, $out) = tampered('future', @lines, $forge->(set => {
    instance => 'd' x 32, time => '2099-01-01T00:00:00.000Z' }));
like($out, qr/is dated 2099-01-01T00:00:00\.000Z, after Redis stored it/,
    'an event dated after it was stored: forged') or diag $out;
($rc, $out) = tampered('no-time', @lines, $forge->(set => {
    instance => 'd' x 32, time => 'whenever' }));
like($out, qr/has no valid time/, 'an event without a valid time')
    or diag $out;

spit("$d/falsy.jsonl", join '', map { "$_\n" } (map { $json->encode($_) }
    @lines[0 .. 5]), '0', map { $json->encode($_) } @lines[6 .. $#lines]);
($rc, $out) = verify('--file', "$d/falsy.jsonl", '--public-key',
    "$d/seal.pub");
like($out, qr/line 7: this line of the export is not a JSON object/,
    'a line "0" is damage, not the end of the export') or diag $out;
spit("$d/empty.jsonl", '');
($rc, $out) = verify('--file', "$d/empty.jsonl", '--public-key',
    "$d/seal.pub");
is($rc, 1, 'an empty trail is not intact');
like($out, qr/it is empty/, 'it is empty') or diag $out;
($rc, $out) = tampered('no-checkpoints', @lines[$idx->(sub {
    $_[0]{type} ne 'audit.checkpoint' })]);
like($out, qr/no checkpoint signed with the given key is in it/,
    'every checkpoint deleted, the key given: not intact') or diag $out;

# --window does not excuse what is not the oldest part: the first
# checkpoint of a later instance, with the trail's start kept
my ($late) = map { $_->{instance} } grep { $_->{type} eq 'audit.checkpoint'
    && $_->{seq} == 5 && $_->{gateway} eq 'gw-a'
    && $_->{time} gt $evs[$final_cp]{time} } @evs;
($rc, $out) = tampered('middle', @lines[$idx->(sub {
    !($_[0]{type} eq 'audit.checkpoint' && $_[0]{instance} eq $late
      && $_[0]{seq} <= 4) })]);
($rc, $out) = verify('--file', "$d/middle.jsonl", '--public-key',
    "$d/seal.pub", '--window', '--all');
like($out, qr/checkpoint\(s\) 1\.\.4 are missing, and the trail keeps entries older than them: deleted, not trimmed/,
    '--window: a checkpoint missing in the middle is deleted, not trimmed')
    or diag $out;

# entries of another instance put in between: their ids go back
spit("$d/replayed.jsonl", join '', map { $json->encode($_) . "\n" }
    @lines[0 .. $mid], $lines[2], @lines[$mid + 1 .. $#lines]);
($rc, $out) = verify('--file', "$d/replayed.jsonl", '--public-key',
    "$d/seal.pub");
like($out, qr/is stored after entry [\d-]+, which Redis cannot do/,
    'entries put back in between: their ids go back') or diag $out;

# a generation of workers deleted whole: the workers after the reload
# name the old ones' final checkpoints (shared memory survives a reload)
($rc, $out) = tampered('no-generation', @lines[$idx->(sub {
    !$finished{ $_[0]{instance} } })]);
is($rc, 1, 'a generation of workers deleted whole: detected');
like($out, qr/instance \w+: its checkpoint \d+, which checkpoint \d+ of instance \w+ \(gw-a, \w+, pid \d+\) saw, is missing: deleted from the trail, with every entry of that instance/,
    'named by the checkpoints of the workers that saw it') or diag $out;

# a checkpoint the gateway lost (Redis refused it, no spool): the next
# one restates it, signed, and that is not a deletion
{
    require Crypt::PK::Ed25519;
    my $sk = Crypt::PK::Ed25519->new("$d/seal.pem");
    # the newest checkpoint of the trail restates the one before it (no
    # peer has seen the newest yet, so its hash is its own to choose)
    my %seen = map { ("$_->{instance}/$_->{seq}" => 1) }
        map { @{ $_->{checkpoint}{peers} // [] } }
        grep { $_->{type} eq 'audit.checkpoint' } @evs;
    my ($next) = reverse grep { $evs[$_]{type} eq 'audit.checkpoint'
        && $evs[$_]{seq} > 1 && !$seen{"$evs[$_]{instance}/$evs[$_]{seq}"} }
        0 .. $#evs;
    my ($k) = grep { $evs[$_]{type} eq 'audit.checkpoint'
        && $evs[$_]{instance} eq $evs[$next]{instance}
        && $evs[$_]{seq} == $evs[$next]{seq} - 1 } 0 .. $#evs;
    my $cp = { %{ $evs[$next] } };
    $cp->{checkpoint} = { %{ $cp->{checkpoint} },
        restates => $evs[$k]{seq},
        sessions => [ @{ $evs[$k]{checkpoint}{sessions} },
                      @{ $cp->{checkpoint}{sessions} } ] };
    my $line = rechain($lines[$next], $cp);
    $line->{sig} = unpack 'H*', $sk->sign_message($line->{hash});
    my @l = @lines;
    $l[$next] = $line;
    ($rc, $out) = tampered('restated', @l[grep { $_ != $k } 0 .. $#l]);
    is($rc, 0, 'a lost checkpoint, restated by the next: intact') or diag $out;
    like($out, qr/1 checkpoints lost by the gateway \(Redis refused them\), restated by the next/,
        'and said');
    ($rc, $out) = tampered('not-restated', @lines[grep { $_ != $k }
        0 .. $#lines]);
    is($rc, 1, 'the same checkpoint deleted, nothing restating it: detected');
}

# a gateway deleted whole leaves no gap: the auditor names the gateways
($rc, $out) = tampered('no-gw-b', @lines[$idx->(sub {
    $_[0]{gateway} ne 'gw-b' })]);
is($rc, 0, 'a gateway deleted whole leaves nothing else to see');
($rc, $out) = verify('--file', "$d/no-gw-b.jsonl", '--public-key',
    "$d/seal.pub", '--expect-gateway', 'gw-a', '--expect-gateway', 'gw-b');
like($out, qr/gateway gw-b has no checkpoint in it: its part of the trail is gone/,
    '--expect-gateway: the missing gateway is named') or diag $out;

# an export cut short, judged as of when it was taken
($rc, $out) = verify('--file', "$d/intact.jsonl", '--public-key',
    "$d/seal.pub", '--as-of', time + 600);
like($out, qr/stopped sealing after checkpoint \d+ .* without a final one, before/,
    '--as-of: instances not sealing by then are named') or diag $out;

# honest: an instance's last events stored after its final checkpoint
# (a spool delivered them later), and a spool batch stored twice
my ($sealed_late) = reverse grep { $finished{ $evs[$_]{instance} }
    && $evs[$_]{type} ne 'audit.checkpoint' } 0 .. $#evs;
if (defined $sealed_late) {
    my @l = @lines[grep { $_ != $sealed_late } 0 .. $#lines];
    ($rc, $out) = tampered('late', @l, $lines[$sealed_late]);
    is($rc, 0, 'an event stored after the checkpoint that sealed it')
        or diag $out;
    like($out, qr/1 events stored after the checkpoint that sealed them/,
        'counted as delivered late');
} else {
    fail('an instance with a final checkpoint and events');
}
($rc, $out) = tampered('batch-twice', @lines, @lines[5 .. 40]);
is($rc, 0, 'a spool batch stored twice, checkpoints included') or diag $out;
like($out, qr/\(36 delivered twice\)/, 'counted as copies');

$_->stop for @gw;

done_testing();

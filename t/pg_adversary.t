# The agent as the adversary, under a read-only policy: every line of
# t/data/pg_adversary.txt (and every effectful call written in a dozen
# syntaxes) runs through the gateway, in the simple and the extended
# protocol, against a PostgreSQL whose role is a superuser, with the
# read-only session pin off, so the classification alone stands between
# the agent and each effect.  After each statement the database is
# checked: rows, sequences, large objects, another backend, locks, the
# configuration, WAL, statistics, slots, files, notifications, the
# session's own settings.  Nothing may change.
#
# Then PostgreSQL is the oracle for what "read" means: on a second
# cluster, every statement runs with default_transaction_read_only on.
# Whatever the gateway allowed must not be refused there as a write
# (25006); whatever is refused there as a write the gateway must deny.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use DBI;
use DBD::Pg qw(:async);
use Hoop::JWT;
use Hoop::Test qw(spit slurp test_dir chown_to_service);
use Hoop::Test::Nginx;
use Hoop::Test::Pg;

my $fixture = <<'SQL';
CREATE TABLE t (id int PRIMARY KEY, v text);
INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 5) g;
CREATE INDEX t_brin ON t USING brin (id);
CREATE INDEX t_gin ON t USING gin (to_tsvector('simple', v));
CREATE TABLE effects (what text);
CREATE SEQUENCE s;
CREATE ROLE victim;
CREATE SCHEMA app;
CREATE FUNCTION fx(anyelement) RETURNS int LANGUAGE sql VOLATILE
    AS $$ INSERT INTO effects VALUES ('fx'); SELECT 1 $$;
CREATE FUNCTION fx_text(text) RETURNS text LANGUAGE sql VOLATILE
    AS $$ INSERT INTO effects VALUES ('fx_text'); SELECT $1 $$;
CREATE FUNCTION fx_int(int, int) RETURNS boolean LANGUAGE sql VOLATILE
    AS $$ INSERT INTO effects VALUES ('operator'); SELECT true $$;
CREATE FUNCTION fx_int1(int) RETURNS boolean LANGUAGE sql VOLATILE
    AS $$ INSERT INTO effects VALUES ('prefix'); SELECT true $$;
CREATE FUNCTION fx_text2(text, text) RETURNS boolean LANGUAGE sql VOLATILE
    AS $$ INSERT INTO effects VALUES ('text operator'); SELECT true $$;
CREATE OPERATOR === (LEFTARG = int, RIGHTARG = int, FUNCTION = fx_int);
CREATE OPERATOR ### (RIGHTARG = int, FUNCTION = fx_int1);
CREATE OPERATOR ~~~ (LEFTARG = text, RIGHTARG = text, FUNCTION = fx_text2);
CREATE TYPE pair AS (a int, b int);
CREATE TYPE pair_plain AS (a int, b int);
CREATE FUNCTION fx_pair(int) RETURNS pair LANGUAGE sql VOLATILE
    AS $$ INSERT INTO effects VALUES ('cast'); SELECT ROW($1, $1)::pair $$;
CREATE CAST (int AS pair) WITH FUNCTION fx_pair(int);
CREATE FUNCTION fx_step(int, int) RETURNS int LANGUAGE sql VOLATILE
    AS $$ INSERT INTO effects VALUES ('aggregate'); SELECT coalesce($1, 0) + $2 $$;
CREATE AGGREGATE fx_agg(int) (sfunc = fx_step, stype = int);
CREATE DOMAIN dx AS pair;   -- a cast to it is the cast to pair
CREATE DOMAIN plain_domain AS int CHECK (VALUE > 0);
CREATE VIEW v_fx AS SELECT fx(1) AS x;
CREATE VIEW v_v AS SELECT * FROM v_fx;
CREATE VIEW v_seq AS SELECT nextval('s') AS n;
CREATE VIEW v_ok AS SELECT id, now() AS at FROM t;
CREATE MATERIALIZED VIEW mv AS SELECT id FROM t;
CREATE FUNCTION seq_next() RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT nextval('s') $$;
CREATE FUNCTION stable_wrapper(int) RETURNS int LANGUAGE sql STABLE
    AS $$ SELECT fx($1) $$;
CREATE FUNCTION secdef() RETURNS int LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    AS $$ BEGIN INSERT INTO effects VALUES ('secdef'); RETURN 1; END $$;
CREATE FUNCTION app.sneaky(int) RETURNS int LANGUAGE sql VOLATILE
    AS $$ INSERT INTO effects VALUES ('sneaky'); SELECT $1 $$;
CREATE FUNCTION report(int) RETURNS int LANGUAGE sql STABLE AS $$ SELECT $1 $$;
CREATE PROCEDURE p_write() LANGUAGE sql AS $$ INSERT INTO effects VALUES ('p') $$;
CREATE TABLE rls_t (id int);
INSERT INTO rls_t VALUES (1);
ALTER TABLE rls_t ENABLE ROW LEVEL SECURITY;
ALTER TABLE rls_t FORCE ROW LEVEL SECURITY;
CREATE POLICY p ON rls_t USING (fx(id) = 1);
CREATE TABLE rls_ok (id int);
INSERT INTO rls_ok VALUES (1);
ALTER TABLE rls_ok ENABLE ROW LEVEL SECURITY;
ALTER TABLE rls_ok FORCE ROW LEVEL SECURITY;
CREATE POLICY p ON rls_ok USING (id > 0);
SELECT lo_from_bytea(4242, 'large object');
CREATE FUNCTION hoop_state(victim int) RETURNS text LANGUAGE sql VOLATILE AS $$
SELECT concat_ws(' | ',
  'rows=' || (SELECT md5(coalesce(string_agg(id || ':' || coalesce(v, ''), ','
                 ORDER BY id), '')) FROM t),
  'effects=' || (SELECT count(*) FROM effects),
  'seq=' || (SELECT last_value || '/' || is_called FROM s),
  'lo=' || (SELECT count(*) FROM pg_largeobject_metadata) || '/'
        || (SELECT md5(coalesce(string_agg(encode(data, 'hex'), '' ORDER BY pageno), ''))
            FROM pg_largeobject WHERE loid = 4242),
  'victim=' || (SELECT coalesce(max(state), 'gone') FROM pg_stat_activity
                WHERE pid = victim),
  'advisory=' || (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'),
  'conf=' || pg_conf_load_time(),
  'slots=' || (SELECT count(*) FROM pg_replication_slots),
  'origins=' || (SELECT count(*) FROM pg_replication_origin),
  'stats=' || coalesce((SELECT stats_reset::text FROM pg_stat_database
                        WHERE datname = current_database()), '-'),
  'bgwriter=' || (SELECT stats_reset FROM pg_stat_bgwriter),
  'xacts=' || (SELECT count(*) FROM pg_prepared_xacts),
  'collations=' || (SELECT count(*) FROM pg_collation),
  'relations=' || (SELECT count(*) FROM pg_class),
  'wal=' || pg_current_wal_insert_lsn())
$$;
SQL

# nothing writes WAL on its own: no autovacuum, no timed checkpoint, no
# standby snapshots (wal_level minimal)
my $opts = '-c autovacuum=off -c checkpoint_timeout=1h'
    . ' -c max_prepared_transactions=5 -c wal_level=minimal'
    . ' -c max_wal_senders=0';
my $pg = Hoop::Test::Pg->new(options => $opts)->start;
$pg->psql($fixture);

my $t = Hoop::Test::Nginx->new(workers => 1);
my $d = $t->dir;
my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
spit("$d/jwks.json", Hoop::JWT->jwks_json($key));

# a path the server could write (and a sibling directory it may use)
my $files = test_dir('files');
chmod 0777, $files;
my $file = "$files/written";

$t->run(<<"EOF");
stream {
    hoop_pg_require_tls off;    # loopback: see pg_tls.t
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file %%DIR%%/jwks.json;

    server {
        listen 127.0.0.1:%%PORT_pg%%;
        hoop_pg_pass 127.0.0.1:${\ $pg->port};
        hoop_pg_read_only off;      # the classification alone
        hoop_rule allow sql.read;
    }
}
EOF

my $token = $key->mint(claims => { iss => 'https://idp.test',
    aud => 'hoop-gateway', sub => 'agent-7', exp => time + 3600 });

sub direct {
    my ($cluster) = @_;
    my $dbh = DBI->connect("dbi:Pg:host=127.0.0.1;port=${\ $cluster->port};"
        . 'dbname=postgres', 'postgres', '',
        { RaiseError => 0, PrintError => 0, PrintWarn => 0, AutoCommit => 1 })
        or BAIL_OUT(DBI->errstr);
    return $dbh;
}

sub gateway {
    my ($prepare) = @_;
    my $dbh = DBI->connect("dbi:Pg:host=127.0.0.1;port=${\ $t->port('pg')};"
        . 'dbname=postgres', 'postgres', $token,
        { RaiseError => 0, PrintError => 0, PrintWarn => 0, AutoCommit => 1,
          pg_server_prepare => $prepare })
        or BAIL_OUT(DBI->errstr);
    return $dbh;
}

# the corpus

my (@attacks, @reads);
my @wrappers = (
    'SELECT %s', 'SELECT * FROM %s', 'SELECT * FROM (SELECT %s) x',
    'SELECT (SELECT %s)', 'WITH x AS (SELECT %s) SELECT * FROM x',
    'SELECT 1 WHERE (%s) IS NOT NULL',
    'SELECT CASE WHEN true THEN (%s)::text END', 'VALUES ((%s)::text)',
    'SELECT (%s)::text FROM t LIMIT 1', 'EXPLAIN ANALYZE SELECT %s',
    'COPY (SELECT %s) TO STDOUT', q{SELECT coalesce((%s)::text, '')},
    'SELECT 1 ORDER BY (%s)::text', 'SELECT * FROM t, LATERAL (SELECT %s) x',
    'SELECT 1; SELECT %s', 'SELECT array[(%s)::text]', 'SELECT row((%s)::text)',
    'SELECT count(*) FROM t GROUP BY id HAVING (%s) IS NOT NULL',
    'SELECT jsonb_build_array(%s)', 'SELECT (%s) IS DISTINCT FROM NULL',
    'PREPARE adv AS SELECT %s',
);

for my $line (split /\n/, slurp("$FindBin::Bin/data/pg_adversary.txt")) {
    next if $line =~ /^\s*(#|$)/;
    if ($line =~ /^call: (.*)$/) {
        my $expr = $1;
        push @attacks, map { sprintf $_, $expr } @wrappers;
    } elsif ($line =~ /^read: (.*)$/) {
        push @reads, $1;
    } else {
        push @attacks, $line;
    }
}

cmp_ok(scalar @attacks, '>', 900, scalar(@attacks) . ' attacks in the corpus');
cmp_ok(scalar @reads, '>', 50, scalar(@reads) . ' reads');

# what is watched

my $watch = direct($pg);
my $victim = direct($pg);
my $victim_pid = $victim->{pg_pid};
$victim->do('SELECT pg_sleep(3600)', { pg_async => PG_ASYNC });
my $listener = direct($pg);
$listener->do('LISTEN ch');

sub fill {
    my ($sql) = @_;
    $sql =~ s/%VICTIM%/$victim_pid/g;
    $sql =~ s/%LO%/4242/g;
    $sql =~ s/%FILE%/$file/g;
    return $sql;
}

sub state_of {
    my ($dbh, $session) = @_;
    my ($s) = $dbh->selectrow_array('SELECT hoop_state(?)', undef,
        $victim_pid);
    $s //= 'unreadable: ' . $dbh->errstr;
    $listener->do('SELECT 1');
    my $n = $listener->pg_notifies;
    $s .= ' | notified=' . ($n ? $n->[0] : '-');
    $s .= ' | file=' . (-e $file ? 'yes' : 'no');
    if ($session) {
        my $r = $session->selectrow_arrayref(q{SELECT current_user,
            session_user, current_setting('default_transaction_read_only'),
            current_setting('session_replication_role'),
            current_setting('standard_conforming_strings'),
            current_setting('client_encoding'),
            current_setting('app.tenant', true)});
        $s .= ' | session=' . ($r ? join(',', map { $_ // '' } @$r)
                                  : 'error: ' . ($session->errstr // ''));
    }
    return $s;
}

sub outcome {
    my ($dbh, $sql, $extended) = @_;
    my ($ok, $err, $state);
    if ($extended) {
        my $sth = $dbh->prepare($sql, { pg_server_prepare => 1 });
        $ok = $sth && $sth->execute;
        ($err, $state) = $sth ? ($sth->errstr, $sth->state)
                              : ($dbh->errstr, $dbh->state);
        $sth->finish if $sth;
    } else {
        $ok = $dbh->do($sql);
        ($err, $state) = ($dbh->errstr, $dbh->state);
    }
    $err //= '';
    $state //= '';

    # a COPY that ran: finish it
    if ($ok && $sql =~ /\bCOPY\b.*\bFROM STDIN/i) {
        $dbh->pg_putcopyend;
    } elsif ($ok && $sql =~ /\bCOPY\b.*\bTO STDOUT/i) {
        my $row;
        1 while $dbh->pg_getcopydata($row) >= 0;
    }

    $dbh->do(q{ROLLBACK}) if ($dbh->{pg_transaction_status} // q{idle}) ne q{idle};
    my $denied = ($state eq '42501' && $err =~ /hoop: /) ? 1 : 0;
    my ($kind) = $err =~ /hoop: (\w+) statement denied/;
    return { denied => $denied, kind => $kind // '', state => $state,
             error => $err };
}

my %gateway;        # statement => outcome in the simple protocol
my (@changed, %extended_allowed);

for my $prepare (0, 1) {
    my $proto = $prepare ? 'extended' : 'simple';
    my $session = gateway($prepare);
    my $before = state_of($watch, $session);

    for my $raw (@attacks) {
        my $sql = fill($raw);

        # several statements in one: the simple protocol's
        next if $prepare && $sql =~ /;\s*\S/;

        my $o = outcome($session, $sql, $prepare);
        $gateway{$raw} //= $o unless $prepare;
        $extended_allowed{$raw} = 1 if $prepare && !$o->{denied};

        my $after = state_of($watch, $session);
        next if $after eq $before;

        push @changed, "$proto: $sql\n    "
            . ($o->{denied} ? 'denied' : "allowed ($o->{error})")
            . "\n    before: $before\n    after:  $after";
        $before = $after;
    }

    $session->disconnect;
}

is(scalar @changed, 0, 'no attack had an effect on the database')
    or diag join "\n", @changed;

my @allowed = grep { !$gateway{$_}{denied} } @attacks;
is_deeply([sort keys %extended_allowed],
    [sort grep { $_ !~ /;\s*\S/ } @allowed],
    'the extended protocol allows exactly what the simple one does');
note scalar(@allowed) . ' attacks were allowed as reads (and changed'
    . ' nothing): ' . join('; ', @allowed[0 .. ($#allowed < 20 ? $#allowed : 19)]);

# the reads run

my $reader = gateway(0);
my @refused;
for my $raw (@reads) {
    my $o = outcome($reader, fill($raw));
    $gateway{$raw} = $o;
    push @refused, "$raw: $o->{error}" if $o->{denied};
}
is(scalar @refused, 0, 'every read is allowed') or diag join "\n", @refused;
$reader->disconnect;

# the oracle: PostgreSQL's read-only mode, on a cluster of its own

my $oracle = Hoop::Test::Pg->new(name => 'oracle', options => $opts)->start;
$oracle->psql($fixture);
my $o_dbh = direct($oracle);
my $o_victim = direct($oracle);
$victim_pid = $o_victim->{pg_pid};
$o_victim->do('SELECT pg_sleep(3600)', { pg_async => PG_ASYNC });
$o_dbh->do("SET statement_timeout = '5s'");

my (@missed, @strict, $refusals);
for my $raw (@attacks, @reads) {
    $o_dbh->do('SET default_transaction_read_only = on');
    my $r = outcome($o_dbh, fill($raw));
    $o_dbh->do('ROLLBACK');
    $o_dbh->do('DISCARD ALL');
    $o_dbh->do("SET statement_timeout = '5s'");

    my $g = $gateway{$raw} or next;
    my $refused = $r->{state} eq '25006';
    $refusals++ if $refused;

    if ($refused && !$g->{denied}) {
        push @missed, "$raw\n    PostgreSQL: $r->{error}";
    }
}

cmp_ok($refusals, '>', 100, "PostgreSQL refused $refusals of them as"
    . ' writes in read-only mode');
is(scalar @missed, 0, 'every statement PostgreSQL refuses in read-only mode'
    . ' is one the gateway does not allow as a read')
    or diag join "\n", @missed;

$victim->pg_cancel;
$o_victim->pg_cancel;
$_->disconnect for $watch, $victim, $listener, $o_dbh, $o_victim;
$t->stop;
$oracle->stop;
done_testing();

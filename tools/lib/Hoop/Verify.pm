package Hoop::Verify;

# Checks an audit trail (docs/audit-events.md): every session's chain, and
# every gateway instance's checkpoints: their chain, their signatures with
# the public key(s) an auditor was given, and that every event they sealed
# is there, unchanged, and nothing was added.  Reports problems in words
# an auditor understands, first by position in the trail.
#
#   my $v = Hoop::Verify->new(public_keys => [...], hmac_key => ...,
#                             window => 0, trimmed => 0, now => time);
#   $v->add($entry) for each entry, oldest first;
#   my $r = $v->result;   # { ok, problems => [...], counts... }
#
# Memory: an instance's events are checked against its checkpoints as the
# checkpoints arrive (every event a checkpoint seals comes before it in
# the trail), and then forgotten but for what the next checkpoint may
# restate; a session that ended and is sealed shrinks to its end.  What is
# kept is what the newest checkpoints have not sealed yet, and one small
# record per session: the trail itself never has to fit.

use strict;
use warnings;

use Digest::SHA qw(sha256_hex hmac_sha256_hex);
use Hoop::Trail;

my $GENESIS = '0' x 64;
my $MAX_PROBLEMS = 1000;
my $MAX_SEQ = 2**50;

# how many sealed events of an instance are remembered, for copies of them
# stored again (a spool batch retried whole holds at most a few hundred)
my $SEALED_KEPT = 4096;

# how far ahead of Redis's clock a gateway's may be
my $SKEW_MS = 300_000;

sub new {
    my ($class, %o) = @_;
    my $self = bless {
        json      => Hoop::Trail::json(),
        hmac_key  => $o{hmac_key},
        # whether the oldest part of the trail may be missing: trimmed by
        # MAXLEN (Redis says so), or declared with --window
        trimmed   => $o{window} || $o{trimmed},
        now       => $o{now},            # epoch seconds, or undef
        # Redis's XINFO STREAM facts, reading it live
        info      => $o{info} // {},
        key_given => scalar @{ $o{public_keys} // [] },
        expect    => $o{expect_gateways} // [],
        keys      => {},                 # key id => Crypt::PK::Ed25519
        pos       => 0,
        sess      => {},                 # session => state, or [end, inst]
        inst      => {},                 # instance => checkpoint state
        writers   => {},                 # instance => its first event
        problems  => [],
        events    => 0,
        sessions  => 0,
        checkpoints => 0,
        duplicates => 0,
        newest_ms => 0,
    }, $class;
    for my $f (@{ $o{public_keys} // [] }) {
        require Crypt::PK::Ed25519;
        my $pk = eval { Crypt::PK::Ed25519->new($f) }
            or die "$f: not an Ed25519 public key (PEM)\n";
        $self->{keys}{ sha256_hex($pk->export_key_der('public')) } = $pk;
    }
    return $self;
}

sub problem {
    my ($self, $pos, $id, $msg) = @_;
    push @{ $self->{problems} }, { pos => $pos, id => $id, message => $msg }
        if @{ $self->{problems} } < $MAX_PROBLEMS;
    return;
}

sub short { substr($_[0] // '?', 0, 12) }

sub where { 'session ' . short($_[0]) . ", event $_[1]" }

# the events' times, to the millisecond; the second is computed once per
# second of the trail, not per event
my ($last_second, $last_epoch) = ('', undef);

sub iso_ms {
    my ($t) = @_;
    return undef unless defined $t && !ref $t && $t =~
        /^((\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d))\.(\d{3})Z$/;
    if ($1 ne $last_second) {
        require Time::Local;
        $last_epoch = eval { Time::Local::timegm($7, $6, $5, $4, $3 - 1,
            $2) };
        $last_second = $1;
    }
    return defined $last_epoch ? $last_epoch * 1000 + $8 : undef;
}

sub ms_iso {
    my ($ms) = @_;
    my @t = gmtime int($ms / 1000);
    return sprintf '%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', $t[5] + 1900,
        $t[4] + 1, @t[3, 2, 1, 0], $ms % 1000;
}

sub count_num { defined $_[0] && !ref $_[0] && $_[0] =~ /^[1-9]\d{0,15}\z/
    && $_[0] < $MAX_SEQ }

sub add {
    my ($self, $e) = @_;
    my $pos = ++$self->{pos};
    my $id = ref $e eq 'HASH' && defined $e->{id} && !ref $e->{id}
        ? $e->{id} : "entry $pos";

    if (ref $e ne 'HASH' || $e->{unreadable}) {
        return $self->problem($pos, $id, 'this line of the export is not'
            . ' a JSON object: the export was damaged');
    }
    for my $f (qw(session seq event prev hash)) {
        next if defined $e->{$f} && !ref $e->{$f};
        return $self->problem($pos, $id, "the entry has no \"$f\" field:"
            . ' it was not written by the gateway');
    }
    my ($sid, $seq) = ($e->{session}, $e->{seq});
    if ($sid !~ /^[0-9a-f]{32}\z/ || !count_num($seq)
        || $e->{prev} !~ /^[0-9a-f]{64}\z/ || $e->{hash} !~ /^[0-9a-f]{64}\z/)
    {
        return $self->problem($pos, $id, 'the entry\'s session, seq, prev or'
            . ' hash is malformed: it was not written by the gateway');
    }
    my $s = $self->{sess}{$sid};

    # stream ids only grow: an export whose ids go back was edited
    my $id_ms;
    if ($id =~ /^(\d+)-(\d+)\z/ && $1 > time * 1000 + $SKEW_MS) {
        return $self->problem($pos, $id, "entry $id was stored with an id"
            . ' in the future (' . ms_iso($1) . '): it was not stored by'
            . ' Redis as the gateway sent it');
    }
    if ($id =~ /^(\d+)-(\d+)\z/) {
        $id_ms = $1;
        my $prev = $self->{last_id};
        if ($prev && ($1 < $prev->[0] || ($1 == $prev->[0] && $2 <= $prev->[1])))
        {
            $self->problem($pos, $id, "entry $id is stored after entry"
                . " $prev->[0]-$prev->[1], which Redis cannot do: entries"
                . ' were moved or inserted in this export');
        } else {
            $self->{last_id} = [$1, $2];
        }
        $self->{first_id_ms} //= $1;
        $self->{newest_id_ms} = $1 if $1 > ($self->{newest_id_ms} // 0);
    }

    # delivered twice (a retry after Redis stored it without answering):
    # only a byte-identical copy is the same event
    my $seen = $self->seen($s, $sid, $seq);
    if (defined $seen) {
        if ($seen eq $e->{hash} . ($e->{sig} // '')
            && $self->link_hash($e) eq $e->{hash})
        {
            $self->{duplicates}++;
            return;
        }
        return $self->problem($pos, $id, where($sid, $seq) . ' is recorded'
            . ' twice with different content: one of the two was forged');
    }

    if ($self->link_hash($e) ne $e->{hash}) {
        return $self->problem($pos, $id, where($sid, $seq) . ' was changed'
            . ' after it was written: its content does not match its hash'
            . (defined $self->{hmac_key} ? ' (or another audit key)' : ''));
    }
    my $ev = eval { $self->{json}->decode($e->{event}) };
    if (ref $ev ne 'HASH') {
        return $self->problem($pos, $id, where($sid, $seq)
            . ' is not a JSON object');
    }
    if (($ev->{session} // '') ne $sid || ($ev->{seq} // -1) ne $seq) {
        return $self->problem($pos, $id, where($sid, $seq) . ' was moved:'
            . ' the event inside says session ' . short($ev->{session})
            . ', event ' . ($ev->{seq} // '?'));
    }
    my $inst = $ev->{instance};
    $inst = undef if ref $inst;
    my $type = $ev->{type} // '';
    $type = '' if ref $type;
    my $ms = iso_ms($ev->{time});

    if (!defined $ms) {
        return $self->problem($pos, $id, where($sid, $seq) . ' has no valid'
            . ' time: it was not written by the gateway');
    }
    if (defined $id_ms && $ms > $id_ms + $SKEW_MS) {
        return $self->problem($pos, $id, where($sid, $seq) . ' is dated '
            . $ev->{time} . ', after Redis stored it (' . ms_iso($id_ms)
            . '): forged, or the gateway\'s clock is wrong');
    }
    if ($self->{inst}{$sid} || (defined $inst && $inst eq $sid)) {
        # a checkpoint chain holds checkpoints and nothing else
        if ($type ne 'audit.checkpoint') {
            return $self->problem($pos, $id, where($sid, $seq) . ' is in'
                . ' the checkpoint chain of instance ' . short($sid)
                . ' but is not a checkpoint: forged');
        }
    } elsif (!defined $inst) {
        # events from before checkpoints existed come before any of them
        if ($self->{checkpoints}) {
            return $self->problem($pos, $id, where($sid, $seq) . ' names'
                . ' no gateway instance, so no checkpoint can seal it, and'
                . ' checkpoints come before it: it was added to the trail');
        }
        $self->{legacy}++;
    } elsif (!$self->{inst}{$inst} && !$self->{trimmed}
        && !$self->{rejected}{$inst})
    {
        # an instance's first checkpoint comes before its first event,
        # unless Redis lost them: its first checkpoint kept may say so
        my $o = $self->{orphans}{$inst} //= [];
        return $self->problem($pos, $id, orphan_words($sid, $seq, $inst))
            if @$o >= 10_000;
        push @$o, [$pos, $id, $sid, $seq];
    } elsif ($self->{inst}{$inst} && $self->{inst}{$inst}{last}{final}
        && !($s && ref $s eq 'HASH' && $s->{awaited}{$seq}))
    {
        return $self->problem($pos, $id, where($sid, $seq) . ' is of'
            . ' instance ' . short($inst) . ', which wrote its final'
            . ' checkpoint before it: it was added to the trail');
    }

    if (ref $s eq 'ARRAY') {
        # the session ended, and every event of it up to its end is sealed
        return $self->problem($pos, $id, 'session ' . short($sid)
            . ($seq > $s->[0] ? ' has events after its end (event'
                . " $s->[0]): they were added to the trail"
              : ": event $seq is stored after its end (event $s->[0]):"
                . " the trail's order was changed"));
    }
    if (!$s) {
        $s = $self->{sess}{$sid} = { recent => {} };
        $self->{sessions}++;
    }
    if (defined $s->{ended} && $seq > $s->{ended}) {
        $self->problem($pos, $id, 'session ' . short($sid) . ' has events'
            . " after its end (event $s->{ended}): they were added to the"
            . ' trail');
    }

    $self->{newest_ms} = $ms if $ms > $self->{newest_ms};
    $s->{instance} //= $inst;
    if (my $w = delete $s->{awaited}{$seq}) {
        # sealed by a checkpoint stored before it (a spool delivered late)
        $self->{late}++;
        if (defined $w->[1] && $w->[1] ne $e->{hash}) {
            $self->problem($pos, $id, where($sid, $seq) . ' is not the one'
                . " checkpoint $w->[0]{seq} sealed: it was replaced");
        }
        $self->remember_sealed($inst, $sid, $seq,
            $e->{hash} . ($e->{sig} // ''));
    } else {
        $s->{recent}{$seq} = [$e->{hash}, $pos, $id, $e->{sig}];
        if (defined $inst && $sid ne $inst) {
            ($self->{writers}{$inst} //= { ms => $id_ms // $ms,
                pos => $pos, id => $id, gateway => $ev->{gateway} })->{n}++;
            $self->{open}{$inst}{$sid} = 1;
        }
    }

    $self->chain($s, $sid, $seq, $e, $pos, $id);

    if ($type eq 'audit.checkpoint') {
        $self->{checkpoints}++;
        $self->checkpoint($ev, $e, $pos, $id, $ms);
    } else {
        $self->{events}++;
    }
}

sub orphan_words {
    my ($sid, $seq, $inst) = @_;
    return where($sid, $seq) . ' is of instance ' . short($inst) . ', and'
        . ' no checkpoint of it comes before it, though each instance writes'
        . ' one first: its checkpoints were deleted, or the event was added';
}

# events of an instance stored before any checkpoint of it: explained by
# a loss its first checkpoint kept reports, if they were stored after it
sub orphans {
    my ($self, $iid, $loss) = @_;
    for my $o (@{ delete $self->{orphans}{$iid} // [] }) {
        if ($loss && id_cmp($o->[1], $loss->{newest}) > 0) {
            $self->{lost_events}++;
            next;
        }
        $self->problem($o->[0], $o->[1], orphan_words(@$o[2, 3], $iid));
    }
}

# a stream id against another: -1, 0, 1; undef if either is not one
sub id_cmp {
    my ($a, $b) = @_;
    return undef unless defined $a && defined $b
        && $a =~ /^(\d{1,20})-(\d{1,20})\z/;
    my @x = ($1, $2);
    return undef unless $b =~ /^(\d{1,20})-(\d{1,20})\z/;
    my @y = ($1, $2);
    for my $k (0, 1) {
        my $c = length($x[$k]) <=> length($y[$k]) || $x[$k] cmp $y[$k];
        return $c if $c;
    }
    return 0;
}

# A checkpoint's report that Redis came back without events the instance
# had stored: kept when Redis restarted (or another server took over);
# a stream deleted under the same Redis is deletion, and stays so.
sub loss_report {
    my ($self, $iid, $cp, $e, $pos, $ms) = @_;
    my $r = $cp->{redis_lost};
    return undef unless ref $r eq 'HASH' && $r->{restarted}
        && defined id_cmp($r->{stored}, $r->{newest})
        && id_cmp($r->{newest}, $r->{stored}) < 0;
    my $loss = { instance => $iid, seq => $e->{seq}, pos => $pos,
        newest => $r->{newest}, stored => $r->{stored},
        seen => count_num($r->{seen_ms}) ? $r->{seen_ms} : $ms };
    push @{ $self->{losses}{$iid} }, $loss;
    $self->{redis_losses}++;
    return $loss;
}

sub lost_words {
    my ($self, $loss) = @_;
    my $i = $self->{inst}{ $loss->{instance} } // {};
    return 'lost with Redis, which came back without them (instance '
        . short($loss->{instance}) . ' (' . ($i->{gateway} // '?')
        . ') found at ' . ms_iso($loss->{seen}) . ' that the stream ended'
        . " at entry $loss->{newest}, before entry $loss->{stored} it had"
        . ' stored; its checkpoint ' . $loss->{seq} . ' says so)';
}

# a loss of this instance that explains a gap between entries a (the one
# kept before, or none) and b (the one kept after)
sub loss_between {
    my ($self, $iid, $a, $b) = @_;
    for my $l (@{ $self->{losses}{$iid // ''} // [] }) {
        next if defined $a && (id_cmp($a, $l->{newest}) // 1) > 0;
        next unless (id_cmp($b, $l->{newest}) // -1) > 0;
        return $l;
    }
    return undef;
}

# the link's hash as the gateway computed it
sub link_hash {
    my ($self, $e) = @_;
    my $input = "$e->{prev}\n$e->{event}";
    return defined $self->{hmac_key}
        ? hmac_sha256_hex($input, $self->{hmac_key}) : sha256_hex($input);
}

# hash.sig of an event of this session already stored, if it is known
sub seen {
    my ($self, $s, $sid, $seq) = @_;
    return undef unless $s;
    if (ref $s eq 'HASH') {
        my $r = $s->{recent}{$seq};
        return $r->[0] . ($r->[3] // '') if $r;
    }
    my $inst = ref $s eq 'ARRAY' ? $s->[1] : $s->{instance};
    my $i = defined $inst ? $self->{inst}{$inst} : undef;
    return $i ? $i->{sealed}{"$sid/$seq"} : undef;
}

# the hash (and signature) of an event sealed, for copies stored again
sub remember_sealed {
    my ($self, $inst, $sid, $seq, $h) = @_;
    my $i = defined $inst ? $self->{inst}{$inst} : undef;
    return unless $i;
    my $k = "$sid/$seq";
    push @{ $i->{fifo} }, $k unless exists $i->{sealed}{$k};
    $i->{sealed}{$k} = $h;
    delete $i->{sealed}{ shift @{ $i->{fifo} } }
        while @{ $i->{fifo} } > $SEALED_KEPT;
}

# the session's chain: numbered without gaps, each naming the one before
sub chain {
    my ($self, $s, $sid, $seq, $e, $pos, $id) = @_;

    if (defined $s->{last} && $seq == $s->{last} + 1
        && $e->{prev} eq $s->{last_hash})
    {
        $s->{last} = $seq;
        $s->{last_hash} = $e->{hash};
        $s->{last_id} = $id;
        return;                 # the common case, in one test
    }

    my $where = 'session ' . short($sid);

    if (!defined $s->{last}) {
        $s->{first} = $seq;
        $s->{first_at} = [$pos, $id];
        if ($seq == 1 && $e->{prev} ne $GENESIS) {
            $self->problem($pos, $id, "$where: its first event names an"
                . ' event before it');
        }
    } elsif ($seq <= $s->{last}) {
        # a gap that this fills: the order was changed, nothing deleted
        my ($gap) = grep { $seq >= $_->{from} && $seq <= $_->{to} }
            @{ $s->{gaps} // [] };
        if ($gap) {
            $gap->{filled} = 1;
            return $self->problem($gap->{pos}, $gap->{id}, "$where: event"
                . " $seq is stored after event $gap->{after}: the trail's"
                . ' order was changed');
        }
        return $self->problem($pos, $id, "$where: event $seq is stored"
            . " after event $s->{last}: the trail's order was changed");
    } elsif ($seq > $s->{last} + 1) {
        push @{ $s->{gaps} }, { from => $s->{last} + 1, to => $seq - 1,
            after => $seq, pos => $pos, id => $id, before => $s->{last_id} };
    } elsif ($e->{prev} ne $s->{last_hash}) {
        $self->problem($pos, $id, "$where, event $seq does not name the"
            . ' hash of the event before it: one of them was replaced');
    }
    $s->{last} = $seq;
    $s->{last_hash} = $e->{hash};
    $s->{last_id} = $id;
}

# A checkpoint refused: what it sealed is unknown, so the events it may
# have sealed are not also called added (the refusal says it all).
sub refuse {
    my ($self, $iid, @problem) = @_;
    $self->{rejected}{$iid} = 1;
    return $self->problem(@problem);
}

sub checkpoint {
    my ($self, $ev, $e, $pos, $id, $ms) = @_;
    my $cp = $ev->{checkpoint};
    my $iid = $e->{session};
    my $where = 'checkpoint ' . $e->{seq} . ' of instance ' . short($iid)
        . ' (' . ($ev->{gateway} // '?') . ')';

    if (ref $cp ne 'HASH' || ref $cp->{sessions} ne 'ARRAY'
        || ($ev->{instance} // '') ne $iid)
    {
        return $self->refuse($iid, $pos, $id, "$where is malformed");
    }

    if (%{ $self->{keys} }) {
        my $pk = defined $cp->{key} && !ref $cp->{key}
            ? $self->{keys}{ $cp->{key} } : undef;
        if (!defined $cp->{key} || !defined $e->{sig}) {
            return $self->refuse($iid, $pos, $id, "$where is not signed: the"
                . ' gateway had no signing key, or the signature was'
                . ' removed');
        }
        if (!$pk) {
            return $self->refuse($iid, $pos, $id, "$where is signed with a key"
                . ' not given to the verifier (key id '
                . short($cp->{key}) . ')');
        }
        if (ref $e->{sig} || $e->{sig} !~ /^[0-9a-f]{128}\z/
            || !$pk->verify_message(pack('H*', $e->{sig}), $e->{hash}))
        {
            return $self->refuse($iid, $pos, $id, "$where has a signature that"
                . ' does not verify: the checkpoint was forged or changed');
        }
        $self->{signed}{ $cp->{key} }++;
    } elsif (defined $cp->{key}) {
        $self->{unchecked_signatures}++;
    }

    my $i = $self->{inst}{$iid} //= { fifo => [], sealed => {} };
    my $anchor = !$i->{last};
    my $loss = $self->loss_report($iid, $cp, $e, $pos, $ms);

    # the checkpoints just before this one are gone or were refused: what
    # they sealed cannot be told from what was added
    my $unknown = delete $self->{rejected}{$iid}
        || ($i->{last} && $e->{seq} != $i->{last}{seq} + 1);
    my $interval = count_num($cp->{interval_ms}) ? $cp->{interval_ms}
        : 60000;
    @$i{qw(gateway subsystem pid)} = ($ev->{gateway}, $cp->{subsystem},
        $cp->{pid});
    my $name = 'instance ' . short($iid) . ' (' . ($i->{gateway} // '?')
        . ', ' . ($i->{subsystem} // '?') . ', pid ' . ($i->{pid} // '?')
        . ')';
    if ($anchor) {
        $i->{anchor} = $e->{seq};
        $i->{first_ms} = $ms;

        # what this checkpoint seals, and the checkpoints before it, were
        # written at most an interval before it (and the worker's start):
        # they can have been trimmed only if that is before the oldest
        # entry kept.  Otherwise they were deleted.
        $i->{trimmable} = $self->{trimmed} && defined $self->{first_id_ms}
            && $ms - 2 * $interval - ($interval < 10_000 ? $interval
                                      : 10_000) < $self->{first_id_ms};
        $self->orphans($iid, $loss);
        if ($e->{seq} > 1) {
            if ($i->{trimmable}) {
                $self->{trimmed_checkpoints} += $e->{seq} - 1;
            } elsif ($loss) {
                $self->problem($pos, $id, 'instance ' . short($iid)
                    . ': checkpoint(s) 1..' . ($e->{seq} - 1) . ' are missing:'
                    . ' ' . $self->lost_words($loss));
            } else {
                $self->problem($pos, $id, 'instance ' . short($iid)
                    . ': checkpoint(s) 1..' . ($e->{seq} - 1) . ' are missing'
                    . ($self->{trimmed}
                       ? ', and the trail keeps entries older than them:'
                         . ' deleted, not trimmed'
                       : ': deleted from the trail'));
            }
        }
    }
    my $c = { seq => $e->{seq}, pos => $pos, id => $id };

    # the one before was lost by the gateway (Redis refused it): this one
    # restates what it sealed, and its absence is not a deletion
    if (count_num($cp->{restates}) && $cp->{restates} == $e->{seq} - 1) {
        $self->{restated}{"$iid/$cp->{restates}"} = 1;
        $self->{lost_checkpoints}++;
    }

    # the other instances' newest checkpoints, as this one saw them: each
    # must be in the trail, whatever else of theirs was deleted
    $self->{cp_seen}{"$iid/$e->{seq}"} = $e->{hash};
    for my $p (ref $cp->{peers} eq 'ARRAY' ? @{ $cp->{peers} } : ()) {
        next unless ref $p eq 'HASH' && defined $p->{instance}
            && !ref $p->{instance} && $p->{instance} =~ /^[0-9a-f]{32}\z/
            && count_num($p->{seq}) && defined $p->{hash} && !ref $p->{hash};
        my $k = "$p->{instance}/$p->{seq}";
        next if $self->{peer_expect}{$k};
        $self->{peer_expect}{$k} = { hash => $p->{hash}, by => $c,
            name => $name, ms => $ms, interval => $interval };
    }

    for my $r (@{ $cp->{sessions} }) {
        my ($sid, $from, $to) = ref $r eq 'HASH' ? @$r{qw(id from to)} : ();
        if (!defined $sid || ref $sid || $sid !~ /^[0-9a-f]{32}\z/
            || !count_num($from) || !count_num($to) || $from > $to
            || $to - $from > 10_000_000 || $sid eq $iid
            || ref $r->{hash} || ($r->{hash} // '') !~ /^[0-9a-f]{64}\z/)
        {
            $self->problem($pos, $id, "$where names a session range that"
                . ' the gateway cannot have written: forged');
            next;
        }
        $self->seal_range($i, $iid, $name, $c, $anchor, $sid, $from, $to,
            $r);
    }

    # every event of this instance stored before this checkpoint is
    # sealed by it or an earlier one: anything else was added.  At the
    # first checkpoint kept, when earlier ones are gone, an event may
    # have been sealed by one of those.
    my $open = delete $self->{open}{$iid} // {};
    for my $sid (keys %$open) {
        my $s = $self->{sess}{$sid};
        next unless ref $s eq 'HASH';
        for my $seq (sort { $a <=> $b } keys %{ $s->{recent} }) {
            my $x = delete $s->{recent}{$seq};

            # sealed by the checkpoints missing before it: said already
            next if $unknown || ($anchor && $e->{seq} > 1 && !$i->{trimmable});
            $self->problem($x->[1], $x->[2], 'session ' . short($sid)
                . ", event $seq is stored before checkpoint $c->{seq} of"
                . " $name but no checkpoint seals it: it was added to the"
                . ' trail');
        }
    }
    $self->settle($_) for keys %$open, map { $_->{id} }
        grep { ref $_ eq 'HASH' && defined $_->{id} && !ref $_->{id} }
        @{ $cp->{sessions} };

    $i->{last} = { %$c, ms => $ms, final => $cp->{final} ? 1 : 0,
        interval => $interval };
    if (defined $cp->{key} && !ref $cp->{key} && $self->{signed}) {
        my $span = $self->{key_span}{ $cp->{key} } //= [$ms, $ms];
        $span->[0] = $ms if $ms < $span->[0];
        $span->[1] = $ms if $ms > $span->[1];
    }
}

# one range of a checkpoint: every event it seals is there, unchanged
sub seal_range {
    my ($self, $i, $iid, $name, $c, $anchor, $sid, $from, $to, $r) = @_;
    my $s = $self->{sess}{$sid};
    my $what = 'session ' . short($sid);

    if (ref $s eq 'ARRAY') {
        # ended and sealed before: only its end may be named again
        return if $to == $s->[0] && $r->{hash} eq $s->[2];
        return $self->problem($c->{pos}, $c->{id}, "$what: checkpoint"
            . " $c->{seq} of $name names events after the session's end:"
            . ' forged');
    }
    if (!$s) {
        $s = $self->{sess}{$sid} = { recent => {} };
    }
    $s->{named}++;
    my $sealed = $s->{sealed_to} // 0;

    # before the first checkpoint kept, what is gone may have been trimmed,
    # if it is the oldest part of the session (MAXLEN trims from the start)
    my $kept = $s->{first};
    my $trim = $anchor && $i->{trimmable};
    for (my $seq = $from > $sealed ? $from : $sealed + 1; $seq <= $to;
         $seq++)
    {
        next if $s->{recent}{$seq};
        if ($trim && !(defined $kept && $seq > $kept)) {
            $self->{trimmed_events}++;
        } elsif (keys %{ $s->{awaited} // {} } < 100_000) {
            # not here (yet): deleted, unless it comes later
            $s->{awaited}{$seq} = [$c, $seq == $to ? $r->{hash} : undef,
                $name];
        }
    }
    my $last = $s->{recent}{$to};
    my $have = $last ? $last->[0]
        : $to == $sealed ? $s->{sealed_hash} : undef;
    if (defined $have && $have ne $r->{hash}) {
        $self->problem($c->{pos}, $c->{id}, "$what, event $to is not the"
            . " one checkpoint $c->{seq} of $name sealed: it was replaced");
    }
    if ($to > $sealed) {
        $s->{sealed_to} = $to;
        $s->{sealed_hash} = $r->{hash};
    }
    $s->{ended} = $to if $r->{end};
    for my $seq (keys %{ $s->{recent} }) {
        next if $seq < $from || $seq > $to;
        my $x = delete $s->{recent}{$seq};
        $self->remember_sealed($iid, $sid, $seq, $x->[0] . ($x->[3] // ''));
    }
}

# a session that ended, every event to its end sealed: checked for the
# last time, then kept as its end alone
sub settle {
    my ($self, $sid) = @_;
    my $s = $self->{sess}{$sid};
    return unless ref $s eq 'HASH' && defined $s->{ended}
        && defined $s->{last} && $s->{last} == $s->{ended}
        && ($s->{sealed_to} // 0) >= $s->{ended} && !%{ $s->{recent} }
        && !%{ $s->{awaited} // {} };
    $self->finish_session($sid, $s);
    $self->{sess}{$sid} = [$s->{ended}, $s->{instance}, $s->{sealed_hash}];
}

sub finish_session {
    my ($self, $sid, $s) = @_;

    # sealed, and never stored: deleted (grouped by the checkpoint)
    my %by;
    for my $seq (keys %{ $s->{awaited} // {} }) {
        push @{ $by{ $s->{awaited}{$seq}[0]{pos} } }, $seq;
    }
    for my $p (sort { $a <=> $b } keys %by) {
        my @n = sort { $a <=> $b } @{ $by{$p} };
        my ($c, undef, $name) = @{ $s->{awaited}{ $n[0] } };
        $self->problem($c->{pos}, $c->{id}, 'session ' . short($sid) . ': '
            . range_words(@n) . ", sealed by checkpoint $c->{seq} of $name, "
            . (@n > 1 ? 'are' : 'is') . ' missing: deleted from the trail');
    }

    for my $gap (@{ $s->{gaps} // [] }) {
        next if $gap->{filled};
        next if $gap->{from} == $gap->{to}
            && $self->{restated}{"$sid/$gap->{from}"};
        my $loss = $self->loss_between($self->{inst}{$sid} ? $sid
            : $s->{instance}, $gap->{before}, $gap->{id});
        $self->{lost_events} += $gap->{to} - $gap->{from} + 1 if $loss;
        $self->problem($gap->{pos}, $gap->{id}, ($self->{inst}{$sid}
            ? 'instance ' . short($sid) . ': checkpoint(s) '
            : 'session ' . short($sid) . ': event(s) ') . $gap->{from}
            . '..' . $gap->{to} . ' are missing: ' . ($loss
              ? $self->lost_words($loss) : 'deleted from the trail'));
    }
    return unless defined $s->{last};
    $self->start_of($sid, $s);
    if (defined $s->{ended} && $s->{last} > $s->{ended}) {
        $self->problem($s->{first_at}[0], $s->{first_at}[1], 'session '
            . short($sid) . ' has events after its end (event '
            . $s->{ended} . '): they were added to the trail');
    }
}

# a session's first event kept is not event 1: trimmed or deleted?
sub start_of {
    my ($self, $sid, $s) = @_;
    return if $s->{first} == 1;
    my $iid = $self->{inst}{$sid} ? $sid : $s->{instance};
    my $i = defined $iid ? $self->{inst}{$iid} : undef;

    # a checkpoint kept names it: checked with that checkpoint
    return if $s->{named};

    my @at = @{ $s->{first_at} };
    if ($i && !$self->{inst}{$sid} && ($i->{anchor} == 1 || !$i->{trimmable}))
    {
        # every checkpoint of the instance is kept, and none names the
        # events before this one: they were never sealed, then deleted
        return $self->problem(@at, 'session ' . short($sid)
            . ': event(s) 1..' . ($s->{first} - 1)
            . ' are missing: deleted from the trail');
    }
    if ($self->{inst}{$sid}) {
        return;                 # said when its first checkpoint came
    }
    if ($self->{trimmed}) {
        $self->{trimmed_sessions}++;
        return;
    }
    $self->problem(@at, ($self->{inst}{$sid}
        ? 'instance ' . short($sid) . ': checkpoint(s) 1..'
        : 'session ' . short($sid) . ': event(s) 1..') . ($s->{first} - 1)
        . ' are missing: deleted from the trail (nothing says it was'
        . ' trimmed by retention; an export of a trimmed stream is checked'
        . ' with --window)');
}

# after the last entry
sub finish {
    my ($self) = @_;

    if ($self->{pos} == 0) {
        $self->problem(0, 'the trail', 'it is empty: no entry to check');
    }
    my $xdel = $self->{info}{'max-deleted-entry-id'};
    if (defined $xdel && $xdel ne '0-0') {
        $self->problem(0, 'the stream', 'Redis says entries were deleted'
            . " from it one by one (XDEL, the newest $xdel): that is not"
            . ' retention, and what they were cannot be known');
    }
    for my $g (@{ $self->{expect} }) {
        my @i = grep { ($_->{gateway} // '') eq $g } values %{ $self->{inst} };
        if (!@i) {
            $self->problem(0, 'the trail', "gateway $g has no checkpoint in"
                . ' it: its part of the trail is gone');
            next;
        }
        # the gateway as a whole seals every interval while it runs
        my ($newest) = sort { $b->{ms} <=> $a->{ms} } map { $_->{last} } @i;
        my $live = grep { !$_->{last}{final} } @i;
        if ($live && $self->reference_ms - $newest->{ms}
            > 3 * $newest->{interval})
        {
            $self->problem(0, 'the trail', "gateway ${g}'s newest checkpoint"
                . ' is from ' . ms_iso($newest->{ms}) . ', more than three'
                . ' intervals before ' . ms_iso($self->reference_ms)
                . ': the newest part of its trail is gone');
        }
    }
    if ($self->{key_given} && !%{ $self->{signed} // {} } && $self->{pos}) {
        $self->problem(0, 'the trail', 'no checkpoint signed with the'
            . ' given key is in it: nothing proves it complete');
    }

    $self->orphans($_) for sort keys %{ $self->{orphans} // {} };

    my $interval = 60000;
    for my $iid (sort keys %{ $self->{inst} }) {
        my $last = $self->{inst}{$iid}{last};
        $interval = $last->{interval} if $last->{interval} > $interval;
        $self->stopped($iid, $self->{inst}{$iid});
    }

    $self->peers_seen;

    # an instance with events and no checkpoint at all: it had no time to
    # write one, or they were all deleted
    for my $iid (sort keys %{ $self->{writers} }) {
        next if $self->{inst}{$iid};
        my $w = $self->{writers}{$iid};
        if ($w->{ms} && $self->reference_ms - $w->{ms} > 3 * $interval) {
            $self->problem($w->{pos}, $w->{id}, 'instance ' . short($iid)
                . ' (' . ($w->{gateway} // '?') . ') wrote events from '
                . ms_iso($w->{ms}) . ' but none of its checkpoints is in'
                . ' the trail: its worker was killed before its first'
                . ' checkpoint, or its checkpoints were deleted');
        }
    }

    for my $sid (sort keys %{ $self->{sess} }) {
        my $s = $self->{sess}{$sid};
        next unless ref $s eq 'HASH';
        if (!defined $s->{last}) {
            # named by checkpoints, never stored
            $self->finish_session($sid, $s);
            next;
        }
        $self->finish_session($sid, $s);
        $self->{unsealed} += keys %{ $s->{recent} }
            if defined $s->{instance} && $sid ne $s->{instance};
    }
}

# every checkpoint another instance saw is in the trail: an instance, or a
# generation of workers, deleted whole is seen by those that saw it
sub peers_seen {
    my ($self) = @_;
    for my $k (sort { $self->{peer_expect}{$a}{by}{pos}
                      <=> $self->{peer_expect}{$b}{by}{pos} }
               keys %{ $self->{peer_expect} // {} })
    {
        my $x = $self->{peer_expect}{$k};
        my ($iid, $seq) = split m{/}, $k;
        next if $self->{restated}{$k};
        my $have = $self->{cp_seen}{$k};
        if (defined $have) {
            next if $have eq $x->{hash};
            $self->problem($x->{by}{pos}, $x->{by}{id}, 'instance '
                . short($iid) . ": checkpoint $seq is not the one checkpoint"
                . " $x->{by}{seq} of $x->{name} saw: it was replaced");
            next;
        }

        # seen a moment before the end: it may still be on its way
        next if defined $x->{ms} && $self->reference_ms - $x->{ms} < 5000;

        # before the oldest entry kept: trimmed
        if ($self->{trimmed} && defined $self->{first_id_ms}
            && defined $x->{ms}
            && $x->{ms} - 3 * $x->{interval} < $self->{first_id_ms}
            && !$self->{inst}{$iid})
        {
            next;
        }
        my $i = $self->{inst}{$iid};
        next if $i && $i->{anchor} > $seq && $i->{trimmable};
        $self->problem($x->{by}{pos}, $x->{by}{id}, 'instance '
            . short($iid) . ": its checkpoint $seq, which checkpoint"
            . " $x->{by}{seq} of $x->{name} saw, is missing: deleted from"
            . ' the trail' . ($i ? '' : ', with every entry of that'
            . ' instance'));
    }
}

# a live instance seals every interval; a stopped one said so
sub stopped {
    my ($self, $iid, $i) = @_;
    my $last = $i->{last};
    return if $last->{final};
    if ($last->{ms}
        && $self->reference_ms - $last->{ms} > 3 * $last->{interval})
    {
        $self->problem($last->{pos}, $last->{id}, 'instance ' . short($iid)
            . ' (' . ($i->{gateway} // '?') . ', ' . ($i->{subsystem} // '?')
            . ', pid ' . ($i->{pid} // '?') . ') stopped sealing after'
            . " checkpoint $last->{seq} (" . ms_iso($last->{ms}) . '),'
            . ' without a final one, before ' . ms_iso($self->reference_ms)
            . ': its worker was killed, or the newest part of its trail'
            . ' was deleted (or it cannot reach Redis and its spool still'
            . ' holds them)');
    }
}

# when the trail is judged: --as-of, else Redis's clock for a live trail,
# else when the newest entry was stored
sub reference_ms {
    my ($self) = @_;
    return $self->{now} * 1000 if defined $self->{now};
    return $self->{info}{now_ms} if defined $self->{info}{now_ms};
    return $self->{newest_id_ms} // $self->{newest_ms};
}

sub range_words {
    my @n = @_;
    return "event $n[0]" if @n == 1;
    return "events $n[0]..$n[-1]"
        if $n[-1] =~ /^\d+\z/ && $n[-1] - $n[0] == $#n;
    return 'events ' . join(', ', @n[0 .. ($#n > 5 ? 5 : $#n)])
        . ($#n > 5 ? ', ...' : '');
}

sub result {
    my ($self) = @_;
    $self->finish;
    my @p = sort { $a->{pos} <=> $b->{pos} } @{ $self->{problems} };
    my %gw;
    for my $iid (sort keys %{ $self->{inst} }) {
        my $i = $self->{inst}{$iid};
        push @{ $gw{ $i->{gateway} // '?' } }, { instance => $iid,
            subsystem => $i->{subsystem}, pid => $i->{pid},
            first_checkpoint => ms_iso($i->{first_ms} // 0),
            last_checkpoint => ms_iso($i->{last}{ms} // 0),
            final => $i->{last}{final} ? 1 : 0 };
    }
    return {
        ok => @p ? 0 : 1,
        judged_at => ms_iso($self->reference_ms // 0),
        gateways => \%gw,
        key_spans => { map { $_ => [ map { ms_iso($_) }
            @{ $self->{key_span}{$_} } ] } keys %{ $self->{key_span} // {} } },
        late => $self->{late} // 0,
        lost_checkpoints => $self->{lost_checkpoints} // 0,
        redis_losses => $self->{redis_losses} // 0,
        lost_with_redis => $self->{lost_events} // 0,
        legacy => $self->{legacy} // 0,
        problems => \@p,
        events => $self->{events},
        sessions => $self->{sessions} - keys %{ $self->{inst} },
        instances => scalar keys %{ $self->{inst} },
        checkpoints => $self->{checkpoints},
        signed_by => [ sort keys %{ $self->{signed} // {} } ],
        unchecked_signatures => $self->{unchecked_signatures} // 0,
        unsealed => $self->{unsealed} // 0,
        duplicates => $self->{duplicates},
        trimmed_events => $self->{trimmed_events} // 0,
        trimmed_checkpoints => $self->{trimmed_checkpoints} // 0,
        trimmed_sessions => $self->{trimmed_sessions} // 0,
    };
}

1;

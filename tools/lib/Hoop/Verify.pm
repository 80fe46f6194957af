package Hoop::Verify;

# Checks an audit trail (docs/audit-events.md): every session's chain, and
# every gateway instance's checkpoints: their chain, their signatures with
# the public key(s) an auditor was given, and that every event they sealed
# is there, unchanged, and nothing was added.  Reports problems in words
# an auditor understands, first by position in the trail.
#
#   my $v = Hoop::Verify->new(public_keys => [...], hmac_key => ...,
#                             window => 0, now => time);
#   $v->add($entry) for each entry, oldest first;
#   my $r = $v->result;   # { ok, problems => [...], counts... }

use strict;
use warnings;

use Digest::SHA qw(sha256_hex hmac_sha256_hex);
use Hoop::Trail;

my $GENESIS = '0' x 64;
my $MAX_PROBLEMS = 1000;

# a worker seals every interval; one three intervals late has stopped

sub new {
    my ($class, %o) = @_;
    my $self = bless {
        json      => Hoop::Trail::json(),
        hmac_key  => $o{hmac_key},
        window    => $o{window},
        # whether the oldest part of the trail may be missing: trimmed by
        # MAXLEN (Redis says so), or declared with --window
        trimmed   => $o{window} || $o{trimmed},
        now       => $o{now},            # epoch seconds, or undef
        keys      => {},                 # key id => Crypt::PK::Ed25519
        pos       => 0,
        sess      => {},                 # session => state
        inst      => {},                 # instance => state
        problems  => [],
        events    => 0,
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
}

sub short { substr($_[0] // '?', 0, 12) }

sub iso_ms {
    my ($t) = @_;
    return undef unless defined $t && $t =~
        /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})Z$/;
    require Time::Local;
    return Time::Local::timegm($6, $5, $4, $3, $2 - 1, $1) * 1000 + $7;
}

sub add {
    my ($self, $e) = @_;
    my $pos = ++$self->{pos};
    my $id = $e->{id} // "entry $pos";

    if ($e->{unreadable}) {
        return $self->problem($pos, $id, 'this line of the export is not'
            . ' JSON: the export was damaged');
    }
    for my $f (qw(session seq event prev hash)) {
        next if defined $e->{$f};
        return $self->problem($pos, $id, "the entry has no \"$f\" field:"
            . ' it was not written by the gateway');
    }
    my ($sid, $seq) = ($e->{session}, $e->{seq});
    my $s = $self->{sess}{$sid} //= { seqs => {} };
    my $where = "session " . short($sid) . ", event $seq";

    # delivered twice (a retry after Redis stored it without answering):
    # only a byte-identical copy is the same event
    if (my $seen = $s->{seqs}{$seq}) {
        my $same = $seen->{hash} eq $e->{hash} && $seen->{digest}
            eq sha256_hex(join "\n", $e->{prev}, $e->{event},
                $e->{sig} // '');
        if ($same) {
            $self->{duplicates}++;
            return;
        }
        return $self->problem($pos, $id, "$where is recorded twice with"
            . ' different content: one of the two was forged');
    }

    my $input = "$e->{prev}\n$e->{event}";
    my $hash = defined $self->{hmac_key}
        ? hmac_sha256_hex($input, $self->{hmac_key}) : sha256_hex($input);
    if ($hash ne $e->{hash}) {
        return $self->problem($pos, $id, "$where was changed after it was"
            . ' written: its content does not match its hash'
            . (defined $self->{hmac_key} ? ' (or another audit key)' : ''));
    }
    my $ev = eval { $self->{json}->decode($e->{event}) };
    if (ref $ev ne 'HASH') {
        return $self->problem($pos, $id, "$where is not a JSON object");
    }
    if (($ev->{session} // '') ne $sid || ($ev->{seq} // -1) != $seq) {
        return $self->problem($pos, $id, "$where was moved: the event"
            . ' inside says session ' . short($ev->{session})
            . ', event ' . ($ev->{seq} // '?'));
    }

    $self->{events}++;
    my $ms = iso_ms($ev->{time});
    $self->{newest_ms} = $ms if $ms && $ms > $self->{newest_ms};

    $s->{seqs}{$seq} = {
        hash => $e->{hash}, pos => $pos, id => $id,
        digest => sha256_hex(join "\n", $e->{prev}, $e->{event},
            $e->{sig} // ''),
    };
    $s->{instance} //= $ev->{instance};
    $s->{gateway} //= $ev->{gateway};
    if (defined $ev->{instance}) {
        ($self->{writers}{ $ev->{instance} } //= { ms => $ms,
            pos => $pos, id => $id, gateway => $ev->{gateway} })->{n}++;
    }

    $self->chain($s, $sid, $seq, $e, $pos, $id);

    $self->checkpoint($ev, $e, $pos, $id, $ms)
        if ($ev->{type} // '') eq 'audit.checkpoint';
}

# the session's chain: numbered without gaps, each naming the one before
sub chain {
    my ($self, $s, $sid, $seq, $e, $pos, $id) = @_;
    my $where = 'session ' . short($sid);

    if (!defined $s->{last}) {
        $s->{first} = $seq;
        $s->{first_pos} = $pos;
        $s->{first_prev} = $e->{prev};
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
            after => $seq, pos => $pos, id => $id };
    } elsif ($e->{prev} ne $s->{last_hash}) {
        $self->problem($pos, $id, "$where, event $seq does not name the"
            . ' hash of the event before it: one of them was replaced');
    }
    $s->{last} = $seq;
    $s->{last_hash} = $e->{hash};
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
        return $self->problem($pos, $id, "$where is malformed");
    }

    my $i = $self->{inst}{$iid} //= { checkpoints => [] };
    $i->{gateway} = $ev->{gateway};
    $i->{subsystem} = $cp->{subsystem};
    $i->{pid} = $cp->{pid};

    if (%{ $self->{keys} }) {
        my $pk = defined $cp->{key} ? $self->{keys}{ $cp->{key} } : undef;
        if (!defined $cp->{key} || !defined $e->{sig}) {
            return $self->problem($pos, $id, "$where is not signed: the"
                . ' gateway had no signing key, or the signature was'
                . ' removed');
        }
        if (!$pk) {
            return $self->problem($pos, $id, "$where is signed with a key"
                . ' not given to the verifier (key id '
                . short($cp->{key}) . ')');
        }
        if ($e->{sig} !~ /^[0-9a-f]{128}\z/
            || !$pk->verify_message(pack('H*', $e->{sig}), $e->{hash}))
        {
            return $self->problem($pos, $id, "$where has a signature that"
                . ' does not verify: the checkpoint was forged or changed');
        }
        $self->{signed}{ $cp->{key} }++;
    } elsif (defined $cp->{key}) {
        $self->{unchecked_signatures}++;
    }

    push @{ $i->{checkpoints} }, {
        seq => $e->{seq}, pos => $pos, id => $id, ms => $ms,
        final => $cp->{final} ? 1 : 0, sessions => $cp->{sessions},
        interval => $cp->{interval_ms} // 60000,
    };
}

# after the last entry: what the checkpoints say must be there
sub finish {
    my ($self) = @_;

    for my $iid (sort keys %{ $self->{inst} }) {
        $self->seals($iid, $self->{inst}{$iid});
    }

    # an instance with events and no checkpoint at all: it had no time to
    # write one, or they were all deleted
    my ($interval) = sort { $b <=> $a } map { $_->{interval} }
        map { @{ $_->{checkpoints} } } values %{ $self->{inst} };
    $interval //= 60000;
    for my $iid (sort keys %{ $self->{writers} // {} }) {
        next if $self->{inst}{$iid};
        my $w = $self->{writers}{$iid};
        if ($w->{ms} && $self->reference_ms - $w->{ms} > 3 * $interval) {
            $self->problem($w->{pos}, $w->{id}, 'instance ' . short($iid)
                . ' (' . ($w->{gateway} // '?') . ') wrote events from '
                . ms_iso($w->{ms}) . ' but none of its checkpoints is in'
                . ' the trail: its worker was killed before its first'
                . ' checkpoint, or its checkpoints were deleted');
        }
        $self->{unsealed} += $w->{n};
    }

    for my $sid (sort keys %{ $self->{sess} }) {
        my $s = $self->{sess}{$sid};
        next unless defined $s->{last};
        for my $gap (@{ $s->{gaps} // [] }) {
            next if $gap->{filled};
            $self->problem($gap->{pos}, $gap->{id}, $self->{inst}{$sid}
                ? 'instance ' . short($sid) . ': checkpoint(s) '
                  . "$gap->{from}..$gap->{to} are missing: deleted from"
                  . ' the trail'
                : 'session ' . short($sid) . ': event(s) ' . $gap->{from}
                  . '..' . $gap->{to} . ' are missing: deleted from the'
                  . ' trail');
        }
        $self->start_of($sid, $s);
        if (defined $s->{ended} && $s->{last} > $s->{ended}) {
            my $after = $s->{seqs}{ $s->{ended} + 1 }
                // $s->{seqs}{ $s->{last} };
            $self->problem($after->{pos}, $after->{id}, 'session '
                . short($sid) . ' has events after its end (event '
                . $s->{ended} . '): they were added to the trail');
        }
    }
}

# one instance's checkpoints: what they seal must be there, unchanged
sub seals {
    my ($self, $iid, $i) = @_;
    my @cps = @{ $i->{checkpoints} };
    my $name = 'instance ' . short($iid) . ' (' . ($i->{gateway} // '?')
        . ', ' . ($i->{subsystem} // '?') . ', pid '
        . ($i->{pid} // '?') . ')';
    $i->{anchor} = $cps[0]{seq};
    $self->{trimmed_checkpoints}++ if $cps[0]{seq} > 1;

    for my $k (0 .. $#cps) {
        my $cp = $cps[$k];
        my $anchor = $k == 0;
        for my $r (@{ $cp->{sessions} }) {
            my ($sid, $from, $to) = @$r{qw(id from to)};
            next unless defined $sid && defined $from && defined $to;
            my $s = $self->{sess}{$sid} //= { seqs => {} };
            $s->{sealed_to} = $to if ($s->{sealed_to} // 0) < $to;
            $s->{named}++;
            $s->{sealed_in}{$to} //= $cp;
            $s->{ended} = $to if $r->{end};
            my @missing = grep { !$s->{seqs}{$_} } $from .. $to;
            if (@missing && $anchor && $self->{trimmed}) {
                # before the first checkpoint kept: trimmed, if it is the
                # oldest part of the session (MAXLEN trims from the start)
                my $kept = $s->{first};
                my @holes = grep { !defined $kept || $_ > $kept } @missing;
                $self->{trimmed_events} += @missing - @holes;
                @missing = @holes;
            }
            if (@missing) {
                $self->problem($cp->{pos}, $cp->{id}, 'session '
                    . short($sid) . ': ' . range_words(@missing)
                    . ", sealed by checkpoint $cp->{seq} of $name, "
                    . (@missing > 1 ? 'are' : 'is') . ' missing: deleted'
                    . ' from the trail');
            }
            my $last = $s->{seqs}{$to};
            if ($last && $last->{hash} ne ($r->{hash} // '')) {
                $self->problem($cp->{pos}, $cp->{id}, 'session '
                    . short($sid) . ", event $to is not the one checkpoint"
                    . " $cp->{seq} of $name sealed: it was replaced");
            }
        }
    }

    # every event of this instance stored before its last checkpoint was
    # sealed by one: anything else was added later.  Before the first
    # checkpoint kept, when earlier ones were trimmed, an event may have
    # been sealed by one of those.
    my $last = $cps[-1];
    my $from = $cps[0]{seq} > 1 ? $cps[0]{pos} : 0;
    for my $sid (keys %{ $self->{sess} }) {
        my $s = $self->{sess}{$sid};
        next unless ($s->{instance} // '') eq $iid && $sid ne $iid;
        for my $seq (keys %{ $s->{seqs} }) {
            my $x = $s->{seqs}{$seq};
            if ($x->{pos} > $from && $x->{pos} < $last->{pos}
                && $seq > ($s->{sealed_to} // 0))
            {
                $self->problem($x->{pos}, $x->{id}, 'session '
                    . short($sid) . ", event $seq is stored before"
                    . " checkpoint $last->{seq} of $name but no checkpoint"
                    . ' seals it: it was added to the trail');
            } elsif ($x->{pos} > $last->{pos}) {
                $self->{unsealed}++;
            }
        }
    }

    # a live instance seals every interval; a stopped one said so
    return if $last->{final};
    if ($last->{ms}
        && $self->reference_ms - $last->{ms} > 3 * $last->{interval})
    {
        $self->problem($last->{pos}, $last->{id}, "$name stopped sealing"
            . ' after checkpoint ' . $last->{seq} . ' (' . (ms_iso($last->{ms}))
            . ') without a final one: its worker was killed, or the'
            . ' newest part of its trail was deleted');
    }
}

# a session's first event kept is not event 1: trimmed or deleted?
sub start_of {
    my ($self, $sid, $s) = @_;
    return if $s->{first} == 1;
    my $iid = $s->{instance};
    my $i = defined $iid ? $self->{inst}{$iid} : undef;
    my $first = $s->{seqs}{ $s->{first} };

    # the first checkpoint kept names it: checked with that checkpoint
    return if $s->{named};

    if ($i && $i->{anchor} == 1) {
        # every checkpoint of the instance is kept, and none names the
        # events before this one: they were never sealed, then deleted
        return $self->problem($first->{pos}, $first->{id}, 'session '
            . short($sid) . ': event(s) 1..' . ($s->{first} - 1)
            . ' are missing: deleted from the trail');
    }
    if ($self->{trimmed}) {
        $self->{trimmed_sessions}++;
        return;
    }
    $self->problem($first->{pos}, $first->{id}, ($self->{inst}{$sid}
        ? 'instance ' . short($sid) . ': checkpoint(s) 1..'
        : 'session ' . short($sid) . ': event(s) 1..') . ($s->{first} - 1)
        . ' are missing: deleted from the trail (nothing says it was'
        . ' trimmed by retention; an export of a trimmed stream is checked'
        . ' with --window)');
}

# "now" for a live trail, else the time of the newest event in it
sub reference_ms {
    my ($self) = @_;
    return defined $self->{now} ? $self->{now} * 1000 : $self->{newest_ms};
}

sub range_words {
    my @n = @_;
    return "event $n[0]" if @n == 1;
    return "events $n[0]..$n[-1]" if $n[-1] - $n[0] == $#n;
    return 'events ' . join(', ', @n[0 .. ($#n > 5 ? 5 : $#n)])
        . ($#n > 5 ? ', ...' : '');
}

sub ms_iso {
    my ($ms) = @_;
    my @t = gmtime int($ms / 1000);
    return sprintf '%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', $t[5] + 1900,
        $t[4] + 1, @t[3, 2, 1, 0], $ms % 1000;
}

sub result {
    my ($self) = @_;
    $self->finish;
    my @p = sort { $a->{pos} <=> $b->{pos} } @{ $self->{problems} };
    # sessions and events of clients; checkpoints are counted apart
    my $checkpoints = 0;
    $checkpoints += @{ $_->{checkpoints} } for values %{ $self->{inst} };
    my $sessions = grep { defined $self->{sess}{$_}{last}
        && !$self->{inst}{$_} } keys %{ $self->{sess} };
    return {
        ok => @p ? 0 : 1,
        problems => \@p,
        events => $self->{events} - $checkpoints,
        sessions => $sessions,
        instances => scalar keys %{ $self->{inst} },
        checkpoints => $checkpoints,
        signed_by => [ sort keys %{ $self->{signed} // {} } ],
        unchecked_signatures => $self->{unchecked_signatures} // 0,
        unsealed => $self->{unsealed} // 0,
        duplicates => $self->{duplicates},
        trimmed_events => $self->{trimmed_events} // 0,
        trimmed_sessions => $self->{trimmed_sessions} // 0,
    };
}

1;

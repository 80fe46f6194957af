package Hoop::Sessions;

# Sessions of the audit trail as an auditor reads them: who, on which
# gateway, when, and what happened (operations, denials, holds, values
# masked), and one session as a transcript.  Reads the events as
# docs/audit-events.md describes them; checkpoints are not sessions.

use strict;
use warnings;

use Hoop::Trail;

sub new {
    my ($class) = @_;
    return bless { sess => {}, order => [], json => Hoop::Trail::json() },
        $class;
}

# the kind of session an event belongs to
sub kind_of {
    my ($ev) = @_;
    my $t = $ev->{type} // '';
    my $proto = ref $ev->{client} eq 'HASH' ? $ev->{client}{protocol} // ''
        : '';
    return 'postgres' if $t =~ /^pg\./ || $proto eq 'postgresql';
    return 'git' if $t =~ /^git\./;
    return 'k8s' if $t =~ /^k8s\./;
    return 'http';
}

# the sum of a {"type": n} object of masked counts
sub masked_sum {
    my ($m) = @_;
    return 0 unless ref $m eq 'HASH';
    my $n = 0;
    $n += $_ for grep { /^\d+\z/ } values %$m;
    return $n;
}

sub add {
    my ($self, $e) = @_;
    my $ev = eval { $self->{json}->decode($e->{event} // '') };
    return unless ref $ev eq 'HASH' && defined $ev->{session};
    my $t = $ev->{type} // '';
    return if $t eq 'audit.checkpoint';

    my $s = $self->{sess}{ $ev->{session} };
    if (!$s) {
        $s = $self->{sess}{ $ev->{session} } = {
            session => $ev->{session}, kind => kind_of($ev),
            gateway => $ev->{gateway}, instance => $ev->{instance},
            began => $ev->{time}, events => 0, operations => 0,
            denied => 0, held => 0, masked => 0, ended => 0,
        };
        push @{ $self->{order} }, $ev->{session};
    }
    $s->{events}++;
    $s->{last} = $ev->{time};
    if (ref $ev->{identity} eq 'HASH' && !defined $s->{identity}) {
        $s->{identity} = $ev->{identity}{sub};
        $s->{email} = $ev->{identity}{email};
    }
    $s->{client} //= ref $ev->{client} eq 'HASH' ? $ev->{client}{address}
        : ref $ev->{request} eq 'HASH' ? $ev->{request}{client} : undef;
    $s->{operations}++ if $t eq 'pg.query' || $t eq 'http.request';
    my $d = ref $ev->{decision} eq 'HASH' ? $ev->{decision} : {};
    $s->{denied}++ if ($d->{result} // '') eq 'deny';
    $s->{held}++ if $t eq 'review.requested';
    $s->{masked} += masked_sum($ev->{result}{masked})
        if ref $ev->{result} eq 'HASH';
    $s->{masked} += masked_sum($ev->{response}{masked})
        if ref $ev->{response} eq 'HASH';
    if ($t =~ /\.session\.end\z/) {
        $s->{ended} = 1;
        $s->{end_reason} = ref $ev->{session_end} eq 'HASH'
            ? $ev->{session_end}{reason} // 'closed' : 'closed';
    }
    if ($t eq 'auth.failure' || $t eq 'pg.refused') {
        $s->{ended} = 1;
        $s->{end_reason} = 'refused';
    }
}

# the sessions that pass the filter, oldest first
sub list {
    my ($self, $f) = @_;
    my @out;
    for my $sid (@{ $self->{order} }) {
        my $s = $self->{sess}{$sid};
        next if defined $f->{identity}
            && ($s->{identity} // '') ne $f->{identity}
            && ($s->{email} // '') ne $f->{identity};
        next if defined $f->{gateway} && ($s->{gateway} // '') ne $f->{gateway};
        next if defined $f->{kind} && $s->{kind} ne
            ($f->{kind} eq 'pg' ? 'postgres' : $f->{kind});
        my $began = Hoop::Verify::iso_ms($s->{began}) // 0;
        my $last = Hoop::Verify::iso_ms($s->{last}) // $began;
        next if defined $f->{since} && $last < $f->{since};
        next if defined $f->{until} && $began >= $f->{until};
        push @out, { %$s };
    }
    return @out;
}

sub clock {
    my ($t) = @_;
    return defined $t && $t =~ /T(\d\d:\d\d:\d\d\.\d{3})/ ? $1 : '?';
}

sub masked_words {
    my ($m) = @_;
    return '' unless ref $m eq 'HASH' && %$m;
    return 'masked ' . join(', ', map { "$_ $m->{$_}" } sort keys %$m);
}

sub decision_words {
    my ($d) = @_;
    return '' unless ref $d eq 'HASH';
    my $w = ($d->{result} // '?');
    $w .= ' by ' . (defined $d->{rule} ? $d->{rule} : 'default')
        if exists $d->{rule};
    $w .= " ($d->{reason})" if defined $d->{reason};
    if (ref $d->{review} eq 'HASH') {
        $w .= ", review $d->{review}{id} $d->{review}{status}";
        $w .= " by $d->{review}{decided_by}" if $d->{review}{decided_by};
    }
    return $w;
}

# one session's events (in order) as lines an auditor reads
sub transcript {
    my @ev = @_;
    my $f = $ev[0];
    my ($who) = grep { ref $_->{identity} eq 'HASH' } @ev;
    my $id = $who ? $who->{identity} : {};
    my $out = sprintf "session %s (%s) on %s, instance %s\n", $f->{session},
        kind_of($f), $f->{gateway} // '?', $f->{instance} // '?';
    $out .= sprintf "  identity %s%s%s\n", $id->{sub} // 'none',
        $id->{email} ? " <$id->{email}>" : '',
        ref $id->{groups} eq 'ARRAY' && @{ $id->{groups} }
            ? ' groups ' . join(',', @{ $id->{groups} }) : ''
        if $who;
    for my $ev (@ev) {
        my $t = $ev->{type} // '?';
        my $line;
        if ($t eq 'pg.query') {
            my $q = ref $ev->{query} eq 'HASH' ? $ev->{query} : {};
            my $r = ref $ev->{result} eq 'HASH' ? $ev->{result} : {};
            my @what = (defined $r->{rows} ? "$r->{rows} rows" : (),
                defined $r->{sqlstate} && $r->{sqlstate} ne '00000'
                    ? "SQLSTATE $r->{sqlstate}" : (),
                $r->{ran} ? () : 'not run',
                masked_words($r->{masked}) || (),
                defined $r->{duration_ms} ? "$r->{duration_ms} ms" : ());
            $line = sprintf "%s [%s] %s\n        %s", decision_words(
                $ev->{decision}), $q->{kind} // '?', $q->{sql} // '(unread)',
                join(', ', @what);
        } elsif ($t eq 'http.request') {
            my $q = ref $ev->{request} eq 'HASH' ? $ev->{request} : {};
            my $r = ref $ev->{response} eq 'HASH' ? $ev->{response} : {};
            $line = sprintf "%s %s %s -> %s, %s", $q->{method} // '?',
                $q->{host} // '', $q->{path} // '?', $r->{status} // '?',
                join(', ', decision_words($ev->{decision}),
                    masked_words($r->{masked}) || (),
                    defined $r->{duration_ms} ? "$r->{duration_ms} ms"
                        : ());
        } elsif ($t =~ /\Akube\.(?:exec|attach|portforward)\z/) {
            my $k = ref $ev->{kube} eq 'HASH' ? $ev->{kube} : {};
            my $x = ref $k->{session} eq 'HASH' ? $k->{session} : {};
            my $r = ref $ev->{response} eq 'HASH' ? $ev->{response} : {};
            $line = sprintf "%s/%s%s%s -> %s, %s", $k->{namespace} // '?',
                $k->{name} // '?',
                defined $k->{command} ? " -- $k->{command}" : '',
                $k->{tty} ? ' (tty)' : '', $r->{status} // '?',
                join(', ', decision_words($ev->{decision}),
                    defined $x->{exit_code} ? "exit $x->{exit_code}" : (),
                    defined $x->{stdout_bytes}
                        ? "$x->{stdout_bytes} bytes out" : (),
                    masked_words($x->{masked}) || (),
                    $x->{truncated} ? 'recording truncated' : ());
        } elsif ($t eq 'kube.exec.data') {
            my @r = ref $ev->{records} eq 'ARRAY' ? @{ $ev->{records} } : ();
            my %n;
            $n{ $_->[1] }++ for grep { ref $_ eq 'ARRAY' } @r;
            $line = sprintf 'recorded part %s: %s', $ev->{part} // '?',
                join(', ', map { "$n{$_} $_" } sort keys %n);
        } elsif ($t eq 'pg.login') {
            my $r = ref $ev->{resource} eq 'HASH' ? $ev->{resource} : {};
            $line = sprintf 'login to database %s as %s%s',
                $r->{database} // '?', $r->{user} // '?',
                defined $r->{login} ? " (the gateway logged in as"
                    . " $r->{login})" : '';
        } elsif ($t eq 'auth.failure' || $t eq 'pg.refused') {
            $line = 'refused: ' . decision_words($ev->{decision});
        } elsif ($t eq 'review.requested') {
            my $r = ref $ev->{review} eq 'HASH' ? $ev->{review} : {};
            $line = sprintf 'held for review %s by rule %s (approvers %s,'
                . ' %s needed)', $r->{id} // '?', $r->{rule} // '?',
                $r->{approvers} // '?', $r->{required} // 1;
        } elsif ($t eq 'review.decided') {
            my $r = ref $ev->{review} eq 'HASH' ? $ev->{review} : {};
            $line = sprintf '%s review %s: %s%s', $r->{verdict} // '?',
                $r->{id} // '?', $r->{result} // '?',
                defined $r->{reason} ? " ($r->{reason})" : '';
        } elsif ($t =~ /\.session\.end\z/) {
            my $x = ref $ev->{session_end} eq 'HASH' ? $ev->{session_end}
                : {};
            $line = 'end: ' . join(', ', map { "$_ $x->{$_}" }
                grep { !ref $x->{$_} } sort keys %$x);
        } else {
            $line = $t;
        }
        $out .= sprintf "  #%-4s %s  %-16s %s\n", $ev->{seq} // '?',
            clock($ev->{time}), $t, $line;
    }
    return $out;
}

1;

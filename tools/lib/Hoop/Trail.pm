package Hoop::Trail;

# Reads the audit trail, oldest entry first, from a Redis stream or from an
# export (JSON lines), one entry at a time, so that a trail of millions of
# events is never all in memory.  Each entry is a hash:
#   { id, session, seq, event, prev, hash, sig? }
# as docs/audit-events.md describes.

use strict;
use warnings;

use Hoop::RESP;

sub slurp_secret {
    my ($f) = @_;
    open my $fh, '<', $f or die "$f: $!\n";
    local $/;
    my $s = <$fh>;
    $s =~ s/\r?\n\z//;
    return $s;
}

# JSON::XS when installed (tools/install-deps does): a million events take
# minutes to decode in pure Perl
sub json {
    require JSON::PP;
    return eval { require JSON::XS; JSON::XS->new->canonical }
        // JSON::PP->new->canonical;
}

# new(redis => 'host:port', stream => 'hoop:audit', db =>, password_file =>)
# new(file => 'export.jsonl')
sub new {
    my ($class, %o) = @_;
    my $self = bless { %o, json => json(), buf => [] }, $class;
    if ($o{file}) {
        open $self->{fh}, '<', $o{file} or die "$o{file}: $!\n";
    } else {
        $self->{stream} //= 'hoop:audit';
        $self->{redis} = Hoop::RESP->new($o{redis}, db => $o{db},
            password => $o{password_file} ? slurp_secret($o{password_file})
                : undef);
        # after => an entry id: only what came after it
        $self->{start} = defined $o{after} ? "($o{after}" : '-';
    }
    return $self;
}

# the live Redis connection, or undef for an export
sub redis { $_[0]{redis} }

# Redis's own facts about the stream: XINFO STREAM as a hash, the time
# on Redis's clock (epoch ms); dies when the stream does not exist.
sub stream_info {
    my ($self) = @_;
    return {} unless $self->{redis};
    my $r = $self->{redis};
    my $type = $r->command('TYPE', $self->{stream});
    die "no stream \"$self->{stream}\" in Redis (is --stream right?)\n"
        unless defined $type && $type eq 'stream';
    my %i = @{ $r->command('XINFO', 'STREAM', $self->{stream}) };
    my $t = $r->command('TIME');
    $i{now_ms} = $t->[0] * 1000 + int($t->[1] / 1000) if ref $t eq 'ARRAY';
    return \%i;
}

# Whether Redis says entries were trimmed from the stream's start (MAXLEN)
# and none deleted one by one (XDEL): XINFO STREAM's entries-added exceeds
# its length, and max-deleted-entry-id is 0-0 (Redis 7; XDEL sets it,
# trimming does not).  undef for an export: only --window can say so.
sub trimmed {
    my ($self) = @_;
    return undef unless $self->{redis};
    my $info = eval { $self->{redis}->command('XINFO', 'STREAM',
        $self->{stream}) } or return 0;
    my %i = @$info;
    return 0 unless defined $i{'entries-added'};
    return $i{'entries-added'} > $i{length}
        && ($i{'max-deleted-entry-id'} // '0-0') eq '0-0' ? 1 : 0;
}

# the next entry, or undef at the end
sub next {
    my ($self) = @_;
    if ($self->{fh}) {
        while (defined(my $line = readline $self->{fh})) {
            next unless $line =~ /\S/;
            my $e = eval { $self->{json}->decode($line) };

            # anything but an object is damage, never the end of the trail
            return ref $e eq 'HASH' ? $e
                : { id => "line $.", unreadable => 1 };
        }
        return undef;
    }
    unless (@{ $self->{buf} }) {
        return undef if $self->{done};
        my $batch = $self->{redis}->command('XRANGE', $self->{stream},
            $self->{start}, '+', 'COUNT', 2000);
        unless ($batch && @$batch) {
            $self->{done} = 1;
            return undef;
        }
        for my $e (@$batch) {
            my ($id, $fields) = @$e;
            push @{ $self->{buf} }, { id => $id, @$fields };
        }
        $self->{start} = '(' . $batch->[-1][0];
    }
    return shift @{ $self->{buf} };
}

1;

package Hoop::Report;

# The evidence report: the audit trail of a time range mapped to the
# ISO/IEC 27001:2022 Annex A controls the gateway helps meet, as Markdown
# or as one self-contained HTML page.  Per control: what the gateway
# enforces, counts, examples with their session ids, exceptions; and the
# trail's own verification with the public key's id.
#
#   my $r = Hoop::Report->new(since => $ms, until => $ms);
#   $r->add($event) for each decoded event of the trail;
#   my $data = $r->data($verify_result);
#   print Hoop::Report::markdown($data);   # or html($data)

use strict;
use warnings;

use Hoop::Verify;

my $EXAMPLES = 5;

# the controls, in the order of Annex A, and what the gateway does for each
my @CONTROLS = (
    ['5.15', 'Access control',
     'Every request and every SQL statement is decided by policy rules'
     . ' (hoop_rule) before it reaches the system behind the gateway; what'
     . ' no rule allows is denied by default.'],
    ['5.18', 'Access rights',
     'Access follows the identity provider: each operation is tied to the'
     . ' verified identity of an OIDC access token, its subject and groups,'
     . ' never to a shared credential.'],
    ['8.2', 'Privileged access rights',
     'Statements that change schema, privileges or the server (DDL, DCL,'
     . ' administrative commands) are classified by the PostgreSQL parser'
     . ' and the catalog, and allowed, held for approval or denied by rule.'],
    ['8.5', 'Secure authentication',
     'Clients authenticate with short-lived OIDC tokens (signature,'
     . ' issuer, audience and expiry checked, algorithms pinned); the'
     . ' gateway logs in upstream with credentials the client never sees.'],
    ['8.11', 'Data masking',
     'Sensitive values (columns by rule; emails, cards, IBANs, SSNs,'
     . ' phones, keys and tokens by detector) are masked in results and'
     . ' responses before they leave the gateway; what could not be read'
     . ' is refused or recorded as passed.'],
    ['8.15', 'Logging',
     'Every operation is an event in an append-only trail, chained per'
     . ' session and sealed by checkpoints signed with the gateway\'s'
     . ' Ed25519 key, verifiable with the public key alone.'],
    ['8.16', 'Monitoring activities',
     'Denials, failed logins and held operations are recorded as they'
     . ' happen, with the identity and the rule, for review and alerting.'],
    ['8.32', 'Change management',
     'Risky operations (by rule) are held until members of approver'
     . ' groups other than the requester approve them; requests, decisions'
     . ' and their reasons are recorded.'],
);

sub new {
    my ($class, %o) = @_;
    return bless { since => $o{since}, until => $o{until}, c => {},
        ex => {}, ids => {}, sessions => {}, first => undef, last => undef },
        $class;
}

sub example {
    my ($self, $control, $text) = @_;
    my $list = $self->{ex}{$control} //= [];
    push @$list, $text if @$list < $EXAMPLES;
}

sub count { $_[0]{c}{ $_[1] } += $_[2] // 1 }

sub masked_of {
    my ($m) = @_;
    return {} unless ref $m eq 'HASH';
    return { map { $_ => $m->{$_} } grep { $m->{$_} =~ /^\d+\z/ } keys %$m };
}

sub add {
    my ($self, $ev) = @_;
    my $t = $ev->{type} // '';
    return if $t eq 'audit.checkpoint';
    my $ms = Hoop::Verify::iso_ms($ev->{time}) // return;
    return if defined $self->{since} && $ms < $self->{since};
    return if defined $self->{until} && $ms >= $self->{until};
    $self->{first} = $ev->{time} if !defined $self->{first};
    $self->{last} = $ev->{time};

    my $sid = $ev->{session} // '?';
    my $short = substr($sid, 0, 12);
    my $who = ref $ev->{identity} eq 'HASH' ? $ev->{identity} : undef;
    my $sub = $who ? $who->{sub} // '?' : undef;
    my $d = ref $ev->{decision} eq 'HASH' ? $ev->{decision} : {};
    my $deny = ($d->{result} // '') eq 'deny';
    my $rule = exists $d->{rule} ? $d->{rule} // 'default' : undef;
    my $kind = Hoop::Sessions::kind_of($ev);

    if (!$self->{sessions}{$sid}++) {
        $self->count("sessions.$kind");
    }
    if ($sub) {
        my $i = $self->{ids}{$sub} //= { sessions => {}, ops => 0,
            denied => 0, groups => {} };
        $i->{sessions}{$sid} = 1;
        $i->{groups}{$_} = 1 for grep { !ref }
            @{ ref $who->{groups} eq 'ARRAY' ? $who->{groups} : [] };
    }

    my ($what, $masked);
    if ($t eq 'pg.query') {
        my $q = ref $ev->{query} eq 'HASH' ? $ev->{query} : {};
        my $r = ref $ev->{result} eq 'HASH' ? $ev->{result} : {};
        $what = 'SQL ' . ($q->{kind} // '?') . ': ' . ($q->{sql} // '(unread)');
        $masked = masked_of($r->{masked});
        $self->count('statements');
        $self->count("statements.$_") for grep { defined } $q->{kind};
        if (($q->{kind} // '') =~ /^(ddl|dcl|admin)\z/) {
            $self->count($deny ? 'privileged.denied' : 'privileged.allowed');
            $self->example('8.2', sprintf '%s %s: %s by %s (%s), session %s',
                $ev->{time}, $deny ? 'denied' : 'allowed', $what,
                $sub // '?', $rule // '-', $short);
        }
    } elsif ($t eq 'http.request') {
        my $q = ref $ev->{request} eq 'HASH' ? $ev->{request} : {};
        my $r = ref $ev->{response} eq 'HASH' ? $ev->{response} : {};
        $what = sprintf '%s %s -> %s', $q->{method} // '?',
            $q->{path} // '?', $r->{status} // '?';
        $masked = masked_of($r->{masked});
        $self->count('requests');
        if (($r->{status} // 0) == 401) {
            $self->count('auth.failed');
            $self->example('8.5', "$ev->{time} HTTP 401 for $what,"
                . " session $short");
        }
        if (ref $r->{unmasked} eq 'HASH') {
            $self->count('unmasked');
            $self->example('8.11x', sprintf '%s %s: body not masked (%s,'
                . ' %s), session %s', $ev->{time}, $what,
                $r->{unmasked}{reason} // '?', $r->{unmasked}{action} // '?',
                $short);
        }
    } elsif ($t eq 'pg.login') {
        $self->count('auth.ok');
    } elsif ($t eq 'auth.failure') {
        $self->count('auth.failed');
        $self->count('auth.failed.' . ($d->{reason} // 'refused'));
        $self->example('8.5', sprintf '%s Postgres login refused: %s,'
            . ' session %s', $ev->{time}, $d->{reason} // '?', $short);
    } elsif ($t eq 'pg.refused') {
        $self->count('refused');
    } elsif ($t eq 'review.requested') {
        my $r = ref $ev->{review} eq 'HASH' ? $ev->{review} : {};
        $self->count('reviews.requested');
        $self->example('8.32', sprintf '%s held for review %s by rule %s'
            . ' (approvers %s): requested by %s, session %s', $ev->{time},
            substr($r->{id} // '?', 0, 12), $r->{rule} // '?',
            $r->{approvers} // '?', $sub // '?', $short);
    } elsif ($t eq 'review.decided') {
        my $r = ref $ev->{review} eq 'HASH' ? $ev->{review} : {};
        my $res = $r->{result} // '?';
        $self->count("reviews.decided.$res");
        $self->example('8.32', sprintf '%s %s %s review %s: %s%s', $ev->{time},
            $sub // '?', $r->{verdict} // '?', substr($r->{id} // '?', 0, 12),
            $res, defined $r->{reason} ? " (\"$r->{reason}\")" : '')
            if $res =~ /^(approved|rejected|recorded)\z/;
    }

    if ($t eq 'pg.query' || $t eq 'http.request') {
        $self->{ids}{$sub}{ops}++ if $sub;
        $self->count($deny ? 'denied' : 'allowed');
        $self->count(($deny ? 'rule.deny.' : 'rule.allow.') . ($rule // '-'));
        if ($deny) {
            $self->{ids}{$sub}{denied}++ if $sub;
            my $line = sprintf '%s %s denied to %s by %s%s, session %s',
                $ev->{time}, $what, $sub // 'no identity', $rule // '-',
                defined $d->{reason} ? " ($d->{reason})" : '', $short;
            $self->example('5.15', $line);
            $self->example('8.16', $line);
        }
        if (ref $d->{review} eq 'HASH') {
            $self->count('reviews.outcome.' . ($d->{review}{status} // '?'));
            if (($d->{review}{status} // '') =~ /^(rejected|expired|cancelled|unavailable)\z/) {
                $self->example('8.32x', sprintf '%s %s: review %s %s,'
                    . ' session %s', $ev->{time}, $what,
                    substr($d->{review}{id} // '?', 0, 12),
                    $d->{review}{status}, $short);
            }
        }
        $self->count('grants') if ref $d->{grant} eq 'HASH';
        my $n = 0;
        for my $k (keys %{ $masked // {} }) {
            $self->count("masked.$k", $masked->{$k});
            $n += $masked->{$k};
        }
        if ($n) {
            $self->count('masked', $n);
            $self->example('8.11', sprintf '%s %s: %d value(s) masked (%s),'
                . ' session %s', $ev->{time}, $what, $n, join(', ',
                map { "$_ $masked->{$_}" } sort keys %$masked), $short);
        }
    }
}

sub fmt_counts {
    my ($c, $prefix) = @_;
    my @k = sort grep { index($_, $prefix) == 0 } keys %$c;
    return join ', ', map { substr($_, length $prefix) . " $c->{$_}" } @k;
}

# everything the report says, per control
sub data {
    my ($self, $v, %o) = @_;
    my $c = $self->{c};
    my $n = sub { $c->{ $_[0] } // 0 };
    my @ids = sort { $self->{ids}{$b}{ops} <=> $self->{ids}{$a}{ops} }
        keys %{ $self->{ids} };
    my %controls = (
        '5.15' => {
            counts => [
                ['operations decided', $n->('allowed') + $n->('denied')],
                ['allowed', $n->('allowed')], ['denied', $n->('denied')],
                ['by rule (allow)', fmt_counts($c, 'rule.allow.') || '-'],
                ['by rule (deny)', fmt_counts($c, 'rule.deny.') || '-']],
            examples => $self->{ex}{'5.15'}, exceptions => [] },
        '5.18' => {
            counts => [['identities', scalar @ids],
                map { [$_, sprintf '%d session(s), %d operation(s), %d'
                    . ' denied; groups %s', scalar keys %{ $self->{ids}{$_}
                    {sessions} }, $self->{ids}{$_}{ops},
                    $self->{ids}{$_}{denied},
                    join(',', sort keys %{ $self->{ids}{$_}{groups} }) || '-']
                } @ids[0 .. ($#ids > 9 ? 9 : $#ids)]],
            examples => [], exceptions => [] },
        '8.2' => {
            counts => [['privileged statements allowed',
                $n->('privileged.allowed')],
                ['privileged statements denied', $n->('privileged.denied')],
                ['statements by kind', fmt_counts($c, 'statements.') || '-']],
            examples => $self->{ex}{'8.2'}, exceptions => [] },
        '8.5' => {
            counts => [['Postgres logins', $n->('auth.ok')],
                ['refused logins and 401s', $n->('auth.failed')],
                ['refusals by reason', fmt_counts($c, 'auth.failed.') || '-'],
                ['connections refused before a login', $n->('refused')]],
            examples => [], exceptions => $self->{ex}{'8.5'} },
        '8.11' => {
            counts => [['values masked', $n->('masked')],
                ['by type', fmt_counts($c, 'masked.') || '-'],
                ['responses not masked (unreadable or excluded)',
                 $n->('unmasked')]],
            examples => $self->{ex}{'8.11'},
            exceptions => $self->{ex}{'8.11x'} },
        '8.15' => {
            counts => [['events', $v->{events}], ['sessions', $v->{sessions}],
                ['checkpoints', $v->{checkpoints}],
                ['gateway instances', $v->{instances}],
                ['signing key(s)', join(', ', @{ $v->{signed_by} }) || 'none'],
                ['events not sealed yet', $v->{unsealed}],
                ['trimmed by retention', $v->{trimmed_events}],
                ['verification', $v->{ok} ? 'intact' : 'PROBLEMS FOUND']],
            examples => [],
            exceptions => [ map { "$_->{id}: $_->{message}" }
                @{ $v->{problems} }[0 .. ($#{ $v->{problems} } > 9 ? 9
                    : $#{ $v->{problems} })] ] },
        '8.16' => {
            counts => [['denials', $n->('denied')],
                ['refused logins', $n->('auth.failed')],
                ['held for review', $n->('reviews.requested')]],
            examples => [], exceptions => $self->{ex}{'8.16'} },
        '8.32' => {
            counts => [['held for review', $n->('reviews.requested')],
                ['outcomes', fmt_counts($c, 'reviews.outcome.') || '-'],
                ['reviewer decisions', fmt_counts($c, 'reviews.decided.')
                    || '-'],
                ['uses of just-in-time grants', $n->('grants')]],
            examples => $self->{ex}{'8.32'},
            exceptions => $self->{ex}{'8.32x'} },
    );
    return {
        title => 'nginx-hoop evidence report',
        period => [ $o{since_text} // $self->{first} // '-',
                    $o{until_text} // $self->{last} // '-' ],
        generated => Hoop::Verify::ms_iso(time * 1000),
        source => $o{source},
        summary => [
            ['sessions', fmt_counts($c, 'sessions.') || '0'],
            ['statements', $n->('statements')],
            ['HTTP requests', $n->('requests')],
            ['denied', $n->('denied')], ['values masked', $n->('masked')],
            ['held for review', $n->('reviews.requested')],
            ['trail', $v->{ok} ? 'verified intact' : 'PROBLEMS FOUND'],
        ],
        verified => $v,
        controls => [ map { { id => $_->[0], name => $_->[1],
            enforces => $_->[2], %{ $controls{ $_->[0] } } } } @CONTROLS ],
    };
}

sub markdown {
    my ($d) = @_;
    my $v = $d->{verified};
    my $out = "# $d->{title}\n\n";
    $out .= "Period: $d->{period}[0] to $d->{period}[1] (UTC). Generated"
        . " $d->{generated} from $d->{source}.\n\n";
    $out .= sprintf "Trail verification: **%s**%s.\n\n",
        $v->{ok} ? 'intact' : 'PROBLEMS FOUND',
        @{ $v->{signed_by} } ? ', checkpoints signed by key '
            . join(', ', map { "`$_`" } @{ $v->{signed_by} }) : '';
    $out .= "| | |\n|---|---|\n";
    $out .= "| $_->[0] | $_->[1] |\n" for @{ $d->{summary} };
    for my $ctl (@{ $d->{controls} }) {
        $out .= "\n## $ctl->{id} $ctl->{name}\n\n$ctl->{enforces}\n\n";
        $out .= "| | |\n|---|---|\n";
        $out .= "| $_->[0] | $_->[1] |\n" for @{ $ctl->{counts} };
        if (@{ $ctl->{examples} // [] }) {
            $out .= "\nExamples:\n\n";
            $out .= "- $_\n" for @{ $ctl->{examples} };
        }
        if (@{ $ctl->{exceptions} // [] }) {
            $out .= "\nExceptions:\n\n";
            $out .= "- $_\n" for @{ $ctl->{exceptions} };
        }
    }
    return $out;
}

sub esc {
    my ($s) = @_;
    $s //= '';
    $s =~ s/&/&amp;/g;
    $s =~ s/</&lt;/g;
    $s =~ s/>/&gt;/g;
    $s =~ s/"/&quot;/g;
    return $s;
}

sub html_table {
    my ($rows) = @_;
    return '<table>' . join('', map { '<tr><th>' . esc($_->[0])
        . '</th><td>' . esc($_->[1]) . '</td></tr>' } @$rows) . '</table>';
}

sub html {
    my ($d) = @_;
    my $v = $d->{verified};
    my $state = $v->{ok} ? 'ok' : 'bad';
    my $out = <<"HEAD";
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>${\ esc($d->{title}) }</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #1b1f24; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { font-size: 1.15em; margin: 1.6em 0 .4em; border-bottom: 1px solid #d0d7de; padding-bottom: .2em; }
.meta { color: #57606a; }
.verdict { display: inline-block; padding: .3em .8em; border-radius: 4px; font-weight: 600; }
.verdict.ok { background: #dafbe1; color: #116329; }
.verdict.bad { background: #ffebe9; color: #a40e26; }
table { border-collapse: collapse; margin: .4em 0; }
th, td { text-align: left; padding: .25em .8em .25em 0; vertical-align: top; border-bottom: 1px solid #eaeef2; }
th { font-weight: 500; color: #57606a; min-width: 14em; }
ul { margin: .3em 0; padding-left: 1.2em; }
li { font-family: ui-monospace, monospace; font-size: 12px; margin: .15em 0; word-break: break-all; }
.exceptions li { color: #a40e26; }
.key { font-family: ui-monospace, monospace; font-size: 12px; }
</style></head><body>
HEAD
    $out .= '<h1>' . esc($d->{title}) . '</h1>';
    $out .= '<p class="meta">Period ' . esc($d->{period}[0]) . ' to '
        . esc($d->{period}[1]) . ' (UTC) &middot; generated '
        . esc($d->{generated}) . ' from ' . esc($d->{source}) . '</p>';
    $out .= qq{<p><span class="verdict $state" id="verdict">Trail }
        . ($v->{ok} ? 'verified intact' : 'PROBLEMS FOUND') . '</span>';
    $out .= ' <span class="key">signed by key ' . esc($_) . '</span>'
        for @{ $v->{signed_by} };
    $out .= '</p>' . html_table($d->{summary});
    for my $ctl (@{ $d->{controls} }) {
        (my $anchor = "control-$ctl->{id}") =~ s/\./-/g;
        $out .= qq{<section id="$anchor"><h2>} . esc("$ctl->{id} $ctl->{name}")
            . '</h2><p>' . esc($ctl->{enforces}) . '</p>'
            . html_table($ctl->{counts});
        if (@{ $ctl->{examples} // [] }) {
            $out .= '<p>Examples</p><ul>'
                . join('', map { '<li>' . esc($_) . '</li>' }
                    @{ $ctl->{examples} }) . '</ul>';
        }
        if (@{ $ctl->{exceptions} // [] }) {
            $out .= '<p>Exceptions</p><ul class="exceptions">'
                . join('', map { '<li>' . esc($_) . '</li>' }
                    @{ $ctl->{exceptions} }) . '</ul>';
        }
        $out .= '</section>';
    }
    return $out . "</body></html>\n";
}

1;

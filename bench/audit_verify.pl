#!/usr/bin/perl
# What verifying a large trail costs: a trail of N events (default one
# million) as four gateway instances write it (HTTP and Postgres sessions
# of 1 to 40 events, each ended, interleaved; a signed checkpoint every
# 5000 events of an instance; chains SHA-256, as with
# hoop_audit_signing_key) is written to a file, then read twice:
#
#   decode     every line JSON-decoded and its event too, nothing checked:
#              the floor for any tool that reads the trail in Perl
#   verify     tools/hoop-audit verify --file --public-key
#
# Prints CPU seconds and peak memory of each, the ratio of verify to
# decode, and events per second of CPU.  Verify's memory must not grow
# with the trail: it keeps what the last checkpoints have not sealed yet.
#
#   bench/audit_verify.pl [events, default 1000000]
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../tools/lib", "$FindBin::Bin/../t/lib";

use Crypt::PK::Ed25519;
use Digest::SHA qw(sha256_hex);
use File::Temp qw(tempdir);
use JSON::XS;

my $n = shift // 1_000_000;
my $repo = "$FindBin::Bin/..";
my $dir = tempdir('hoop-bench-XXXXXX', TMPDIR => 1, CLEANUP => 1);

system("openssl genpkey -algorithm ed25519 -out $dir/seal.pem 2>/dev/null"
    . " && openssl pkey -in $dir/seal.pem -pubout -out $dir/seal.pub") == 0
    or die "openssl failed\n";
my $sk = Crypt::PK::Ed25519->new("$dir/seal.pem");
my $key_id = sha256_hex(Crypt::PK::Ed25519->new("$dir/seal.pub")
    ->export_key_der('public'));

my $json = JSON::XS->new->canonical;
my $zero = '0' x 64;
my $id = 1_800_000_000_000;
my $events = 0;
srand 20261207;

open my $out, '>', "$dir/trail.jsonl" or die "$dir/trail.jsonl: $!\n";

sub hex32 { join '', map { sprintf '%08x', int rand 2**32 } 1 .. 4 }

sub iso {
    my @t = gmtime($_[0] / 1000);
    return sprintf '%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', $t[5] + 1900,
        $t[4] + 1, @t[3, 2, 1, 0], $_[0] % 1000;
}

# one stream entry; returns its hash
sub entry {
    my ($inst, $sess, $body) = @_;
    $sess->{seq}++;
    my $ev = $json->encode({ v => 1, time => iso($id), gateway => $inst->{gw},
        instance => $inst->{id}, session => $sess->{id},
        seq => $sess->{seq}, %$body });
    my $hash = sha256_hex("$sess->{prev}\n$ev");
    my %e = (id => $id++ . '-0', session => $sess->{id}, seq => $sess->{seq},
        event => $ev, prev => $sess->{prev}, hash => $hash);
    $e{sig} = unpack 'H*', $sk->sign_message($hash) if $body->{checkpoint};
    print $out $json->encode(\%e), "\n";
    $sess->{prev} = $hash;
    return $hash;
}

my @inst = map { my ($gw, $sub) = @$_;
    my $i = hex32();
    { id => $i, gw => $gw, sub => $sub, open => [], marks => {},
      unsealed => 0, seal => { id => $i, seq => 0, prev => $zero } } }
    ['gw-a', 'http'], ['gw-a', 'stream'], ['gw-b', 'http'], ['gw-b', 'stream'];

sub checkpoint {
    my ($inst, $final) = @_;
    my @s = map { $inst->{marks}{$_} } sort keys %{ $inst->{marks} };
    entry($inst, $inst->{seal}, { type => 'audit.checkpoint',
        checkpoint => { subsystem => $inst->{sub}, pid => 1, worker => 0,
            interval_ms => 60000, key => $key_id,
            final => $final ? JSON::XS::true : JSON::XS::false,
            events => $inst->{unsealed}, sessions => \@s } });
    $inst->{marks} = {};
    $inst->{unsealed} = 0;
}

while ($events < $n) {
    my $inst = $inst[rand @inst];
    my $open = $inst->{open};
    if (@$open < 50) {
        push @$open, { id => hex32(), seq => 0, prev => $zero,
            left => 1 + int rand 40 };
    }
    my $k = int rand @$open;
    my $s = $open->[$k];
    my $end = --$s->{left} == 0;
    my $type = $inst->{sub} eq 'http'
        ? ($end ? 'http.session.end' : 'http.request')
        : ($end ? 'pg.session.end' : 'pg.query');
    my $hash = entry($inst, $s, { type => $type,
        identity => { sub => 'agent-7', groups => ['dba'] },
        decision => { result => 'allow', rule => 'reads' },
        $inst->{sub} eq 'http'
            ? (request => { method => 'GET', path => '/api/item/1' })
            : (query => { sql => 'SELECT email FROM customers WHERE id = $1',
                kind => 'read' }) });
    $events++;
    $inst->{unsealed}++;
    my $m = $inst->{marks}{ $s->{id} } //= { id => $s->{id},
        from => $s->{seq} };
    $m->{to} = $s->{seq};
    $m->{hash} = $hash;
    if ($end) {
        $m->{end} = JSON::XS::true;
        splice @$open, $k, 1;
    }
    checkpoint($inst, 0) if $inst->{unsealed} >= 5000;
}
for my $inst (@inst) {
    for my $s (@{ $inst->{open} }) {
        my $hash = entry($inst, $s, { type => 'pg.session.end' });
        $inst->{marks}{ $s->{id} } //= { id => $s->{id}, from => $s->{seq} };
        @{ $inst->{marks}{ $s->{id} } }{qw(to hash end)} =
            ($s->{seq}, $hash, JSON::XS::true);
        $events++;
        $inst->{unsealed}++;
    }
    checkpoint($inst, 1);
}
close $out or die "$dir/trail.jsonl: $!\n";
my $size = -s "$dir/trail.jsonl";
printf "trail: %d events, %.0f MB\n", $events, $size / 1e6;

# the floor: decoding alone, reporting its CPU and peak memory (VmHWM)
open my $d, '>', "$dir/decode.pl" or die "$dir/decode.pl: $!\n";
print $d <<'PERL';
use JSON::XS;
my $j = JSON::XS->new;
while (<>) { my $e = $j->decode($_); $j->decode($e->{event}) }
my @t = times;
open my $s, '<', '/proc/self/status' or die;
my ($hwm) = join('', <$s>) =~ /VmHWM:\s+(\d+)/;
printf "cpu=%.2f rss_kb=%d\n", $t[0] + $t[1], $hwm;
PERL
close $d;
my $decode = `perl $dir/decode.pl $dir/trail.jsonl`;
my ($dcpu, $drss) = $decode =~ /cpu=([\d.]+) rss_kb=(\d+)/
    or die "decode: $decode";

my $v = `$repo/tools/hoop-audit verify --file $dir/trail.jsonl --public-key $dir/seal.pub --json`;
my $r = decode_json($v);
die "verify failed: $v" unless $r->{ok};
my ($vcpu, $vrss) = @$r{qw(cpu_s peak_rss_kb)};

printf "%-8s %8s %10s %12s\n", '', 'CPU s', 'peak MB', 'events/CPU s';
printf "%-8s %8.1f %10.0f %12.0f\n", 'decode', $dcpu, $drss / 1024,
    $events / $dcpu;
printf "%-8s %8.1f %10.0f %12.0f\n", 'verify', $vcpu, $vrss / 1024,
    $events / $vcpu;
printf "verify / decode: CPU %.2f, memory %.2f; %d checkpoints checked\n",
    $vcpu / $dcpu, $vrss / $drss, $r->{checkpoints};

package Hoop::Test;

# Common ground for the integration tests: where the repo and the built
# modules are, private temp directories, free loopback ports, waiting for a
# condition with a deadline, and killing every child we started even when a
# test dies.

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);

our @EXPORT_OK = qw(repo_dir modules_dir test_dir free_port wait_until
    port_open spawn reap run_as_service_user service_user chown_to_service
    slurp spit sanitizer_env sanitizer_reports stop_child secret
    leaked_secrets seal_key);

my $repo = abs_path(dirname(__FILE__) . '/../../..');

sub repo_dir { $repo }

# Where the .so files are: build/ normally, build-asan/ under make test-asan.
sub modules_dir {
    return $ENV{HOOP_MODULES_DIR} // "$repo/build";
}

my $top;

# One private directory per test file, removed at exit unless HOOP_KEEP=1.
# Traversable by everyone: nginx workers and PostgreSQL run as other users
# when the suite runs as root.
sub test_dir {
    my ($name) = @_;
    $top //= tempdir('hoop-t-XXXXXX', TMPDIR => 1,
        CLEANUP => !$ENV{HOOP_KEEP});
    chmod 0755, $top;
    return $top unless defined $name;
    my $d = "$top/$name";
    mkdir $d or die "mkdir $d: $!" unless -d $d;
    chmod 0755, $d;
    return $d;
}

# A loopback port nobody listens on right now, and never one this process
# handed out before: the kernel may offer a just-closed port again, and two
# services of one test would then fight over it.
my %handed_out;

sub free_port {
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
            LocalPort => 0, Proto => 'tcp', Listen => 1, ReuseAddr => 1)
            or die "bind: $!";
        my $port = $s->sockport;
        close $s;
        return $port unless $handed_out{$port}++;
    }
    die 'no fresh free port';
}

sub port_open {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
        Proto => 'tcp', Timeout => 1);
    return 0 unless $s;
    close $s;
    return 1;
}

# Polls cond until it returns true; dies with what after timeout seconds.
# The only acceptable way to wait for another process in this suite.
sub wait_until {
    my ($cond, $what, $timeout) = @_;
    $timeout //= 20;
    my $deadline = time + $timeout;
    my $delay = 0.005;
    while (time < $deadline) {
        my $r = $cond->();
        return $r if $r;
        sleep $delay;
        $delay = 0.1 if ($delay *= 2) > 0.1;
    }
    die "timed out after ${timeout}s waiting for $what\n";
}

my %children;

# Starts a child in its own process group; its output goes to $log.
sub spawn {
    my (%o) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        POSIX::setpgid(0, 0);
        if ($o{log}) {
            open STDOUT, '>>', $o{log} or die "$o{log}: $!";
            open STDERR, '>&', \*STDOUT or die;
        }
        open STDIN, '<', '/dev/null';
        %ENV = (%ENV, %{ $o{env} || {} });
        exec @{ $o{cmd} } or POSIX::_exit(127);
    }
    $children{$pid} = $o{cmd}[0];
    return $pid;
}

# Waits for a child to exit; returns its status, or undef on timeout.
sub reap {
    my ($pid, $timeout) = @_;
    local $?;    # the child's status is returned, not left in $?
    my $status;
    eval {
        wait_until(sub {
            my $r = waitpid($pid, WNOHANG);
            $status = $? if $r == $pid || $r == -1;
            return $r != 0;
        }, "pid $pid to exit", $timeout // 20);
    };
    delete $children{$pid};
    return $status;
}

END {
    my $rc = $?;
    for my $pid (keys %children) {
        kill 'KILL', -$pid;
        kill 'KILL', $pid;
        waitpid $pid, 0;
    }
    $? = $rc;
}

# stop() for a helper object whose service is the child $self->{pid}.
sub stop_child {
    my ($self) = @_;
    return unless $self->{pid};
    kill 'TERM', $self->{pid};
    reap(delete $self->{pid});
}

# PostgreSQL refuses to run as root; so does initdb.  Under root the suite
# runs them as the "postgres" user the Debian package creates.
sub service_user {
    return $> == 0 ? 'postgres' : undef;
}

sub run_as_service_user {
    my (@cmd) = @_;
    my $u = service_user();
    return $u ? ('runuser', '-u', $u, '--', @cmd) : @cmd;
}

sub chown_to_service {
    my (@paths) = @_;
    my $u = service_user() or return;
    my (undef, undef, $uid, $gid) = getpwnam($u) or die "no user $u";
    system('chown', '-R', "$uid:$gid", @paths) == 0 or die "chown failed";
}

# Under make test-asan (HOOP_ASAN=1): the environment that puts the
# sanitizer runtime first into the uninstrumented distro nginx and sends
# its reports to files under $dir, which sanitizer_reports() collects.
sub sanitizer_env {
    my ($dir) = @_;
    return {} unless $ENV{HOOP_ASAN};
    mkdir $dir;
    chmod 0777, $dir;    # workers run as nobody under root
    my $lib = `gcc -print-file-name=libasan.so`;
    chomp $lib;
    # a copy where workers (nobody) can read it: the checkout may be 0700
    spit("$dir/lsan.supp", slurp("$repo/t/lsan.supp"), 0644);
    return {
        LD_PRELOAD => $lib,
        # each dynamic module defines ngx_modules: not an ODR violation;
        # the distro binary has no frame pointers: unwind the slow way, or
        # leak reports stop at ngx_alloc and cannot be told apart
        ASAN_OPTIONS => "detect_odr_violation=0:log_path=$dir/asan"
            . ':detect_leaks=1:fast_unwind_on_malloc=0',
        # leaks of nginx itself (t/lsan.supp says which and why)
        LSAN_OPTIONS => "suppressions=$dir/lsan.supp:print_suppressions=0",
        UBSAN_OPTIONS => "print_stacktrace=1:halt_on_error=0"
            . ":log_path=$dir/ubsan",
    };
}

sub sanitizer_reports {
    my ($dir) = @_;
    return map { ("$_:", split /\n/, slurp($_)) } glob "$dir/{asan,ubsan}.*";
}

# Secrets a test used: access tokens (every one Hoop::JWT mints or the
# IdP issues), upstream passwords, sample values that must only ever be
# seen masked.  Hoop::Test::Nginx->stop() fails when any of them is in the
# gateway's logs, its audit spool or anything in Redis.
my %secrets;

sub secret {
    my ($value, $what) = @_;
    return unless defined $value && length $value >= 8;
    $secrets{$value} = $what;
    # a token's signature alone is enough to replay nothing, but a log
    # that cut the token short may still hold it: look for it too
    if ($what =~ /token/ && $value =~ /^[\w-]+\.[\w-]+\.([\w-]{16,})$/) {
        $secrets{$1} = "$what (its signature)";
    }
}

# [what, where] of each secret found in the texts given as where => text.
sub leaked_secrets {
    my (%texts) = @_;
    my @found;
    for my $where (sort keys %texts) {
        for my $value (keys %secrets) {
            next if index($texts{$where}, $value) < 0;
            push @found, [$secrets{$value}, $where];
        }
    }
    return @found;
}

{
    no warnings 'once';
    require Hoop::JWT;
    $Hoop::JWT::on_mint = sub { secret($_[0], 'an access token') };
}

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    return scalar <$fh>;
}

# An audit signing key in dir: seal.pem (the gateway's, 0600) and seal.pub
# (what auditors get); returns the key's id, as an auditor computes it.
sub seal_key {
    my ($dir) = @_;
    system("openssl genpkey -algorithm ed25519 -out $dir/seal.pem 2>/dev/null"
        . " && openssl pkey -in $dir/seal.pem -pubout -out $dir/seal.pub")
        == 0 or die "openssl failed\n";
    chmod 0600, "$dir/seal.pem";
    require Digest::SHA;
    return Digest::SHA::sha256_hex(
        scalar `openssl pkey -pubin -in $dir/seal.pub -outform DER`);
}

sub spit {
    my ($f, $content, $mode) = @_;
    open my $fh, '>', $f or die "$f: $!";
    print $fh $content;
    close $fh;
    chmod $mode, $f if defined $mode;
}

1;

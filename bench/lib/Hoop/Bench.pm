package Hoop::Bench;

# What the benchmarks measure of processes on a shared, noisy machine:
# the CPU time a process (all its threads) has spent, the machine's busy
# time, a process's resident memory, and which process is an nginx's
# worker.  Read as differences around a run.

use strict;
use warnings;

use POSIX ();
use Exporter qw(import);

our @EXPORT_OK = qw(cpu_ns machine_ticks tick_us rss_kb worker_pid);

# CPU time (ns) of every thread of a process so far
sub cpu_ns {
    my ($pid) = @_;
    my $ns = 0;
    for my $f (glob "/proc/$pid/task/*/schedstat") {
        open my $fh, '<', $f or next;
        my ($run) = split ' ', scalar <$fh>;
        $ns += $run;
    }
    return $ns;
}

# the machine's busy CPU time so far, all cores (clock ticks): user,
# nice, system, irq and softirq; not idle, not waiting for the disk, not
# stolen by the hypervisor for other guests
sub machine_ticks {
    open my $fh, '<', '/proc/stat' or return 0;
    my (undef, @t) = split ' ', scalar <$fh>;
    my $busy = 0;
    $busy += $t[$_] // 0 for 0, 1, 2, 5, 6;
    return $busy;
}

sub tick_us {
    return 1e6 / (POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100);
}

sub rss_kb {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/status" or return 0;
    while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)/ }
    return 0;
}

# the (one) worker of a Hoop::Test::Nginx
sub worker_pid {
    my ($t) = @_;
    my ($w) = map { (split)[0] } grep { /nginx: worker/ }
        `ps -o pid=,args= --ppid ${\ $t->pid }`;
    return $w;
}

1;

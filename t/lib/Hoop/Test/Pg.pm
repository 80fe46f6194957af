package Hoop::Test::Pg;

# A real PostgreSQL cluster on a free loopback port for one test file.
# initdb runs once per machine: the fresh cluster is kept as a template
# under build/ and copied for each test file, which takes milliseconds.

use strict;
use warnings;

use Hoop::Test qw(repo_dir test_dir free_port run_as_service_user
    chown_to_service slurp);

sub bindir {
    my @d = sort { ($a =~ /(\d+)/)[0] <=> ($b =~ /(\d+)/)[0] }
        glob '/usr/lib/postgresql/*/bin';
    die "no PostgreSQL server installed (tools/install-deps)\n" unless @d;
    return $d[-1];
}

sub template {
    my $bin = bindir();
    my ($ver) = $bin =~ m{/(\d+)/bin};
    my $t = $ENV{HOOP_PG_TEMPLATE} // repo_dir() . "/build/pg-template-$ver";
    return $t if -f "$t/PG_VERSION";

    # initdb runs as the service user, which may not reach the repository
    # (a clone under /root, a 0700 mktemp): it writes under test_dir(),
    # and root copies the cluster into build/
    my $init = test_dir('pg-initdb') . '/data';
    mkdir $init or die "mkdir $init: $!";
    chown_to_service($init);
    my @cmd = run_as_service_user("$bin/initdb", '-D', $init, '-U',
        'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync');
    my $out = `cd / && @cmd 2>&1`;
    die "initdb failed:\n$out" if $?;
    my $tmp = "$t.tmp.$$";
    system('rm', '-rf', $tmp);
    system('cp', '-a', $init, $tmp) == 0 or die "cp $init $tmp failed";
    rename $tmp, $t or die "rename $tmp: $!" unless -f "$t/PG_VERSION";
    system('rm', '-rf', $tmp, $init);
    return $t;
}

sub new {
    my ($class, %o) = @_;
    my $self = bless { %o }, $class;
    $self->{dir} = test_dir($o{name} // 'pg');
    $self->{port} //= free_port();
    return $self;
}

sub port { $_[0]{port} }
sub dir { $_[0]{dir} }

sub start {
    my ($self) = @_;
    my $data = "$self->{dir}/data";
    unless (-f "$data/PG_VERSION") {
        system('cp', '-a', template(), $data) == 0 or die "cp failed";
        mkdir "$self->{dir}/sock";
        chown_to_service($data, "$self->{dir}/sock");
    }
    my $opts = "-p $self->{port} -c listen_addresses=127.0.0.1"
        . " -k $self->{dir}/sock -c fsync=off -c synchronous_commit=off"
        . " -c full_page_writes=off";
    $opts .= " $self->{options}" if $self->{options};
    my @cmd = run_as_service_user(bindir() . '/pg_ctl', '-D', $data,
        '-l', "$data/postgres.log", '-w', '-t', '30', '-o', $opts, 'start');
    my $out = `@{[ map { "'$_'" } @cmd ]} 2>&1`;
    die "pg_ctl start failed:\n$out" . slurp("$data/postgres.log") if $?;
    $self->{running} = 1;
    return $self;
}

sub log { slurp("$_[0]{dir}/data/postgres.log") }

# Runs SQL directly against the cluster (not through the gateway).
sub psql {
    my ($self, $sql, %o) = @_;
    my $db = $o{db} // 'postgres';
    open my $fh, '-|', 'psql', '-X', '-A', '-t', '-q', '-v',
        'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', $self->{port},
        '-U', 'postgres', '-d', $db, '-c', $sql or die "psql: $!";
    my $r = do { local $/; <$fh> } // '';
    close $fh or die "psql failed on: $sql\n";
    $r =~ s/\n\z//;
    return $r;
}

sub stop {
    my ($self, $mode) = @_;
    return unless delete $self->{running};
    my @cmd = run_as_service_user(bindir() . '/pg_ctl', '-D',
        "$self->{dir}/data", '-w', '-m', $mode // 'fast', 'stop');
    my $out = `@{[ map { "'$_'" } @cmd ]} 2>&1`;
    warn "pg_ctl stop failed: $out" if $?;
}

sub DESTROY {
    my ($self) = @_;
    $self->stop('immediate') if $self->{running};
}

1;

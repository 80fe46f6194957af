package Hoop::Test::Nginx;

# Runs the distro nginx binary with the built hoop modules in a private
# prefix.  The configuration is a template:
#
#   %%PORT_name%%   a free loopback port, the same for the same name
#   %%DIR%%         the prefix directory
#
# Globals are prepended: daemon off, pid, error_log at debug level (or
# new(log_level => 'warn'), for benchmarks), and
# load_module lines for stream and both hoop modules (new(modules => [...])
# replaces the list, e.g. with only stream for a plain-nginx baseline).  And
# every "http {" gets temp paths inside the prefix.  On stop() the error log
# is checked: an [alert] or [emerg], a worker that died on a signal, or a
# sanitizer report fails the test.

use strict;
use warnings;

use POSIX ();
use Test::More;
use File::Find ();
use Hoop::Test qw(modules_dir test_dir free_port wait_until port_open spawn
    reap slurp spit sanitizer_env sanitizer_reports leaked_secrets);
use Hoop::Test::Redis;

my $nginx_bin = $ENV{HOOP_NGINX_BINARY} // '/usr/sbin/nginx';
my $count = 0;

sub new {
    my ($class, %o) = @_;
    my $self = bless { ports => {}, %o }, $class;
    $self->{dir} = test_dir('nginx' . ($count++ ? $count : ''));
    for my $sub (qw(logs tmp)) {
        mkdir "$self->{dir}/$sub";
    }
    $self->{conf} = $self->expand($o{conf}) if defined $o{conf};
    return $self;
}

sub dir { $_[0]{dir} }

sub port {
    my ($self, $name) = @_;
    return $self->{ports}{$name} //= free_port();
}

sub load_modules {
    my ($self) = @_;
    my $m = modules_dir();
    my @mods = @{ $self->{modules} // [
        '/usr/lib/nginx/modules/ngx_stream_module.so',
        "$m/ngx_http_hoop_module.so",
        "$m/ngx_stream_hoop_pg_module.so"] };
    return join '', map { "load_module $_;\n" } @mods;
}

sub expand {
    my ($self, $conf) = @_;
    my $dir = $self->{dir};
    $conf =~ s/%%PORT_(\w+)%%/$self->port($1)/ge;
    $conf =~ s/%%DIR%%/$dir/g;
    my $temp = join '', map { "    ${_}_temp_path $dir/tmp/$_;\n" }
        qw(client_body proxy fastcgi uwsgi scgi);
    $conf =~ s/^(\s*http\s*\{)/$1\n$temp/m;
    my $workers = $self->{workers} // 1;
    return "daemon off;\n"
        . "master_process on;\n"
        . "worker_processes $workers;\n"
        . "pid $dir/nginx.pid;\n"
        . "error_log $dir/logs/error.log "
        . ($self->{log_level} // 'debug') . ";\n"
        . $self->load_modules
        . "events { worker_connections 1024; }\n"
        . $conf;
}

sub write_conf {
    my ($self, $conf) = @_;
    $self->{conf} = $self->expand($conf) if defined $conf;
    spit("$self->{dir}/nginx.conf", $self->{conf});
}

sub env {
    my ($self) = @_;
    return sanitizer_env("$self->{dir}/sanitizer");
}


# nginx -t on a configuration: (exit status, output).
sub test_conf {
    my ($self, $conf) = @_;
    $self->write_conf($conf);
    my $d = $self->{dir};
    local %ENV = (%ENV, %{ $self->env });
    # nginx -t exits without freeing its cycle: no leak check for it
    $ENV{ASAN_OPTIONS} .= ':detect_leaks=0' if $ENV{ASAN_OPTIONS};
    my $out = `$nginx_bin -t -p $d/ -c $d/nginx.conf -e $d/logs/error.log 2>&1`;
    return ($? >> 8, $out);
}

# Ports of "listen" directives in the configuration.
sub listen_ports {
    my ($self) = @_;
    return $self->{conf} =~ /^\s*listen\s+(?:127\.0\.0\.1:)?(\d+)/mg;
}

sub run {
    my ($self, $conf) = @_;
    $self->write_conf($conf);
    my $d = $self->{dir};
    unlink "$d/nginx.pid";
    my $pid = $self->{pid} = spawn(
        cmd => [$nginx_bin, '-p', "$d/", '-c', "$d/nginx.conf",
            '-e', "$d/logs/error.log"],
        log => "$d/logs/stderr.log",
        env => $self->env);
    wait_until(sub {
        if (waitpid($pid, POSIX::WNOHANG()) == $pid) {
            delete $self->{pid};
            die "nginx exited at start:\n" . slurp("$d/logs/stderr.log")
                . slurp("$d/logs/error.log");
        }
        return 0 unless -s "$d/nginx.pid";
        for my $p ($self->listen_ports) {
            return 0 unless port_open($p);
        }
        return 1;
    }, 'nginx to listen');
    return $self;
}

sub pid { $_[0]{pid} }

sub error_log { slurp("$_[0]{dir}/logs/error.log") }

# Workers connect to Redis after they start; a request that comes first
# meets "audit unavailable" (fail closed: 503).  Waits until n
# connections (each worker's, each kind) have logged in.
sub wait_redis {
    my ($self, $n) = @_;
    wait_until(sub {
        my @c = $self->error_log =~ /hoop redis \(\w+\): connected to/g;
        @c >= $n;
    }, "$n Redis connections of the gateway");
}

# Stops nginx gracefully and checks what it left behind; this is one test.
sub stop {
    my ($self, %o) = @_;
    return unless $self->{pid};
    kill 'QUIT', $self->{pid};
    my $status = reap($self->{pid}, 30);
    delete $self->{pid};
    my @bad = grep { !($o{allow} && /$o{allow}/) }
        grep { /\[(alert|emerg)\]|exited on signal|Sanitizer|runtime error:/ }
        split /\n/, $self->error_log;
    push @bad, sanitizer_reports("$self->{dir}/sanitizer");
    ok(defined $status && $status == 0 && !@bad,
        'nginx exited cleanly, its error log is clean')
        or diag(join "\n", 'exit status ' . ($status // 'none'),
            @bad[0 .. ($#bad > 60 ? 60 : $#bad)]);
    $self->check_secrets;
}

# The secrets the test used (Hoop::Test::secret) must be nowhere in what
# the gateway wrote: its logs, its audit spool, Redis.  This is one test.
sub check_secrets {
    my ($self) = @_;
    my %texts = Hoop::Test::Redis::dump_all();
    my @files;
    File::Find::find({ no_chdir => 1, wanted => sub {
        push @files, $_ if -f $_ && ($File::Find::name =~ m{/(logs|sanitizer)/}
            || /\.spool$/);
    } }, $self->{dir});
    for my $f (@files) {
        # nginx's own debug lines dump request headers, Authorization
        # too: that is nginx, at a level no production runs; ours count
        $texts{$f} = join '', grep { !/\[debug\]/ || /hoop/ }
            split /^/m, slurp($f);
    }
    my @found = leaked_secrets(%texts);
    ok(!@found, 'no access token, password or unmasked sample value in the'
        . ' logs, the spool or Redis')
        or diag(join "\n", map { "$_->[0] in $_->[1]" } @found);
}

sub DESTROY {
    my ($self) = @_;
    local $?;    # reaping must not become the test's exit status
    if ($self->{pid}) {
        kill 'TERM', $self->{pid};
        reap($self->{pid}, 10);
    }
}

1;

package Hoop::Test::GitServer;

# A real git server for one test file: bare repositories under one
# directory, served by git http-backend behind fcgiwrap.  backend() gives
# the nginx lines of a location that reaches it.

use strict;
use warnings;

use Hoop::Test qw(test_dir spawn wait_until stop_child);

sub new {
    my ($class, %o) = @_;
    my $self = bless { %o }, $class;
    $self->{dir} //= test_dir('git-server');
    return $self;
}

sub dir { $_[0]{dir} }
sub socket { "$_[0]{dir}/fcgiwrap.sock" }

sub start {
    my ($self) = @_;
    my $sock = $self->socket;
    unlink $sock;      # a stale socket: "Failed to bind"
    $self->{pid} = spawn(cmd => ['fcgiwrap', '-c', $self->{children} // 2,
        '-s', "unix:$sock"], log => "$self->{dir}/fcgiwrap.log");
    wait_until(sub { -S $sock }, 'fcgiwrap to listen');
    chmod 0777, $sock;
    return $self;
}

# A bare repository that takes pushes, with main as its HEAD; seeded with
# one commit of files (name => content) when there are any.  Its path.
sub repo {
    my ($self, $name, %files) = @_;
    my $path = "$self->{dir}/$name";
    _git("init -q --bare -b main $path");
    _git("-C $path config http.receivepack true");
    return $path unless %files;
    my $seed = "$self->{dir}/.seed-$name";
    _git("init -q -b main $seed");
    for my $f (sort keys %files) {
        open my $fh, '>', "$seed/$f" or die "$seed/$f: $!";
        print $fh $files{$f};
        close $fh;
    }
    _git("-C $seed add .");
    _git("-C $seed -c user.name=seed -c user.email=seed\@example.com"
        . " commit -q -m seed");
    _git("-C $seed push -q $path main");
    return $path;
}

# The id a ref has on the server, or undef.
sub ref_id {
    my ($self, $repo, $ref) = @_;
    my $out = `git -C $repo rev-parse -q --verify $ref 2>/dev/null`;
    chomp $out;
    return $? == 0 ? $out : undef;
}

# The lines of a location ~ ^/prefix(/.*)$ that reach the server;
# REMOTE_USER is $hoop_sub unless told.
sub backend {
    my ($self, %o) = @_;
    my $user = $o{user} // '$hoop_sub';
    return <<"END";
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME /usr/lib/git-core/git-http-backend;
            fastcgi_param GIT_PROJECT_ROOT $self->{dir};
            fastcgi_param GIT_HTTP_EXPORT_ALL "";
            fastcgi_param PATH_INFO \$1;
            fastcgi_param REMOTE_USER $user;
            fastcgi_param GIT_PROTOCOL \$http_git_protocol;
            fastcgi_pass unix:${\ $self->socket };
END
}

sub stop { stop_child($_[0]) }

sub DESTROY { $_[0]->stop }

sub _git {
    my ($args) = @_;
    my $out = `git $args 2>&1`;
    die "git $args: $out" if $?;
}

1;

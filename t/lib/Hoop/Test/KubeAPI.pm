package Hoop::Test::KubeAPI;

# The Kubernetes API server stand-in (t/node/kube-apiserver.mjs) on a free
# loopback port, over TLS with a certificate of its own, and what reached
# it: each request a JSON line in its log.
#
#   my $api = Hoop::Test::KubeAPI->new(dir => $d)->start;
#   $api->port;                                 # for proxy_pass https://
#   my @execs = $api->seen(sub { $_[0]{answer} });
#   Hoop::Test::KubeAPI->kubeconfig("$d/kc", "https://127.0.0.1:$p", $tok);
#   $api->location("$d/sa.token");             # a hoop_kube location's body

use strict;
use warnings;

use JSON::PP;
use Hoop::Test qw(repo_dir free_port wait_until spawn slurp spit port_open
    stop_child);

sub new {
    my ($class, %o) = @_;
    return bless { dir => $o{dir}, port => free_port() }, $class;
}

sub port { $_[0]{port} }
sub cert { "$_[0]{dir}/kube-api.pem" }
sub log_file { "$_[0]{dir}/kube-api.jsonl" }

sub start {
    my ($self) = @_;
    my $d = $self->{dir};
    system("openssl req -x509 -newkey rsa:2048 -nodes -keyout $d/kube-api.key"
        . " -out " . $self->cert . " -days 2 -subj /CN=kube-api"
        . " -addext subjectAltName=IP:127.0.0.1 2>/dev/null") == 0
        or die 'openssl req failed';
    $self->{pid} = spawn(cmd => ['node',
        repo_dir() . '/t/node/kube-apiserver.mjs', $self->{port},
        $self->cert, "$d/kube-api.key", $self->log_file],
        log => "$d/kube-api.out");
    wait_until(sub { port_open($self->{port}) }, 'the kube API stand-in');
    return $self;
}

sub stop { stop_child($_[0]) }

# the directives of a hoop_kube location in front of this stand-in, the
# gateway's own token (a file) sent upstream
sub location {
    my ($self, $token_file) = @_;
    return <<"EOF";
            hoop_auth on;
            hoop_kube on;
            hoop_upstream_credentials bearer $token_file;
            proxy_pass https://127.0.0.1:$self->{port};
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_read_timeout 1h;
            # nginx 1.22 keeps a reused upstream TLS session past exit,
            # which LeakSanitizer reports under make test-asan
            proxy_ssl_session_reuse off;
EOF
}

sub DESTROY { $_[0]->stop }

# the log's entries for which $filter returns true
sub seen {
    my ($self, $filter) = @_;
    return () unless -e $self->log_file;
    my @all = map { decode_json($_) } grep { /^\{/ }
        split /\n/, slurp($self->log_file);
    return grep { $filter->($_) } @all;
}

# a kubeconfig for one user with a token, the server's cert not checked
sub kubeconfig {
    my ($class, $file, $server, $token, $ns) = @_;
    $ns //= 'default';
    spit($file, <<"KC");
apiVersion: v1
kind: Config
clusters:
- name: gw
  cluster: {server: "$server", insecure-skip-tls-verify: true}
users:
- name: agent
  user: {token: "$token"}
contexts:
- name: gw
  context: {cluster: gw, user: agent, namespace: $ns}
current-context: gw
KC
    return $file;
}

1;

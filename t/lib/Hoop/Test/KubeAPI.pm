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
#   my $key = Hoop::Test::KubeAPI->gateway_files($d);  # before it
#   Hoop::Test::KubeAPI->http_conf($d, $redis->port);  # http{} lines
#   Hoop::Test::KubeAPI->token($key, 'agent-7', 'dev');

use strict;
use warnings;

use JSON::PP;
use Hoop::JWT;
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

# what a test gateway needs in $d: the agents' signing key (returned) and
# its JWKS, the gateway's own service-account token, its TLS certificate
# (gw.pem, gw.key)
sub gateway_files {
    my ($class, $d) = @_;
    my $key = Hoop::JWT->rsa_key(file => "$d/k.pem", kid => 'k1');
    spit("$d/jwks.json", Hoop::JWT->jwks_json($key));
    spit("$d/sa.token", "gateway-service-account-token\n");
    chmod 0600, "$d/sa.token";
    system("openssl req -x509 -newkey rsa:2048 -nodes -keyout $d/gw.key"
        . " -out $d/gw.pem -days 2 -subj /CN=gw"
        . " -addext subjectAltName=IP:127.0.0.1 2>/dev/null") == 0
        or die 'openssl req failed';
    return $key;
}

# the http{} lines such a gateway begins with: Redis, identity, audit,
# and $connection_upgrade for the location's proxy_set_header
sub http_conf {
    my ($class, $d, $redis_port) = @_;
    return <<"EOF";
    hoop_redis 127.0.0.1:$redis_port;
    hoop_oidc_issuer https://idp.test;
    hoop_oidc_audience hoop-gateway;
    hoop_oidc_jwks_file $d/jwks.json;
    hoop_audit_stream hoop:audit;

    map \$http_upgrade \$connection_upgrade {
        default upgrade;
        ''      close;
    }
EOF
}

# an agent's access token for that gateway, signed with $key
sub token {
    my ($class, $key, $sub, @groups) = @_;
    return $key->mint(claims => { iss => 'https://idp.test',
        aud => 'hoop-gateway', sub => $sub, groups => \@groups,
        exp => time + 600 });
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

package Hoop::Test::IdP;

# A real OpenID Connect provider (npm oidc-provider, t/node/idp.mjs) on a
# free loopback port, issuing client-credentials access tokens (at+jwt).

use strict;
use warnings;

use HTTP::Tiny;
use POSIX ();
use JSON::PP;
use Hoop::JWT;
use Hoop::Test qw(repo_dir test_dir free_port wait_until spawn reap slurp
    port_open stop_child);

# new(keys => [Hoop::JWT keys], clients => ['id:secret[:groups]'],
#     audience => 'hoop-gateway')
sub new {
    my ($class, %o) = @_;
    my $self = bless { audience => 'hoop-gateway', %o }, $class;
    $self->{dir} = test_dir('idp');
    $self->{port} //= free_port();
    $self->{keys} //= [Hoop::JWT->rsa_key(file => "$self->{dir}/k1.pem",
        kid => 'k1')];
    $self->{clients} //= ['agent:agent-secret'];
    return $self;
}

sub port { $_[0]{port} }
# new(tls => [cert, key, ca]): served over HTTPS as https://localhost:PORT
sub issuer {
    my ($self) = @_;
    return $self->{tls} ? "https://localhost:$self->{port}"
        : "http://127.0.0.1:$self->{port}";
}

sub http {
    my ($self) = @_;
    return HTTP::Tiny->new($self->{tls}
        ? (verify_SSL => 1, SSL_options => { SSL_ca_file => $self->{tls}[2] })
        : ());
}
sub keys { @{ $_[0]{keys} } }

sub start {
    my ($self, %o) = @_;
    $self->{keys} = $o{keys} if $o{keys};
    my @cmd = ('node', repo_dir() . '/t/node/idp.mjs', '--port',
        $self->{port}, '--audience', $self->{audience},
        (map { ('--key', $_->kid . ':' . $_->pem) } @{ $self->{keys} }),
        (map { ('--client', $_) } @{ $self->{clients} }),
        ($self->{tls} ? ('--issuer', $self->issuer, '--tls',
            "$self->{tls}[0]:$self->{tls}[1]") : ()));
    my $log = "$self->{dir}/idp.log";
    $self->{pid} = spawn(cmd => \@cmd, log => $log);
    wait_until(sub {
        die "idp exited:\n" . slurp($log)
            if waitpid($self->{pid}, POSIX::WNOHANG()) == $self->{pid};
        return slurp($log) =~ /idp listening/ && port_open($self->{port});
    }, 'the OIDC provider to listen');
    return $self;
}

# An access token for a client through the client-credentials grant.
sub token {
    my ($self, $client) = @_;
    $client //= $self->{clients}[0];
    my ($id, $secret) = split /:/, $client;
    my $r = $self->http->post_form($self->issuer . '/token',
        { grant_type => 'client_credentials', client_id => $id,
          client_secret => $secret });
    die "token request failed: $r->{status} $r->{content}\n"
        unless $r->{success};
    my $token = decode_json($r->{content})->{access_token};
    Hoop::Test::secret($token, 'an access token from the IdP');
    Hoop::Test::secret($secret, 'an OAuth client secret');
    return $token;
}

sub get_json {
    my ($self, $path) = @_;
    my $r = $self->http->get($self->issuer . $path);
    die "GET $path: $r->{status}\n" unless $r->{success};
    return decode_json($r->{content});
}

sub stop { stop_child($_[0]) }

sub DESTROY { $_[0]->stop }

1;

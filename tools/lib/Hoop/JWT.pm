package Hoop::JWT;

# Mints JSON Web Tokens with keys we control: the dev identity of the
# embedded demo (tools/hoop-token) and the tests, which also need tokens no
# honest issuer would sign (alg none, HMAC over a public key, bad claims).
# Signing is done by the openssl command, so this needs no CPAN modules.

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256 hmac_sha384 hmac_sha512);
use File::Temp qw(tempfile);
use JSON::PP;
use MIME::Base64 qw(encode_base64 decode_base64);

my $json = JSON::PP->new->canonical->utf8;

# called with each token minted (the test harness records them as secrets)
our $on_mint;

sub b64url {
    my ($bytes) = @_;
    my $s = encode_base64($bytes, '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+$//;
    return $s;
}

sub b64url_decode {
    my ($s) = @_;
    $s =~ tr{-_}{+/};
    $s .= '=' x ((4 - length($s) % 4) % 4);
    return decode_base64($s);
}

# An RSA key pair in PEM, created unless the file exists.
sub rsa_key {
    my ($class, %o) = @_;
    my $pem = $o{file} or die 'file required';
    unless (-s $pem) {
        my $bits = $o{bits} // 2048;
        system("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:$bits"
            . " -out '$pem' 2>/dev/null") == 0 or die "openssl genpkey failed";
        chmod 0600, $pem;
    }
    return bless { kid => $o{kid} // 'k1', pem => $pem, kty => 'RSA',
        (exists $o{alg} ? (alg => $o{alg}) : ()) }, $class;
}

sub kid { $_[0]{kid} }
sub pem { $_[0]{pem} }

sub public_pem {
    my ($self) = @_;
    return scalar `openssl pkey -in '$self->{pem}' -pubout 2>/dev/null`;
}

# The public half as a JWK (RFC 7517); the key's alg is RS256 unless the
# key was made with alg => ... (undef publishes no alg).
sub jwk {
    my ($self) = @_;
    my $alg = exists $self->{alg} ? $self->{alg} : 'RS256';
    my $mod = `openssl rsa -in '$self->{pem}' -noout -modulus 2>/dev/null`;
    $mod =~ s/^Modulus=//;
    chomp $mod;
    return { kty => 'RSA', kid => $self->{kid}, use => 'sig',
        (defined $alg ? (alg => $alg) : ()),
        n => b64url(pack('H*', $mod)), e => 'AQAB' };
}

sub jwks_json {
    my ($class, @keys) = @_;
    return $json->encode({ keys => [map { $_->jwk } @keys] });
}

my %digest = (RS256 => 'sha256', RS384 => 'sha384', RS512 => 'sha512',
    PS256 => 'sha256', PS384 => 'sha384', PS512 => 'sha512');
my %hmac = (HS256 => \&hmac_sha256, HS384 => \&hmac_sha384,
    HS512 => \&hmac_sha512);

# mint(claims => {...}, [alg => 'RS256'], [header => {...}],
#      [hmac_secret => $bytes]): a compact JWS.  header entries override
# the defaults {alg, typ: JWT, kid}; an undef value removes the entry.
sub mint {
    my ($self, %o) = @_;
    my $alg = $o{alg} // 'RS256';
    my %h = (alg => $alg, typ => 'JWT', kid => $self->{kid},
        %{ $o{header} || {} });
    defined $h{$_} or delete $h{$_} for keys %h;
    my $input = b64url($o{raw_header} // $json->encode(\%h)) . '.'
        . b64url($o{raw_claims} // $json->encode($o{claims} || {}));
    my $token = "$input." . b64url($self->sign($alg, $input, %o));
    $on_mint->($token) if $on_mint;
    return $token;
}

sub sign {
    my ($self, $alg, $input, %o) = @_;
    return '' if $alg eq 'none';
    return $hmac{$alg}->($input, $o{hmac_secret} // '') if $hmac{$alg};
    my $d = $digest{$alg} or die "cannot sign $alg";
    my ($fh, $f) = tempfile(UNLINK => 1);
    print $fh $input;
    close $fh;
    my $pss = $alg =~ /^PS/
        ? '-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest' : '';
    my $sig = `openssl dgst -$d $pss -sign '$self->{pem}' -binary '$f'`;
    die "openssl dgst failed" if $? || !length $sig;
    return $sig;
}

# Decodes without verifying: (header, claims) as hashes.
sub decode {
    my ($class, $token) = @_;
    my ($h, $c) = split /\./, $token;
    return ($json->decode(b64url_decode($h)), $json->decode(b64url_decode($c)));
}

1;

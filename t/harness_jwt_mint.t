# The token-minting helper makes tokens an independent JOSE implementation
# (npm jose) accepts, and only those: the helper can be trusted to make both
# good and hostile tokens for the identity tests.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../tools/lib";

use Test::More;
use Hoop::JWT;
use Hoop::Test qw(repo_dir test_dir spit);

my $dir = test_dir('jwt');
my $k1 = Hoop::JWT->rsa_key(file => "$dir/k1.pem", kid => 'k1');
my $k2 = Hoop::JWT->rsa_key(file => "$dir/k2.pem", kid => 'k2');
spit("$dir/jwks.json", Hoop::JWT->jwks_json($k1));

sub verify {
    my ($token, @check) = @_;
    my $out = `node ${\ repo_dir()}/t/node/jwt-verify.mjs $dir/jwks.json '$token' @check 2>&1`;
    return ($? == 0, $out);
}

my %claims = (iss => 'https://idp.test', aud => 'hoop-gateway',
    sub => 'alice', exp => time + 300);

my $good = $k1->mint(claims => \%claims);
my ($ok, $out) = verify($good, 'https://idp.test', 'hoop-gateway');
ok($ok, 'a minted RS256 token verifies with jose') or diag $out;
like($out, qr/"sub":"alice"/, 'jose reads the claims we put in');

my $ps = Hoop::JWT->rsa_key(file => "$dir/k1.pem", kid => 'k1',
    alg => 'PS256');
spit("$dir/jwks-ps.json", Hoop::JWT->jwks_json($ps));
$out = `node ${\ repo_dir()}/t/node/jwt-verify.mjs $dir/jwks-ps.json '${\ $ps->mint(claims => \%claims, alg => 'PS256')}' 2>&1`;
is($?, 0, 'PS256 signing verifies against a PS256 key') or diag $out;
($ok) = verify($k1->mint(claims => \%claims, alg => 'PS256'));
ok(!$ok, 'and not against the same key published for RS256 only');

my ($hh, $cc, $ss) = split /\./, $good;
my $forged = join '.', $hh,
    Hoop::JWT::b64url('{"sub":"root","aud":"hoop-gateway"}'), $ss;
($ok, $out) = verify($forged);
ok(!$ok, 'changed claims under the old signature are refused');
like($out, qr/signature/i, 'jose says the signature is wrong');

($ok) = verify($k2->mint(claims => \%claims, header => { kid => 'k1' }));
ok(!$ok, 'a token signed by another key under our kid is refused');

($ok) = verify($k1->mint(claims => \%claims, alg => 'none'));
ok(!$ok, 'alg none is minted on request and refused by jose');

my ($hdr) = Hoop::JWT->decode($k1->mint(claims => \%claims,
    header => { typ => 'at+jwt' }));
is($hdr->{typ}, 'at+jwt', 'header fields can be overridden');

done_testing;

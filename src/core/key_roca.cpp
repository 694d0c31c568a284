#include "key_roca.hpp"

namespace rowguard::core {
namespace {

// The primes of the published detector (crocs-muni/roca).
constexpr unsigned kPrimes[] = {3,   5,   7,   11,  13,  17,  19,  23,  29,  31,  37,  41,  43,
                                47,  53,  59,  61,  67,  71,  73,  79,  83,  89,  97,  101, 103,
                                107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167};

bool InSubgroupOf65537(unsigned residue, unsigned p) {
  const unsigned g = 65537 % p;
  unsigned x = 1;
  do {
    if (x == residue) return true;
    x = (x * g) % p;
  } while (x != 1);
  return false;
}

}  // namespace

bool HasRocaFingerprint(const BIGNUM* modulus) {
  for (unsigned p : kPrimes) {
    const BN_ULONG residue = BN_mod_word(modulus, p);
    if (residue == static_cast<BN_ULONG>(-1)) return false;  // BN error: not a fingerprint
    if (!InSubgroupOf65537(static_cast<unsigned>(residue), p)) return false;
  }
  return true;
}

}  // namespace rowguard::core

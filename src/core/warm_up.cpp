#include "rowguard/core/warm_up.hpp"

#include <string>
#include <string_view>

#include "rowguard/core/jws.hpp"
#include "rowguard/core/key.hpp"
#include "rowguard/core/trust_store.hpp"

namespace rowguard::core {
namespace {

// Public keys of the test fixtures (test/fixtures/keys) and a token each signed by the
// matching private key over the payload {"warm": "up"}. Public data: no secret here,
// and these keys are never stored, so they can authenticate nothing.
struct Sample {
  std::string_view jwk;
  std::string_view token;
};
constexpr Sample kSamples[] = {
    {R"({"x": "adJecLYzjlh-Q2znb8bV064xSm1B-msBrMd4U9hNHpU", "y": "sACLg8Ves--mtOjdDRDW8OX21XXiflzz_t9t7pCTqtM", "alg": "ES256", "crv": "P-256", "kid": "es256-key", "kty": "EC", "use": "sig"})",
     "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImVzMjU2LWtleSJ9.eyJ3YXJtIjogInVwIn0."
     "K3eF42ABdh7ueIm0aWP3VbLzy7PcS4WbqGMlRhrDFeDrtVgg2jA0ulS9mJxc7Qfrpf-fgEcOZ5Aw0V0qNVbQsg"},
    {R"({"x": "xg55ykGXVU5hplaME4TaFg2k5f2nJAmwCpipCS52kdA", "alg": "EdDSA", "crv": "Ed25519", "kid": "eddsa-key", "kty": "OKP", "use": "sig"})",
     "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6ImVkZHNhLWtleSJ9.eyJ3YXJtIjogInVwIn0."
     "YUQNgCdoiPpkf5Dq1CAdK1CVNMzH3X_QODUu1HTPQ5x2C4WZ7NMwADpUI2um3hmQxYXgOT2WUM97mMBWJxdKDg"},
    {R"({"e": "AQAB", "n": "5MtGp_q48M_M_euMqrYzeTiVPPSJiMxqCv-DqhRSOn0R1L3NQdt3LF987WMEMMr6-rxu7VWasQn0Q8MqI-59M9aFXHvRE1woZzJ7tDFq-SKo2_1PozKFbKZ3yXERDDESNI_v5KA712Gqfh7-paoA5Vye3X1Im4BKMtfVu17A7Wa3cCO3oHyL9e6CDXAidlyPCmM4WmQS2JJbiwjwstqNlNKGwoibNTiGkCvVa2j_Pog68c97gFSzUuAW9LW7o2-EtGoUfeqOjWSfr7wLFA6XR8YmzOTHQ-_qEsEK0BybW38-dPgCxP3PSjAEQ8T43pfZlQlrFkmxos4kw5-rjT1OTQ", "alg": "RS256", "kid": "rs256-key", "kty": "RSA", "use": "sig"})",
     "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzMjU2LWtleSJ9.eyJ3YXJtIjogInVwIn0."
     "a6y0o2VUbVeKvTnkoWQ6IS4yhjxlflWgyAnFKEIme6q-sF7MKW4NucpXGjVal3tNCcFmLkZ2e-8wfE_pwCRCHCztk5qn"
     "o4E0qSnZ5UvQ--_gS_4PYDSQ8GW_c_RcGOt-_nLHSdf-9fAa-hW47V_mWjY5OM55oaARgc9kJXZIFxUP-O1nVU3pBSt"
     "KBnuiSqILNolUaFA9p0UXssVxGmVEEwsFesWGqoJEfmnZqK_2u2qj-SHeIY2Wonf_mIhxDtIqQrdI__hDbJp6JaDQEIqeM"
     "IzBWSxLnIrvN-3F9rjeAxFIL_FPTdKfNoLFCdZ58lM_MotWnPKPsxw8NUH2qkK9cA"},
};

// HS256 needs no fixture: sign with a constant (non-secret, never stored) key, verify.
constexpr std::string_view kHmacJwk =
    R"({"kty": "oct", "alg": "HS256", "kid": "warm-up", "k": "cm93Z3VhcmQgd2FybS11cCwgbm90IGEgc2VjcmV0ISE"})";

}  // namespace

bool WarmUp() noexcept {
  try {
    TrustStore store;
    bool all = true;
    for (const Sample& sample : kSamples) {
      auto key = ParseJwk(sample.jwk);
      if (!key.ok()) {
        all = false;
        continue;
      }
      store.AddKey(std::move(key).value());
    }
    auto hmac = ParseJwk(kHmacJwk);
    std::string hmac_token;
    if (hmac.ok()) {
      auto token = SignCompact(hmac.value(), R"({"warm": "up"})");
      if (token.ok()) hmac_token = std::move(token).value();
      store.AddKey(std::move(hmac).value());
    }
    VerifyOptions options;
    options.require_exp = false;
    for (const Sample& sample : kSamples) {
      all = store.Verify(sample.token, 0, options).ok() && all;
    }
    return store.Verify(hmac_token, 0, options).ok() && all;
  } catch (...) {
    return false;
  }
}

}  // namespace rowguard::core

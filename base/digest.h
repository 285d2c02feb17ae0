// SHA-256 and HMAC-SHA-256 from OpenSSL's libcrypto: secret fingerprints (engine/auth) and the
// signature of webhook deliveries (observe/webhooks.h).
#ifndef MODELPIN_BASE_DIGEST_H_
#define MODELPIN_BASE_DIGEST_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace modelpin {

std::array<uint8_t, 32> Sha256(std::string_view data);
std::array<uint8_t, 32> HmacSha256(std::string_view key, std::string_view data);
// Lower-case hexadecimal of `bytes`.
std::string Hex(const uint8_t* bytes, size_t n);
template <size_t N>
std::string Hex(const std::array<uint8_t, N>& bytes) {
  return Hex(bytes.data(), N);
}
// Whether two strings are equal, in time that depends only on their lengths (for signatures).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace modelpin

#endif  // MODELPIN_BASE_DIGEST_H_

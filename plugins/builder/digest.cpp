#include "builder/digest.hpp"

#include <nettle/sha2.h>

#include <cstdio>

namespace kleene::builder {

FieldDigest::FieldDigest() : ctx_(std::make_unique<sha256_ctx>()) {
  sha256_init(ctx_.get());
}

FieldDigest::~FieldDigest() = default;

void FieldDigest::bytes(const void* data, std::size_t size) {
  sha256_update(ctx_.get(), size, static_cast<const uint8_t*>(data));
}

void FieldDigest::number(std::uint64_t value) {
  unsigned char le[8];
  for (auto& byte : le) {
    byte = static_cast<unsigned char>(value & 0xff);
    value >>= 8;
  }
  bytes(le, sizeof le);
}

void FieldDigest::field(std::string_view text) {
  number(text.size());
  bytes(text.data(), text.size());
}

void FieldDigest::list(const std::vector<std::string>& items) {
  number(items.size());
  for (const auto& item : items)
    field(item);
}

Result<std::string> FieldDigest::finish() {
  uint8_t md[SHA256_DIGEST_SIZE];
  sha256_digest(ctx_.get(), sizeof md, md);
  std::string out = "sha256:";
  char hex[3];
  for (const uint8_t byte : md) {
    std::snprintf(hex, sizeof hex, "%02x", byte);
    out += hex;
  }
  return out;
}

}  // namespace kleene::builder

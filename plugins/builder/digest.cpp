#include "builder/digest.hpp"

#include <openssl/evp.h>

#include <cstdio>

namespace kleene::builder {

void FieldDigest::Free::operator()(evp_md_ctx_st* ctx) const {
  EVP_MD_CTX_free(ctx);
}

FieldDigest::FieldDigest() : ctx_(EVP_MD_CTX_new()) {
  ok_ = ctx_ && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1;
}

FieldDigest::~FieldDigest() = default;

void FieldDigest::bytes(const void* data, std::size_t size) {
  ok_ = ok_ && EVP_DigestUpdate(ctx_.get(), data, size) == 1;
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
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ok_ || EVP_DigestFinal_ex(ctx_.get(), md, &len) != 1) {
    return make_error(EIO, "sha256 failed");
  }
  std::string out = "sha256:";
  char hex[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", md[i]);
    out += hex;
  }
  return out;
}

}  // namespace kleene::builder

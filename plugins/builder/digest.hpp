// SHA-256 over a sequence of fields, for the build cache: the context digest of COPY/ADD
// sources and the cache key of a step. Every field is length-prefixed (lengths and numbers as
// 8 little-endian bytes, the same on every host), so no two field sequences hash alike.
// Nettle's SHA-256: small and without set-up, where OpenSSL's first digest loads its providers
// (+2.2 MB in kleened, which the builder plugin runs in).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

struct sha256_ctx;  // nettle's

namespace kleene::builder {

class FieldDigest {
 public:
  FieldDigest();
  ~FieldDigest();
  FieldDigest(const FieldDigest&) = delete;
  FieldDigest& operator=(const FieldDigest&) = delete;

  void bytes(const void* data, std::size_t size);  // raw, not prefixed
  void number(std::uint64_t value);
  void field(std::string_view text);
  void list(const std::vector<std::string>& items);  // the count, then each field
  // "sha256:<64 hex digits>".
  [[nodiscard]] Result<std::string> finish();

 private:
  std::unique_ptr<sha256_ctx> ctx_;
};

}  // namespace kleene::builder

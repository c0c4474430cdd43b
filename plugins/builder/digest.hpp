// SHA-256 over a sequence of fields, for the build cache: the context digest of COPY/ADD
// sources and the cache key of a step. Every field is length-prefixed (lengths and numbers as
// 8 little-endian bytes, the same on every host), so no two field sequences hash alike.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

struct evp_md_ctx_st;

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
  // "sha256:<64 hex digits>"; EIO when OpenSSL failed at any step.
  [[nodiscard]] Result<std::string> finish();

 private:
  struct Free {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, Free> ctx_;
  bool ok_ = false;
};

}  // namespace kleene::builder

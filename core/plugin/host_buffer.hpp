// The host's kleene_buffer: where a plugin appends an operation's result or error message.
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include "kleene/plugin/abi.h"

namespace kleene::plugin::detail {

// A plugin's answer larger than this is refused rather than allowed to exhaust kleened's memory.
inline constexpr std::size_t kMaxPluginOutput = std::size_t{64} << 20;

class HostBuffer {
 public:
  explicit HostBuffer(std::size_t limit = kMaxPluginOutput);
  // The kleene_buffer points back at this object, so it stays where it was made.
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;

  kleene_buffer* get() noexcept { return &buffer_; }
  const std::string& data() const noexcept { return data_; }
  std::string take() noexcept { return std::move(data_); }
  // Whether the plugin tried to append past the limit (what fitted is kept).
  bool overflowed() const noexcept { return overflowed_; }

 private:
  static int append(kleene_buffer* self, const char* data, std::size_t len) noexcept;

  kleene_buffer buffer_;
  std::string data_;
  std::size_t limit_;
  bool overflowed_ = false;
};

}  // namespace kleene::plugin::detail

// Where an archive's bytes come from: a download (http, https, file) streamed through
// libcurl, so nothing is staged on disk and a bad URL fails before any dataset exists.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace kleene::image {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // The next chunk; empty at the end. The view stays valid until the next call.
  virtual Result<std::string_view> read() = 0;
  // Bytes handed out so far, and the total when the source knows it.
  virtual uint64_t consumed() const = 0;
  virtual std::optional<uint64_t> size() const = 0;
};

struct FetchOptions {
  std::chrono::seconds connect_timeout{30};
  // A transfer slower than 1 byte/s for this long is abandoned.
  std::chrono::seconds stall_timeout{60};
  // Polled while waiting for data; returning true aborts the transfer with ECANCELED.
  std::function<bool()> cancelled;
};

// Start fetching `url` (http://, https:// or file://; redirects only to http/https). Returns
// once the first bytes arrived or the transfer ended, so a 404, a refused connection or a
// missing file is reported here. Errors carry curl's message.
Result<std::unique_ptr<ByteSource>> open_url(const std::string& url,
                                             const FetchOptions& options = {});

}  // namespace kleene::image

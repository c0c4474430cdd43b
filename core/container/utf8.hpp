// Output of executions goes to WebSocket clients as text frames (Kleene) when it is UTF-8, and
// as binary frames when it is not. Chunks from a process cut characters anywhere, so an
// incomplete trailing sequence waits for the next chunk.
#pragma once

#include <string>
#include <string_view>

namespace kleene::container {

struct OutputFrame {
  std::string data;
  bool binary = false;
};

class Utf8Framer {
 public:
  // The frame for `chunk` (with what was held back before); data may be empty (all held back).
  OutputFrame push(std::string_view chunk);
  // What is still held back, as a binary frame (at the end of the output).
  OutputFrame flush();

 private:
  std::string pending_;
};

// Length of the longest prefix of `bytes` that is valid UTF-8 and the number of bytes after it
// that form an incomplete (but so far valid) sequence at the very end; invalid = true when the
// rest is not just such a tail.
struct Utf8Scan {
  std::size_t valid_prefix = 0;
  bool invalid = false;
};
Utf8Scan scan_utf8(std::string_view bytes);

}  // namespace kleene::container

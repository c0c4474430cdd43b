#include "container/utf8.hpp"

namespace kleene::container {

namespace {

// Expected length of a sequence from its lead byte; 0 if it cannot start one.
std::size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Whether byte i (1-based within the sequence) after `lead` is allowed (overlongs, surrogates
// and code points above U+10FFFF excluded).
bool continuation_ok(unsigned char lead, std::size_t index, unsigned char byte) {
  if ((byte & 0xC0) != 0x80) return false;
  if (index != 1) return true;
  if (lead == 0xE0) return byte >= 0xA0;
  if (lead == 0xED) return byte <= 0x9F;
  if (lead == 0xF0) return byte >= 0x90;
  if (lead == 0xF4) return byte <= 0x8F;
  return true;
}

}  // namespace

Utf8Scan scan_utf8(std::string_view bytes) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto lead = static_cast<unsigned char>(bytes[i]);
    const std::size_t length = sequence_length(lead);
    if (length == 0) return {i, true};
    std::size_t j = 1;
    for (; j < length && i + j < bytes.size(); ++j) {
      if (!continuation_ok(lead, j, static_cast<unsigned char>(bytes[i + j]))) return {i, true};
    }
    if (j < length) return {i, false};  // an incomplete sequence at the end
    i += length;
  }
  return {i, false};
}

OutputFrame Utf8Framer::push(std::string_view chunk) {
  pending_.append(chunk);
  const auto scan = scan_utf8(pending_);
  if (scan.invalid) {
    OutputFrame frame{std::move(pending_), true};
    pending_.clear();
    return frame;
  }
  OutputFrame frame{pending_.substr(0, scan.valid_prefix), false};
  pending_.erase(0, scan.valid_prefix);
  return frame;
}

OutputFrame Utf8Framer::flush() {
  OutputFrame frame{std::move(pending_), true};
  pending_.clear();
  return frame;
}

}  // namespace kleene::container

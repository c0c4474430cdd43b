// Fuzzes image references and nametags (core/image/reference.cpp): parse_reference
// (`ID | NAME[:TAG][@SNAPSHOT]`, what /images/{id}, container create and the builder's FROM
// send), parse_nametag (`name[:tag]`, image tag and build tag), is_valid_image_name,
// is_valid_tag and format_nametag. Each input line is one reference.
//
// Invariants, on top of ASan/UBSan:
//   - an accepted reference is exactly its parts joined again (nothing dropped or added);
//   - every accepted part obeys Kleene's nametag rules: 1..128 characters of [A-Za-z0-9_.-]
//     (and '/' in names), no part or '/'-component that is empty or starts with '.' or '-', so
//     no `..`, absolute or dataset-like path can come out of it;
//   - parse_nametag and parse_reference agree on a reference without '@'; a missing tag is
//     "latest" and format_nametag gives back what parse_nametag read;
//   - a rejected reference is EINVAL with a message that starts "invalid ".
#include <cctype>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "image/image.hpp"

namespace img = kleene::image;

namespace {

// Kleene's rules, written out independently of reference.cpp.
bool follows_rules(std::string_view text, bool name) {
  if (text.empty() || text.size() > img::kMaxNametagLength) return false;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('/', start), text.size());
    const std::string_view part = text.substr(start, end - start);
    if (part.empty() || part.front() == '.' || part.front() == '-') return false;
    for (const char c : part) {
      const auto u = static_cast<unsigned char>(c);
      if (std::isalnum(u) == 0 && c != '_' && c != '.' && c != '-') return false;
    }
    if (end < text.size() && !name) return false;  // '/' only in names
    start = end + 1;
  }
  return true;
}

void check_rejected(const kleene::Error& error, std::string_view text) {
  KLEENE_FUZZ_CHECK(error.code == EINVAL && error.message.starts_with("invalid "),
                    std::string(text) + ": " + error.message);
}

void check_reference(std::string_view text) {
  const bool name_ok = img::is_valid_image_name(text);
  const bool tag_ok = img::is_valid_tag(text);
  KLEENE_FUZZ_CHECK(name_ok == follows_rules(text, true), "name rule: " + std::string(text));
  KLEENE_FUZZ_CHECK(tag_ok == follows_rules(text, false), "tag rule: " + std::string(text));
  KLEENE_FUZZ_CHECK(!tag_ok || name_ok, "a valid tag is a valid name: " + std::string(text));

  auto ref = img::parse_reference(text);
  if (ref) {
    KLEENE_FUZZ_CHECK(follows_rules(ref->name_or_id, true), ref->name_or_id);
    KLEENE_FUZZ_CHECK(ref->tag.empty() || follows_rules(ref->tag, false), ref->tag);
    KLEENE_FUZZ_CHECK(ref->snapshot.empty() || follows_rules(ref->snapshot, false), ref->snapshot);
    std::string joined = ref->name_or_id;
    if (text.find(':') != std::string_view::npos) joined += ":" + ref->tag;
    if (text.find('@') != std::string_view::npos) joined += "@" + ref->snapshot;
    KLEENE_FUZZ_CHECK(joined == text, std::string(text) + " -> " + joined);
  } else {
    check_rejected(ref.error(), text);
  }

  auto nametag = img::parse_nametag(text);
  if (nametag) {
    const auto& [name, tag] = *nametag;
    KLEENE_FUZZ_CHECK(follows_rules(name, true) && follows_rules(tag, false), name + ":" + tag);
    const bool has_tag = text.find(':') != std::string_view::npos;
    KLEENE_FUZZ_CHECK(has_tag ? name + ":" + tag == text : (name == text && tag == "latest"),
                      std::string(text) + " -> " + name + ":" + tag);
    img::Image image;
    image.name = name;
    image.tag = tag;
    const std::string formatted = img::format_nametag(image);
    auto again = img::parse_nametag(formatted);
    KLEENE_FUZZ_CHECK(again && *again == *nametag, formatted);
  } else {
    check_rejected(nametag.error(), text);
  }

  // The two parsers agree where their syntax overlaps.
  if (text.find('@') == std::string_view::npos) {
    KLEENE_FUZZ_CHECK(ref.has_value() == nametag.has_value(),
                      "parse_reference and parse_nametag disagree: " + std::string(text));
    if (ref && nametag) {
      KLEENE_FUZZ_CHECK(ref->name_or_id == nametag->first, std::string(text));
      KLEENE_FUZZ_CHECK(
          ref->tag.empty() ? nametag->second == "latest" : ref->tag == nametag->second,
          std::string(text));
    }
  } else {
    KLEENE_FUZZ_CHECK(!nametag, "a nametag with '@': " + std::string(text));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_reference(text);
  std::size_t start = 0;
  for (int lines = 0; start <= text.size() && lines < 64; ++lines) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    if (start == 0 && end == text.size()) break;  // a single line, done above
    check_reference(text.substr(start, end - start));
    start = end + 1;
  }
  return 0;
}

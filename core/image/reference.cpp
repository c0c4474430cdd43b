// Image references and nametags: what a user may type for an image, checked before it reaches
// the store, a dataset name or a path.
#include <cctype>

#include "image/image.hpp"

namespace kleene::image {

namespace {

bool is_nametag_char(char c, bool allow_slash) {
  const auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) != 0 || c == '_' || c == '.' || c == '-' || (allow_slash && c == '/');
}

bool valid(std::string_view text, bool allow_slash) {
  if (text.empty() || text.size() > kMaxNametagLength) return false;
  if (text.front() == '.' || text.front() == '-' || text.front() == '/') return false;
  for (char c : text)
    if (!is_nametag_char(c, allow_slash)) return false;
  // "a//b", "a/" and "a/./b" would be ambiguous or path-like.
  if (allow_slash) {
    if (text.back() == '/' || text.find("//") != std::string_view::npos) return false;
    if (text.find("/.") != std::string_view::npos || text.find("/-") != std::string_view::npos)
      return false;
  }
  return true;
}

std::unexpected<Error> invalid(std::string_view what, std::string_view text) {
  return make_error(EINVAL, "invalid " + std::string(what) + " '" + std::string(text) + "'");
}

}  // namespace

bool is_valid_image_name(std::string_view name) {
  return valid(name, /*allow_slash=*/true);
}

bool is_valid_tag(std::string_view tag) {
  return valid(tag, /*allow_slash=*/false);
}

std::string format_nametag(const Image& image) {
  if (image.name.empty()) return {};
  return image.name + ":" + image.tag;
}

Result<ImageReference> parse_reference(std::string_view text) {
  ImageReference ref;
  std::string_view rest = text;
  if (const auto at = rest.find('@'); at != std::string_view::npos) {
    ref.snapshot = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (!is_valid_tag(ref.snapshot)) return invalid("snapshot in image reference", text);
  }
  if (const auto colon = rest.find(':'); colon != std::string_view::npos) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!is_valid_tag(ref.tag)) return invalid("tag in image reference", text);
  }
  if (!is_valid_image_name(rest)) return invalid("image reference", text);
  ref.name_or_id = std::string(rest);
  return ref;
}

Result<std::pair<std::string, std::string>> parse_nametag(std::string_view nametag) {
  std::string_view name = nametag;
  std::string_view tag = "latest";
  if (const auto colon = nametag.find(':'); colon != std::string_view::npos) {
    name = nametag.substr(0, colon);
    tag = nametag.substr(colon + 1);
    if (!is_valid_tag(tag)) return invalid("tag in nametag", nametag);
  }
  if (!is_valid_image_name(name)) return invalid("name in nametag", nametag);
  return std::pair{std::string(name), std::string(tag)};
}

}  // namespace kleene::image

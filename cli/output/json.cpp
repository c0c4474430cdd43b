#include "output/json.hpp"

namespace klee {
namespace {

// Colour by token: keys blue bold, strings green, numbers cyan, true/false/null italic.
std::string colorize(const std::string& text) {
  std::string out;
  out.reserve(text.size() * 2);
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '"') {
      std::size_t end = i + 1;
      while (end < text.size() && text[end] != '"')
        end += text[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, text.size());
      std::size_t next = end;
      while (next < text.size() && text[next] == ' ')
        ++next;
      const bool key = next < text.size() && text[next] == ':';
      out += key ? "\x1b[1;34m" : "\x1b[32m";
      out.append(text, i, end - i);
      out += "\x1b[0m";
      i = end;
    } else if ((c >= '0' && c <= '9') || c == '-') {
      std::size_t end = i;
      while (end < text.size() &&
             std::string_view("0123456789+-.eE").find(text[end]) != std::string_view::npos) {
        ++end;
      }
      out += "\x1b[1;36m" + text.substr(i, end - i) + "\x1b[0m";
      i = end;
    } else if (text.compare(i, 4, "true") == 0 || text.compare(i, 4, "null") == 0 ||
               text.compare(i, 5, "false") == 0) {
      const std::size_t n = text[i] == 'f' ? 5 : 4;
      out += "\x1b[3m" + text.substr(i, n) + "\x1b[0m";
      i += n;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

}  // namespace

std::string pretty_json(const nlohmann::json& value, Theme theme, bool color) {
  auto text = value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  if (color && theme == Theme::fancy) text = colorize(text);
  return text + "\n";
}

}  // namespace klee

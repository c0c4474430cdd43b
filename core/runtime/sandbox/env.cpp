#include <algorithm>

#include "runtime/sandbox.hpp"

namespace kleene::runtime::sandbox {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string_view key_of(std::string_view entry) {
  return entry.substr(0, entry.find('='));
}

// Set or replace KEY (keeps the position of the first occurrence).
void put(std::vector<std::string>& out, std::string entry) {
  const auto key = key_of(entry);
  auto it = std::ranges::find_if(out, [&](const std::string& e) { return key_of(e) == key; });
  if (it != out.end()) {
    *it = std::move(entry);
  } else {
    out.push_back(std::move(entry));
  }
}

}  // namespace

std::vector<std::string> final_env(const std::vector<std::string>& env, const Credentials& who,
                                   bool clean, bool tty,
                                   const std::vector<std::string>& inherited) {
  std::vector<std::string> out;
  if (clean) {
    out.push_back("HOME=" + who.home);
    out.push_back("USER=" + who.name);
    out.push_back("SHELL=" + who.shell);
    out.push_back(std::string("PATH=") + kDefaultPath);
    if (tty) out.push_back("TERM=xterm");
  } else {
    for (const auto& entry : inherited)
      if (entry.find('=') != std::string::npos) put(out, entry);
  }
  for (const auto& entry : env) {
    // A bare "KEY" (no '=') is not an assignment; Docker drops it when the key is unset.
    if (entry.find('=') == std::string::npos || entry.front() == '=') continue;
    put(out, entry);
  }
  return out;
}

}  // namespace kleene::runtime::sandbox

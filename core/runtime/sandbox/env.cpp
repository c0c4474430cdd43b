#include "runtime/sandbox.hpp"
#include "util/strings.hpp"

namespace kleene::runtime::sandbox {
namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

}  // namespace

std::vector<std::string> final_env(const std::vector<std::string>& env, const Credentials& who,
                                   bool clean, bool tty,
                                   const std::vector<std::string>& inherited) {
  // Later entries win per name, at the place of the name's first entry (kleene::merge_env:
  // linear, as an exec's env may hold hundreds of thousands of names).
  std::vector<std::string> out;
  if (clean) {
    out.push_back("HOME=" + who.home);
    out.push_back("USER=" + who.name);
    out.push_back("SHELL=" + who.shell);
    out.push_back(std::string("PATH=") + kDefaultPath);
    if (tty) out.push_back("TERM=xterm");
  } else {
    std::vector<std::string> assignments;
    for (const auto& entry : inherited)
      if (entry.find('=') != std::string::npos) assignments.push_back(entry);
    out = merge_env({}, assignments);
  }
  std::vector<std::string> assignments;
  assignments.reserve(env.size());
  for (const auto& entry : env) {
    // A bare "KEY" (no '=') is not an assignment; Docker drops it when the key is unset.
    if (entry.find('=') == std::string::npos || entry.front() == '=') continue;
    assignments.push_back(entry);
  }
  return merge_env(std::move(out), assignments);
}

}  // namespace kleene::runtime::sandbox

#include "runtime/jail_params.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace kleene::runtime {
namespace {

// FreeBSD spells a false boolean "allow.noraw_sockets" / "mount.nodevfs": "no" after the last dot.
std::string negated(std::string_view name) {
  const auto dot = name.rfind('.');
  std::string out(name.substr(0, dot == std::string_view::npos ? 0 : dot + 1));
  out += "no";
  out += name.substr(dot == std::string_view::npos ? 0 : dot + 1);
  return out;
}

Result<bool> parse_bool(std::string_view name, std::string_view value) {
  static constexpr std::array<std::string_view, 4> kTrue{"1", "true", "yes", "on"};
  static constexpr std::array<std::string_view, 4> kFalse{"0", "false", "no", "off"};
  std::string lower(value);
  std::ranges::transform(lower, lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (std::ranges::find(kTrue, lower) != kTrue.end()) return true;
  if (std::ranges::find(kFalse, lower) != kFalse.end()) return false;
  return make_error(EINVAL, "invalid value '" + std::string(value) + "' for jail parameter '" +
                                std::string(name) + "': expected true or false");
}

bool* bool_field(JailParams& p, std::string_view name) {
  if (name == "mount.devfs") return &p.devfs;
  if (name == "exec.clean") return &p.clean_env;
  if (name == "allow.raw_sockets") return &p.raw_sockets;
  if (name == "allow.sysvipc") return &p.sysvipc;
  if (name == "allow.mlock") return &p.mlock;
  if (name == "allow.chflags") return &p.chflags;
  if (name == "persist") return &p.persist;
  return nullptr;
}

std::vector<std::string>* list_field(JailParams& p, std::string_view name) {
  if (name == "exec.start") return &p.exec_start;
  if (name == "exec.stop") return &p.exec_stop;
  if (name == "exec.prestart") return &p.exec_prestart;
  if (name == "exec.poststop") return &p.exec_poststop;
  return nullptr;
}

std::string supported_list() {
  std::string out;
  for (const auto& info : supported_jail_params()) {
    if (!out.empty()) out += ", ";
    out += info.name;
  }
  return out;
}

Result<void> apply(JailParams& p, std::string_view entry) {
  const auto eq = entry.find('=');
  const std::string_view name = entry.substr(0, eq);
  const bool has_value = eq != std::string_view::npos;
  const std::string_view value = has_value ? entry.substr(eq + 1) : std::string_view{};

  if (bool* field = bool_field(p, name)) {
    *field = has_value ? TRY(parse_bool(name, value)) : true;
    return {};
  }
  // The negated spelling of a boolean: "mount.nodevfs", "exec.noclean", "allow.nomlock", ...
  for (const auto& info : supported_jail_params()) {
    if (info.takes_value || negated(info.name) != name) continue;
    if (bool* field = bool_field(p, info.name)) {
      *field = has_value ? !TRY(parse_bool(name, value)) : false;
      return {};
    }
  }
  if (auto* list = list_field(p, name)) {
    if (!has_value || value.empty())
      return make_error(EINVAL, "jail parameter '" + std::string(name) + "' needs a value");
    list->emplace_back(value);
    return {};
  }
  if (name == "exec.jail_user" || name == "host.hostname") {
    if (!has_value)
      return make_error(EINVAL, "jail parameter '" + std::string(name) + "' needs a value");
    if (name == "host.hostname" && value.size() > 64)
      return make_error(EINVAL, "host.hostname is longer than 64 characters");
    (name == "exec.jail_user" ? p.jail_user : p.hostname) = std::string(value);
    return {};
  }
  return make_error(EINVAL, "unsupported jail parameter '" + std::string(name) +
                                "'; supported: " + supported_list());
}

}  // namespace

const std::vector<JailParamInfo>& supported_jail_params() {
  static const std::vector<JailParamInfo> kParams{
      {"mount.devfs", false, false,
       "mount a minimal /dev (null zero full random urandom tty, pts, shm) (default)"},
      {"mount.nodevfs", false, false, "no /dev is mounted in the container"},
      {"exec.clean", false, false,
       "processes start with a clean environment: HOME USER SHELL PATH TERM (default)"},
      {"exec.noclean", false, false, "processes inherit the keeper's environment under theirs"},
      {"exec.jail_user", true, true,
       "the user processes run as when neither exec nor container sets one"},
      {"host.hostname", true, false, "the hostname in the container's UTS namespace"},
      {"allow.raw_sockets", false, false,
       "CAP_NET_RAW and ICMP ping sockets (denied by default, as in a jail)"},
      {"allow.sysvipc", false, false,
       "the SysV IPC syscalls (shm*, msg*, sem*); the IPC namespace is private either way"},
      {"allow.mlock", false, false, "CAP_IPC_LOCK and the mlock/munlock syscalls"},
      {"allow.chflags", false, false, "CAP_LINUX_IMMUTABLE (chattr +i / +a)"},
      {"persist", false, false, "the container keeps running with no process in it"},
      {"exec.start", true, true, "a command run in the container (sh -c) after it starts"},
      {"exec.stop", true, true, "a command run in the container (sh -c) before it stops"},
      {"exec.prestart", true, true, "a command run on the host (sh -c) before the start"},
      {"exec.poststop", true, true, "a command run on the host (sh -c) after the stop"},
  };
  return kParams;
}

Result<JailParams> parse_jail_params(const std::vector<std::string>& params) {
  JailParams out;
  for (const auto& entry : params)
    TRY(apply(out, entry));
  return out;
}

std::vector<std::string> params_needing_restart(const JailParams& a, const JailParams& b) {
  std::vector<std::string> out;
  auto check = [&](bool differs, const char* name) {
    if (differs) out.emplace_back(name);
  };
  check(a.devfs != b.devfs, "mount.devfs");
  check(a.clean_env != b.clean_env, "exec.clean");
  check(a.hostname != b.hostname, "host.hostname");
  check(a.raw_sockets != b.raw_sockets, "allow.raw_sockets");
  check(a.sysvipc != b.sysvipc, "allow.sysvipc");
  check(a.mlock != b.mlock, "allow.mlock");
  check(a.chflags != b.chflags, "allow.chflags");
  check(a.persist != b.persist, "persist");
  return out;
}

}  // namespace kleene::runtime

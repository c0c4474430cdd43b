// exec_process: the last steps before execve. Everything that allocates (argv, envp, the PATH
// candidates) is prepared before the first privilege is dropped.
#include <grp.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "runtime/sandbox/internal.hpp"

namespace kleene::runtime::sandbox {
namespace {

constexpr std::string_view kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::vector<char*> pointers(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings)
    out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Where to look for argv[0]: itself when it has a '/', else every directory of the
// execution's PATH (not kleened's or the keeper's).
std::vector<std::string> candidates(const std::string& program,
                                    const std::vector<std::string>& env) {
  if (program.find('/') != std::string::npos) return {program};
  std::string_view path = kDefaultPath;
  for (const auto& entry : env)
    if (entry.starts_with("PATH=")) path = std::string_view(entry).substr(5);
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find(':', start);
    if (end == std::string_view::npos) end = path.size();
    const auto dir = path.substr(start, end - start);
    out.push_back((dir.empty() ? std::string(".") : std::string(dir)) + "/" + program);
    start = end + 1;
  }
  return out;
}

Error exec_error(int code, const std::string& program, bool searched) {
  if (searched && code == ENOENT)
    return Error{ENOENT, "exec " + program + ": executable file not found in $PATH"};
  const char* text = ::strerrordesc_np(code);
  return Error{code, "exec " + program + ": " + (text != nullptr ? text : "Unknown error")};
}

Result<void> drop_privileges(const Credentials& who, const JailParams& params) {
  const std::uint64_t mask = capability_mask(params);
  TRY(drop_bounding_set(mask));
  if (::setgroups(who.groups.size(), who.groups.data()) != 0) return errno_error("setgroups");
  if (::setresgid(who.gid, who.gid, who.gid) != 0)
    return errno_error("setgid " + std::to_string(who.gid));
  if (::setresuid(who.uid, who.uid, who.uid) != 0)
    return errno_error("setuid " + std::to_string(who.uid));
  TRY(set_capabilities(mask));
  return {};
}

}  // namespace

Error exec_process(const ProcessSpec& process, const Credentials& who, const JailParams& params) {
  if (process.argv.empty() || process.argv.front().empty())
    return Error{EINVAL, "exec: no command given"};
  const auto argv = pointers(process.argv);
  const auto envp = pointers(process.env);
  const auto paths = candidates(process.argv.front(), process.env);
  const std::string workdir = process.workdir.empty() ? "/" : process.workdir;

  // Close-on-exec rather than close: the caller may still report a failure through its own
  // pipe; nothing above 2 survives the execve either way.
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
    return errno_error("close_range").error();
  if (auto dropped = drop_privileges(who, params); !dropped) return dropped.error();
  if (::chdir(workdir.c_str()) != 0) return errno_error("chdir " + workdir).error();
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno_error("set no_new_privs").error();
  if (auto filtered = install_seccomp(params); !filtered) return filtered.error();

  int error = ENOENT;
  bool denied = false;
  for (const auto& path : paths) {
    ::execve(path.c_str(), argv.data(), envp.data());
    error = errno;
    if (error == EACCES) {
      denied = true;
    } else if (error != ENOENT && error != ENOTDIR && error != ESTALE && error != ENODEV &&
               error != ETIMEDOUT) {
      break;  // the file exists but cannot run (ENOEXEC, E2BIG, ...): report it
    }
  }
  if (denied && (error == ENOENT || error == ENOTDIR)) error = EACCES;
  return exec_error(error, process.argv.front(),
                    process.argv.front().find('/') == std::string::npos);
}

}  // namespace kleene::runtime::sandbox

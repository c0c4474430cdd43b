#include "util/trusted_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <system_error>

namespace kleene::util {

std::optional<Error> untrusted_file(const std::filesystem::path& path, std::string_view refused) {
  std::error_code ec;
  const auto real = std::filesystem::canonical(path, ec);
  if (ec) return std::nullopt;
  for (const auto& checked : {real, real.parent_path()}) {
    struct stat st {};
    if (::stat(checked.c_str(), &st) != 0) continue;
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
      return Error{EPERM, checked.string() + " belongs to uid " + std::to_string(st.st_uid) +
                              ", not to root or kleened's user: " + std::string(refused)};
    if ((st.st_mode & S_IWOTH) != 0 || ((st.st_mode & S_IWGRP) != 0 && st.st_gid != 0)) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
      return Error{EPERM, checked.string() + " is writable by others (mode " + mode +
                              "): " + std::string(refused)};
    }
  }
  return std::nullopt;
}

}  // namespace kleene::util

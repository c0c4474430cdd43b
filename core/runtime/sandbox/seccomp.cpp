// Installs one of the seccomp filters compiled at build time (gen_seccomp.cpp).
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>

#include "runtime/sandbox/internal.hpp"

namespace kleene::runtime::sandbox {
namespace {

struct SeccompProgram {
  const sock_filter* code;
  std::size_t length;
};

#include "seccomp_filters.inc"

const SeccompProgram& program_for(const JailParams& params) {
  const unsigned index =
      (params.raw_sockets ? 1U : 0U) | (params.sysvipc ? 2U : 0U) | (params.mlock ? 4U : 0U);
  return kSeccompFilters[index];
}

}  // namespace

std::span<const sock_filter> seccomp_program(const JailParams& params) {
  const auto& program = program_for(params);
  return {program.code, program.length};
}

namespace {

Result<void> install_program(const SeccompProgram& program) {
  sock_fprog fprog{};
  fprog.len = static_cast<unsigned short>(program.length);
  fprog.filter = const_cast<sock_filter*>(program.code);  // the kernel only reads it
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) {
    if (errno != ENOSYS) return errno_error("install the seccomp filter");
    if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0)
      return errno_error("install the seccomp filter");
  }
  return {};
}

}  // namespace

Result<void> install_seccomp(const JailParams& params) {
  return install_program(program_for(params));
}

Result<void> install_extract_seccomp() {
  return install_program(kExtractProgram);
}

}  // namespace kleene::runtime::sandbox

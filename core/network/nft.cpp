#include "network/nft.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <sys/socket.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <utility>

#include "util/unique_fd.hpp"

namespace kleene::network {

namespace {

constexpr std::array<std::string_view, 2> kOurFamilies = {"inet", "bridge"};

// libnftables keeps its interface cache in a global and initialises gmp once per process:
// contexts are not independent, so every call into the library takes this one lock.
std::mutex& library_mutex() {
  static std::mutex mutex;
  return mutex;
}

std::set<int> open_fds() {
  std::set<int> fds;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return fds;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') fds.insert(std::atoi(entry->d_name));
  }
  fds.erase(::dirfd(dir));  // its number is free again once the listing is done
  ::closedir(dir);
  return fds;
}

bool is_netfilter_socket(int fd) {
  int domain = 0;
  int protocol = 0;
  socklen_t length = sizeof(domain);
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) != 0) return false;
  length = sizeof(protocol);
  if (::getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &length) != 0) return false;
  return domain == AF_NETLINK && protocol == NETLINK_NETFILTER;
}

// libnftables opens its socket without SOCK_CLOEXEC and does not expose it: find the new
// netfilter socket among the fds that appeared while the context was created. Marking another
// thread's netfilter socket close-on-exec as well does no harm.
void mark_new_netfilter_sockets_cloexec(const std::set<int>& before) {
  for (int fd : open_fds()) {
    if (before.contains(fd) || !is_netfilter_socket(fd)) continue;
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  return text;
}

// nft reports kernel errors as strerror() text ("Could not process rule: File exists"); keep
// the code when it is one of those, else the script was not acceptable.
int error_code(std::string_view message) {
  for (int code : {EPERM, ENOENT, EEXIST, EBUSY, ENOMEM, EOPNOTSUPP, ENOSPC, EMFILE}) {
    if (message.find(std::strerror(code)) != std::string_view::npos) return code;
  }
  return EINVAL;
}

std::string remove_script() {
  std::string script;
  for (std::string_view family : kOurFamilies) {
    // `add` first: deleting a table that does not exist would fail the transaction.
    script += "table " + std::string(family) + " " + std::string(firewall::kTable) + "\n";
    script += "delete table " + std::string(family) + " " + std::string(firewall::kTable) + "\n";
  }
  return script;
}

}  // namespace

void Nftables::Deleter::operator()(nft_ctx* ctx) const noexcept {
  const std::lock_guard lock(library_mutex());
  nft_ctx_free(ctx);
}

Result<Nftables> Nftables::create() {
  // nft_ctx_new() exits the process when it cannot open its socket: find out first.
  const UniqueFd probe(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
  if (!probe) return errno_error("nftables: netfilter netlink socket");

  const std::lock_guard lock(library_mutex());
  const std::set<int> before = open_fds();
  nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (ctx == nullptr) return make_error(ENOMEM, "nftables: cannot create a context");
  mark_new_netfilter_sockets_cloexec(before);
  // Only the renderer's scripts are loaded: relative `include`s have nothing to find.
  nft_ctx_clear_include_paths(ctx);
  if (nft_ctx_buffer_output(ctx) != 0 || nft_ctx_buffer_error(ctx) != 0) {
    nft_ctx_free(ctx);  // not through Deleter: it takes the lock held here
    return make_error(ENOMEM, "nftables: cannot buffer the output");
  }
  return Nftables(ctx);
}

Nftables::~Nftables() = default;

Result<std::string> Nftables::run_locked(std::string_view script) {
  if (script.find('\0') != std::string_view::npos) {
    return make_error(EINVAL, "nftables: the script contains a NUL byte");
  }
  const std::string text(script);
  const int rc = nft_run_cmd_from_buffer(ctx_.get(), text.c_str());
  // Both buffers are read every time: reading is what rewinds them for the next command.
  std::string output = nft_ctx_get_output_buffer(ctx_.get());
  std::string errors = trim(nft_ctx_get_error_buffer(ctx_.get()));
  if (rc != 0) {
    if (errors.empty()) errors = "the script was rejected";
    const int code = error_code(errors);
    return make_error(code, "nftables: " + errors);
  }
  return output;
}

Result<void> Nftables::check(std::string_view script) {
  const std::lock_guard lock(library_mutex());
  nft_ctx_set_dry_run(ctx_.get(), true);
  auto result = run_locked(script);
  nft_ctx_set_dry_run(ctx_.get(), false);
  if (!result) return std::unexpected(std::move(result).error());
  return {};
}

Result<void> Nftables::apply(std::string_view script) {
  const std::lock_guard lock(library_mutex());
  TRY(run_locked(script));
  return {};
}

Result<void> Nftables::apply_snapshot(const firewall::Snapshot& snapshot) {
  const std::string script = TRY(firewall::render(snapshot));
  return apply(script);
}

Result<void> Nftables::remove_ours() {
  return apply(remove_script());
}

Result<std::string> Nftables::list_ours() {
  const std::lock_guard lock(library_mutex());
  const std::string tables = TRY(run_locked("list tables"));
  std::string listing;
  for (std::string_view family : kOurFamilies) {
    const std::string table = std::string(family) + " " + std::string(firewall::kTable);
    // Whole lines only: "table inet kleene2" is not ours.
    if (("\n" + tables).find("\ntable " + table + "\n") == std::string::npos) continue;
    listing += TRY(run_locked("list table " + table));
  }
  return listing;
}

}  // namespace kleene::network

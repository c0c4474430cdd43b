#include "network/nft.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <nftables/libnftables.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "util/shared_library.hpp"
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

// libnftables is loaded on the first create(), not when kleened starts: with libnftnl, libmnl,
// libxtables, libjansson and libgmp it is about 1 MiB of resident memory that a daemon which
// never touches a network does not need. The prototypes come from its header, so a symbol of
// another type does not compile.
constexpr const char* kLibrary = "libnftables.so.1";

struct Library {
  decltype(&nft_ctx_new) ctx_new = nullptr;
  decltype(&nft_ctx_free) ctx_free = nullptr;
  decltype(&nft_ctx_clear_include_paths) ctx_clear_include_paths = nullptr;
  decltype(&nft_ctx_buffer_output) ctx_buffer_output = nullptr;
  decltype(&nft_ctx_buffer_error) ctx_buffer_error = nullptr;
  decltype(&nft_ctx_get_output_buffer) ctx_get_output_buffer = nullptr;
  decltype(&nft_ctx_get_error_buffer) ctx_get_error_buffer = nullptr;
  decltype(&nft_ctx_set_dry_run) ctx_set_dry_run = nullptr;
  decltype(&nft_run_cmd_from_buffer) run_cmd_from_buffer = nullptr;
};

Result<Library> load_library() {
  auto shared = util::SharedLibrary::open(kLibrary);
  if (!shared) return std::unexpected(shared.error().wrap("nftables"));
  Library library;
  auto bind = [&](auto*& function, const char* name) { shared->bind(function, name); };
  bind(library.ctx_new, "nft_ctx_new");
  bind(library.ctx_free, "nft_ctx_free");
  bind(library.ctx_clear_include_paths, "nft_ctx_clear_include_paths");
  bind(library.ctx_buffer_output, "nft_ctx_buffer_output");
  bind(library.ctx_buffer_error, "nft_ctx_buffer_error");
  bind(library.ctx_get_output_buffer, "nft_ctx_get_output_buffer");
  bind(library.ctx_get_error_buffer, "nft_ctx_get_error_buffer");
  bind(library.ctx_set_dry_run, "nft_ctx_set_dry_run");
  bind(library.run_cmd_from_buffer, "nft_run_cmd_from_buffer");
  if (auto complete = shared->check(); !complete)
    return std::unexpected(complete.error().wrap("nftables"));
  return library;
}

const Result<Library>& library() {
  return util::load_once<Library, load_library>();
}

// The library of a context that exists: create() loaded it.
const Library& lib() {
  return *library();
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

// One NFT_MSG_GETTABLE request for table `name` of `family` on `fd`: true when the kernel
// answers with the table, false with ENOENT.
Result<bool> table_exists(int fd, uint8_t family, std::string_view name, uint32_t seq) {
  struct Request {
    nlmsghdr header;
    nfgenmsg message;
    nlattr name_attribute;
    char name[64];
  } request{};
  if (name.size() >= sizeof(request.name)) return make_error(EINVAL, "table name too long");
  std::memcpy(request.name, name.data(), name.size());
  const auto name_length = static_cast<uint16_t>(NLA_HDRLEN + name.size() + 1);
  request.name_attribute.nla_len = name_length;
  request.name_attribute.nla_type = NFTA_TABLE_NAME;
  request.header.nlmsg_len =
      static_cast<uint32_t>(NLMSG_LENGTH(sizeof(nfgenmsg)) + NLA_ALIGN(name_length));
  request.header.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE;
  request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  request.header.nlmsg_seq = seq;
  request.message.nfgen_family = family;
  request.message.version = NFNETLINK_V0;
  if (::send(fd, &request, request.header.nlmsg_len, 0) < 0)
    return errno_error("nftables: netlink send");

  bool found = false;
  alignas(nlmsghdr) char buffer[16384];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("nftables: netlink receive");
    auto left = static_cast<int>(n);
    // The kernel's NLMSG_OK compares the int length with the u32 nlmsg_len; clang (unlike GCC)
    // warns inside the system header's macro.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
    for (auto* h = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(h, left);
         h = NLMSG_NEXT(h, left)) {
#pragma GCC diagnostic pop
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr)))
          return make_error(EIO, "nftables: truncated netlink answer");
        const int error = -static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error;
        if (error == 0) return found;  // the acknowledgement after the table
        if (error == ENOENT) return false;
        return make_error(error, std::string("nftables: get table: ") + std::strerror(error));
      }
      if (h->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE)) found = true;
    }
  }
}

}  // namespace

Result<bool> Nftables::ours_exist() {
  const UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
  if (!fd) return errno_error("nftables: netfilter netlink socket");
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&local), sizeof(local)) != 0)
    return errno_error("nftables: netlink bind");
  uint32_t seq = 1;
  for (const uint8_t family : {uint8_t{NFPROTO_INET}, uint8_t{NFPROTO_BRIDGE}}) {
    if (TRY(table_exists(fd.get(), family, firewall::kTable, seq++))) return true;
  }
  return false;
}

void Nftables::Deleter::operator()(nft_ctx* ctx) const noexcept {
  const std::lock_guard lock(library_mutex());
  lib().ctx_free(ctx);
}

Result<Nftables> Nftables::create() {
  // nft_ctx_new() exits the process when it cannot open its socket: find out first.
  const UniqueFd probe(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
  if (!probe) return errno_error("nftables: netfilter netlink socket");

  const auto& loaded = library();
  if (!loaded) return std::unexpected(loaded.error());
  const Library& nft = *loaded;

  const std::lock_guard lock(library_mutex());
  const std::set<int> before = open_fds();
  nft_ctx* ctx = nft.ctx_new(NFT_CTX_DEFAULT);
  if (ctx == nullptr) return make_error(ENOMEM, "nftables: cannot create a context");
  mark_new_netfilter_sockets_cloexec(before);
  // Only the renderer's scripts are loaded: relative `include`s have nothing to find.
  nft.ctx_clear_include_paths(ctx);
  if (nft.ctx_buffer_output(ctx) != 0 || nft.ctx_buffer_error(ctx) != 0) {
    nft.ctx_free(ctx);  // not through Deleter: it takes the lock held here
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
  const int rc = lib().run_cmd_from_buffer(ctx_.get(), text.c_str());
  // Both buffers are read every time: reading is what rewinds them for the next command.
  std::string output = lib().ctx_get_output_buffer(ctx_.get());
  std::string errors = trim(lib().ctx_get_error_buffer(ctx_.get()));
  if (rc != 0) {
    if (errors.empty()) errors = "the script was rejected";
    const int code = error_code(errors);
    return make_error(code, "nftables: " + errors);
  }
  return output;
}

Result<void> Nftables::check(std::string_view script) {
  const std::lock_guard lock(library_mutex());
  lib().ctx_set_dry_run(ctx_.get(), true);
  auto result = run_locked(script);
  lib().ctx_set_dry_run(ctx_.get(), false);
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

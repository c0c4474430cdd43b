#include "network/netlink.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstring>
#include <memory>
#include <system_error>
#include <thread>

namespace kleene::network::netlink {

namespace {

// RAII for libnl objects.
struct LinkDeleter {
  void operator()(rtnl_link* link) const { rtnl_link_put(link); }
};
struct AddrDeleter {
  void operator()(rtnl_addr* addr) const { rtnl_addr_put(addr); }
};
struct NlAddrDeleter {
  void operator()(nl_addr* addr) const { nl_addr_put(addr); }
};
struct RouteDeleter {
  void operator()(rtnl_route* route) const { rtnl_route_put(route); }
};
struct CacheDeleter {
  void operator()(nl_cache* cache) const { nl_cache_free(cache); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkDeleter>;
using AddrPtr = std::unique_ptr<rtnl_addr, AddrDeleter>;
using NlAddrPtr = std::unique_ptr<nl_addr, NlAddrDeleter>;
using RoutePtr = std::unique_ptr<rtnl_route, RouteDeleter>;
using CachePtr = std::unique_ptr<nl_cache, CacheDeleter>;

// libnl folds the kernel's errno into NLE_* codes; map them back to errno values.
int errno_of(int nl_error) {
  switch (nl_error < 0 ? -nl_error : nl_error) {
    case NLE_EXIST:
      return EEXIST;
    case NLE_NODEV:
      return ENODEV;
    case NLE_OBJ_NOTFOUND:
      return ENOENT;
    case NLE_PERM:
    case NLE_NOACCESS:
      return EPERM;
    case NLE_BUSY:
      return EBUSY;
    case NLE_INVAL:
    case NLE_RANGE:
      return EINVAL;
    case NLE_NOMEM:
      return ENOMEM;
    case NLE_AF_NOSUPPORT:
      return EAFNOSUPPORT;
    case NLE_OPNOTSUPP:
      return EOPNOTSUPP;
    case NLE_NOADDR:
      return EADDRNOTAVAIL;
    case NLE_AGAIN:
      return EAGAIN;
    case NLE_INTR:
      return EINTR;
    default:
      return EIO;
  }
}

std::unexpected<Error> nl_error(int nl_code, std::string_view what) {
  return make_error(errno_of(nl_code), std::string(what) + ": " + nl_geterror(nl_code));
}

// `result` with its error wrapped in `context` (GCC 12 has no std::expected::transform_error).
template <typename T>
Result<T> with_context(Result<T> result, std::string_view context) {
  if (!result) return std::unexpected(result.error().wrap(context));
  return result;
}

struct Cidr {
  int family = AF_INET;
  std::array<unsigned char, 16> bytes{};
  int prefix = 32;

  [[nodiscard]] std::size_t size() const { return family == AF_INET ? 4 : 16; }
  [[nodiscard]] int bits() const { return family == AF_INET ? 32 : 128; }
};

// "10.0.0.2", "10.0.0.2/24", "fd00::2/64": inet_pton syntax, decimal prefix without sign or
// leading zeros. No prefix = a host address.
Result<Cidr> parse_cidr(std::string_view text, std::string_view what) {
  auto invalid = [&] {
    return make_error(EINVAL, "invalid " + std::string(what) + " '" + std::string(text) + "'");
  };
  if (text.empty() || text.size() > INET6_ADDRSTRLEN + 4) return invalid();
  const auto slash = text.find('/');
  const std::string address(text.substr(0, slash));
  Cidr cidr;
  if (inet_pton(AF_INET, address.c_str(), cidr.bytes.data()) == 1) {
    cidr.family = AF_INET;
  } else if (address.find('.') == std::string::npos &&
             inet_pton(AF_INET6, address.c_str(), cidr.bytes.data()) == 1) {
    cidr.family = AF_INET6;
  } else {
    return invalid();
  }
  cidr.prefix = cidr.bits();
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0')) {
      return invalid();
    }
    int prefix = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (ec != std::errc{} || end != digits.data() + digits.size() || prefix > cidr.bits()) {
      return invalid();
    }
    cidr.prefix = prefix;
  }
  return cidr;
}

Result<NlAddrPtr> to_nl_addr(const Cidr& cidr) {
  NlAddrPtr addr(nl_addr_build(cidr.family, cidr.bytes.data(), cidr.size()));
  if (!addr) return make_error(ENOMEM, "nl_addr_build: out of memory");
  nl_addr_set_prefixlen(addr.get(), cidr.prefix);
  return addr;
}

Result<LinkPtr> get_link(nl_sock* sock, std::string_view name) {
  TRY(validate_interface_name(name));
  const std::string n(name);
  rtnl_link* link = nullptr;
  if (const int err = rtnl_link_get_kernel(sock, 0, n.c_str(), &link); err < 0) {
    if (err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND) {
      return make_error(ENODEV, "interface " + n + " not found");
    }
    return nl_error(err, "get interface " + n);
  }
  return LinkPtr(link);
}

Result<void> require_owned(std::string_view name, std::string_view action) {
  TRY(validate_interface_name(name));
  if (!is_owned_name(name)) {
    return make_error(EPERM, "refusing to " + std::string(action) + " interface " +
                                 std::string(name) + ": not created by kleene");
  }
  return {};
}

}  // namespace

Result<void> validate_interface_name(std::string_view name) {
  const auto invalid = [&](std::string_view why) {
    return make_error(EINVAL,
                      "invalid interface name '" + std::string(name) + "': " + std::string(why));
  };
  if (name.empty()) return invalid("empty");
  if (name.size() > IFNAMSIZ - 1) {
    return invalid("longer than " + std::to_string(IFNAMSIZ - 1) + " characters");
  }
  if (name == "." || name == "..") return invalid("reserved name");
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return invalid("only letters, digits, '_', '.' and '-' are allowed");
  }
  return {};
}

bool is_owned_name(std::string_view name) {
  return validate_interface_name(name).has_value() && name.starts_with("kl");
}

Result<Netlink> Netlink::open() {
  nl_sock* sock = nl_socket_alloc();
  if (sock == nullptr) return make_error(ENOMEM, "netlink: cannot allocate a socket");
  if (const int err = nl_connect(sock, NETLINK_ROUTE); err < 0) {
    nl_socket_free(sock);
    return nl_error(err, "netlink: connect");
  }
  // libnl opens its socket with SOCK_CLOEXEC; make sure of it on every version.
  if (const int fd = nl_socket_get_fd(sock); fd >= 0) {
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  return Netlink(sock);
}

Netlink& Netlink::operator=(Netlink&& other) noexcept {
  if (this != &other) {
    if (sock_ != nullptr) nl_socket_free(sock_);
    sock_ = std::exchange(other.sock_, nullptr);
  }
  return *this;
}

Netlink::~Netlink() {
  if (sock_ != nullptr) nl_socket_free(sock_);
}

Result<bool> Netlink::link_exists(std::string_view name) {
  auto link = get_link(sock_, name);
  if (link) return true;
  if (link.error().code == ENODEV) return false;
  return std::unexpected(std::move(link).error());
}

Result<std::vector<std::string>> Netlink::link_names() {
  nl_cache* raw = nullptr;
  if (const int err = rtnl_link_alloc_cache(sock_, AF_UNSPEC, &raw); err < 0) {
    return nl_error(err, "list interfaces");
  }
  CachePtr cache(raw);
  std::vector<std::string> names;
  for (nl_object* obj = nl_cache_get_first(cache.get()); obj != nullptr;
       obj = nl_cache_get_next(obj)) {
    if (const char* name = rtnl_link_get_name(reinterpret_cast<rtnl_link*>(obj)))
      names.emplace_back(name);
  }
  return names;
}

Result<int> Netlink::link_index(std::string_view name) {
  auto link = TRY(get_link(sock_, name));
  return rtnl_link_get_ifindex(link.get());
}

Result<void> Netlink::create_bridge(std::string_view name) {
  TRY(require_owned(name, "create"));
  const std::string n(name);
  LinkPtr link(rtnl_link_alloc());
  if (!link) return make_error(ENOMEM, "create bridge " + n + ": out of memory");
  if (const int err = rtnl_link_set_type(link.get(), "bridge"); err < 0) {
    return nl_error(err, "create bridge " + n);
  }
  rtnl_link_set_name(link.get(), n.c_str());
  if (const int err = rtnl_link_add(sock_, link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) {
    return nl_error(err, "create bridge " + n);
  }
  if (auto up = set_up(name); !up) {
    (void)delete_link(name);
    return std::unexpected(std::move(up).error());
  }
  return {};
}

Result<void> Netlink::create_veth(std::string_view host_name, std::string_view peer_name,
                                  int peer_netns_fd) {
  TRY(require_owned(host_name, "create"));
  // The peer is ours by construction when it is made inside another (a container's) namespace.
  if (peer_netns_fd < 0) {
    TRY(require_owned(peer_name, "create"));
  } else {
    TRY(validate_interface_name(peer_name));
  }
  const std::string host(host_name);
  const std::string peer_n(peer_name);
  const std::string what = "create veth pair " + host + "/" + peer_n;
  if (host_name == peer_name) return make_error(EINVAL, what + ": both ends have the same name");
  LinkPtr link(rtnl_link_veth_alloc());
  if (!link) return make_error(ENOMEM, what + ": out of memory");
  rtnl_link_set_name(link.get(), host.c_str());
  rtnl_link* peer = rtnl_link_veth_get_peer(link.get());  // a new reference
  rtnl_link_set_name(peer, peer_n.c_str());
  if (peer_netns_fd >= 0) rtnl_link_set_ns_fd(peer, peer_netns_fd);
  rtnl_link_put(peer);
  if (const int err = rtnl_link_add(sock_, link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) {
    return nl_error(err, what);
  }
  return {};
}

Result<void> Netlink::delete_link(std::string_view name) {
  TRY(require_owned(name, "delete"));
  const std::string n(name);
  LinkPtr link(rtnl_link_alloc());
  if (!link) return make_error(ENOMEM, "delete interface " + n + ": out of memory");
  rtnl_link_set_name(link.get(), n.c_str());
  if (const int err = rtnl_link_delete(sock_, link.get()); err < 0) {
    if (err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND) {
      return make_error(ENODEV, "delete interface " + n + ": interface not found");
    }
    return nl_error(err, "delete interface " + n);
  }
  return {};
}

Result<void> Netlink::move_link_to_netns(std::string_view name, int netns_fd,
                                         std::string_view new_name) {
  TRY(require_owned(name, "move"));
  if (!new_name.empty()) TRY(validate_interface_name(new_name));
  const std::string n(name);
  auto link = TRY(get_link(sock_, name));
  LinkPtr change(rtnl_link_alloc());
  if (!change) return make_error(ENOMEM, "move interface " + n + ": out of memory");
  rtnl_link_set_ns_fd(change.get(), netns_fd);
  if (const int err = rtnl_link_change(sock_, link.get(), change.get(), 0); err < 0) {
    return nl_error(err, "move interface " + n + " to another network namespace");
  }
  if (new_name.empty() || new_name == name) return {};

  // Rename inside the target namespace. If that fails, the moved link is deleted there (it is
  // ours: only owned names are moved) so that nothing half-configured is left behind.
  const std::string target(new_name);
  return in_netns(netns_fd, [&]() -> Result<void> {
    auto nl = TRY(Netlink::open());
    auto moved = TRY(get_link(nl.sock_, n));
    LinkPtr rename(rtnl_link_alloc());
    if (!rename) return make_error(ENOMEM, "rename interface " + n + ": out of memory");
    rtnl_link_set_name(rename.get(), target.c_str());
    if (const int err = rtnl_link_change(nl.sock_, moved.get(), rename.get(), 0); err < 0) {
      (void)nl.delete_link(n);
      return nl_error(err, "rename interface " + n + " to " + target);
    }
    return {};
  });
}

Result<void> Netlink::set_master(std::string_view link, std::string_view bridge) {
  const auto l = TRY(link_index(link));
  const auto b = TRY(link_index(bridge));
  if (const int err = rtnl_link_enslave_ifindex(sock_, b, l); err < 0) {
    return nl_error(err,
                    "attach interface " + std::string(link) + " to bridge " + std::string(bridge));
  }
  return {};
}

Result<void> Netlink::change_flags(std::string_view link, unsigned flags, bool set) {
  auto orig = TRY(get_link(sock_, link));
  LinkPtr change(rtnl_link_alloc());
  if (!change) return make_error(ENOMEM, "set interface " + std::string(link) + ": out of memory");
  if (set) {
    rtnl_link_set_flags(change.get(), flags);
  } else {
    rtnl_link_unset_flags(change.get(), flags);
  }
  if (const int err = rtnl_link_change(sock_, orig.get(), change.get(), 0); err < 0) {
    return nl_error(err,
                    std::string(set ? "set up" : "set down") + " interface " + std::string(link));
  }
  return {};
}

Result<void> Netlink::set_group(std::string_view link, std::uint32_t group) {
  TRY(require_owned(link, "change"));
  auto orig = TRY(get_link(sock_, link));
  LinkPtr change(rtnl_link_alloc());
  if (!change) return make_error(ENOMEM, "set group of " + std::string(link) + ": out of memory");
  rtnl_link_set_group(change.get(), group);
  if (const int err = rtnl_link_change(sock_, orig.get(), change.get(), 0); err < 0) {
    return nl_error(err, "set group of interface " + std::string(link));
  }
  return {};
}

Result<void> Netlink::set_bridge_port_isolated(std::string_view link, bool isolated) {
  TRY(require_owned(link, "change"));
  const int index = TRY(link_index(link));
  const std::string what = "set bridge port " + std::string(link) + " isolated";
  // RTM_SETLINK, family AF_BRIDGE, IFLA_PROTINFO { IFLA_BRPORT_ISOLATED u8 } (libnl has no
  // helper for this flag).
  std::unique_ptr<nl_msg, decltype(&nlmsg_free)> msg(
      nlmsg_alloc_simple(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK), nlmsg_free);
  if (!msg) return make_error(ENOMEM, what + ": out of memory");
  ifinfomsg info{};
  info.ifi_family = AF_BRIDGE;
  info.ifi_index = index;
  if (nlmsg_append(msg.get(), &info, sizeof info, NLMSG_ALIGNTO) < 0)
    return make_error(ENOMEM, what + ": out of memory");
  nlattr* protinfo = nla_nest_start(msg.get(), IFLA_PROTINFO | NLA_F_NESTED);
  if (protinfo == nullptr || nla_put_u8(msg.get(), IFLA_BRPORT_ISOLATED, isolated ? 1 : 0) < 0)
    return make_error(ENOMEM, what + ": out of memory");
  nla_nest_end(msg.get(), protinfo);
  if (const int err = nl_send_auto(sock_, msg.get()); err < 0) return nl_error(err, what);
  if (const int err = nl_wait_for_ack(sock_); err < 0) return nl_error(err, what);
  return {};
}

Result<void> Netlink::set_up(std::string_view link) {
  return change_flags(link, IFF_UP, true);
}

Result<void> Netlink::set_down(std::string_view link) {
  return change_flags(link, IFF_UP, false);
}

namespace {

Result<AddrPtr> make_addr(nl_sock* sock, std::string_view link, std::string_view cidr_text) {
  const auto cidr = TRY(parse_cidr(cidr_text, "address"));
  auto l = TRY(get_link(sock, link));
  AddrPtr addr(rtnl_addr_alloc());
  if (!addr) return make_error(ENOMEM, "address: out of memory");
  auto local = TRY(to_nl_addr(cidr));
  rtnl_addr_set_ifindex(addr.get(), rtnl_link_get_ifindex(l.get()));
  rtnl_addr_set_family(addr.get(), cidr.family);
  if (const int err = rtnl_addr_set_local(addr.get(), local.get()); err < 0) {
    return nl_error(err, "address " + std::string(cidr_text));
  }
  rtnl_addr_set_prefixlen(addr.get(), cidr.prefix);
  if (cidr.family == AF_INET6) rtnl_addr_set_flags(addr.get(), IFA_F_NODAD);
  return addr;
}

}  // namespace

Result<void> Netlink::add_address(std::string_view link, std::string_view cidr) {
  const std::string what = "add address " + std::string(cidr) + " to " + std::string(link);
  auto addr = TRY(with_context(make_addr(sock_, link, cidr), what));
  if (const int err = rtnl_addr_add(sock_, addr.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0) {
    return nl_error(err, what);
  }
  return {};
}

Result<void> Netlink::delete_address(std::string_view link, std::string_view cidr) {
  const std::string what = "delete address " + std::string(cidr) + " from " + std::string(link);
  auto addr = TRY(with_context(make_addr(sock_, link, cidr), what));
  if (const int err = rtnl_addr_delete(sock_, addr.get(), 0); err < 0) {
    return nl_error(err, what);
  }
  return {};
}

Result<std::vector<InterfaceAddress>> Netlink::addresses(std::string_view link) {
  const int index = TRY(link_index(link));
  nl_cache* raw = nullptr;
  if (const int err = rtnl_addr_alloc_cache(sock_, &raw); err < 0) {
    return nl_error(err, "list addresses of " + std::string(link));
  }
  CachePtr cache(raw);
  std::vector<InterfaceAddress> result;
  for (nl_object* obj = nl_cache_get_first(cache.get()); obj != nullptr;
       obj = nl_cache_get_next(obj)) {
    auto* addr = reinterpret_cast<rtnl_addr*>(obj);
    if (rtnl_addr_get_ifindex(addr) != index) continue;
    nl_addr* local = rtnl_addr_get_local(addr);
    if (local == nullptr) continue;
    const int family = nl_addr_get_family(local);
    if (family != AF_INET && family != AF_INET6) continue;
    std::array<char, INET6_ADDRSTRLEN> text{};
    if (inet_ntop(family, nl_addr_get_binary_addr(local), text.data(), text.size()) == nullptr) {
      continue;
    }
    result.push_back(InterfaceAddress{family, text.data(), rtnl_addr_get_prefixlen(addr)});
  }
  return result;
}

Result<void> Netlink::route_op(const Route& route, bool add) {
  const std::string what = std::string(add ? "add" : "delete") + " route " + route.destination +
                           (route.gateway.empty() ? "" : " via " + route.gateway) +
                           (route.device.empty() ? "" : " dev " + route.device);
  if (route.gateway.empty() && route.device.empty()) {
    return make_error(EINVAL, what + ": needs a gateway or a device");
  }
  std::optional<Cidr> gateway;
  if (!route.gateway.empty()) {
    auto gw = TRY(with_context(parse_cidr(route.gateway, "gateway"), what));
    if (gw.prefix != gw.bits()) return make_error(EINVAL, what + ": gateway has a prefix");
    gateway = gw;
  }
  Cidr dest;
  if (route.destination == "default") {
    dest.family = gateway ? gateway->family : AF_INET;
    dest.prefix = 0;
  } else {
    dest = TRY(with_context(parse_cidr(route.destination, "destination"), what));
  }
  if (gateway && gateway->family != dest.family) {
    return make_error(EINVAL, what + ": gateway and destination of different families");
  }

  RoutePtr r(rtnl_route_alloc());
  if (!r) return make_error(ENOMEM, what + ": out of memory");
  rtnl_route_set_family(r.get(), static_cast<uint8_t>(dest.family));
  rtnl_route_set_table(r.get(), RT_TABLE_MAIN);
  rtnl_route_set_protocol(r.get(), RTPROT_STATIC);
  rtnl_route_set_scope(r.get(), gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
  auto dst = TRY(to_nl_addr(dest));
  if (const int err = rtnl_route_set_dst(r.get(), dst.get()); err < 0) return nl_error(err, what);

  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  if (nh == nullptr) return make_error(ENOMEM, what + ": out of memory");
  rtnl_route_add_nexthop(r.get(), nh);  // the route owns it from here
  if (!route.device.empty()) {
    auto index = link_index(route.device);
    if (!index) return std::unexpected(index.error().wrap(what));
    rtnl_route_nh_set_ifindex(nh, *index);
  }
  if (gateway) {
    auto gw = TRY(to_nl_addr(*gateway));
    rtnl_route_nh_set_gateway(nh, gw.get());  // takes its own reference
  }
  if (route.onlink) rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);

  const int flags = NLM_F_CREATE | (route.replace ? NLM_F_REPLACE : NLM_F_EXCL);
  const int err =
      add ? rtnl_route_add(sock_, r.get(), flags) : rtnl_route_delete(sock_, r.get(), 0);
  if (err < 0) return nl_error(err, what);
  return {};
}

Result<void> Netlink::add_route(const Route& route) {
  return route_op(route, true);
}

Result<void> Netlink::delete_route(const Route& route) {
  return route_op(route, false);
}

Result<void> Netlink::add_default_route(std::string_view gateway, std::string_view device) {
  return add_route(Route{"default", std::string(gateway), std::string(device), false});
}

Result<UniqueFd> open_netns(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return errno_error("open network namespace " + path);
  const int type = ioctl(fd.get(), NS_GET_NSTYPE);
  if (type != CLONE_NEWNET) {
    return make_error(EINVAL, "open network namespace " + path + ": not a network namespace");
  }
  return fd;
}

Result<UniqueFd> create_netns() {
  std::optional<Result<UniqueFd>> result;
  try {
    std::thread worker([&] {
      if (unshare(CLONE_NEWNET) != 0) {
        result.emplace(errno_error("create network namespace: unshare"));
        return;
      }
      UniqueFd fd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
      if (!fd) {
        result.emplace(errno_error("create network namespace: open /proc/thread-self/ns/net"));
        return;
      }
      result.emplace(std::move(fd));
    });
    worker.join();
  } catch (const std::system_error& e) {  // no thread could be started
    return make_error(e.code().value(), std::string("create network namespace: ") + e.what());
  }
  return std::move(*result);
}

namespace detail {

Result<void> enter_netns(int netns_fd) {
  if (setns(netns_fd, CLONE_NEWNET) != 0) return errno_error("enter network namespace");
  return {};
}

}  // namespace detail

}  // namespace kleene::network::netlink

// Renders kleene's nftables ruleset; see firewall.hpp. Layout of the script:
//   table inet kleene:   prerouting (dnat of published ports), postrouting (masquerade),
//                        forward (icc, internal, isolation at the IP layer), from-<network>
// A network is known by its interfaces (the bridge, a custom interface) and by the interface
// group of its routed endpoints; icc false between the ports of a bridge (which the IP layer
// never sees) is the vnet driver's port isolation, not a rule.
#include "network/firewall.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <set>
#include <tuple>

#include "util/names.hpp"

namespace kleene::network::firewall {

namespace {

constexpr std::size_t kIfNameMax = 15;  // IFNAMSIZ - 1

using Names = std::set<std::string>;  // sorted, unique: deterministic output

// `"a"` or `{ "a", "b" }`; only validated interface names reach here.
std::string set_of(const Names& names) {
  if (names.size() == 1) return "\"" + *names.begin() + "\"";
  std::string out = "{ ";
  bool first = true;
  for (const auto& name : names) {
    if (!first) out += ", ";
    out += "\"" + name + "\"";
    first = false;
  }
  return out + " }";
}

// The error of `result` prefixed with what was being checked (GCC 12 has no transform_error).
template <typename T>
Result<T> wrapped(Result<T> result, std::string_view what) {
  if (!result) return std::unexpected(result.error().wrap(what));
  return result;
}

// The address re-formatted by inet_ntop, so nothing of the input text reaches the script.
Result<std::string> canonical_address(int family, const std::string& text) {
  std::array<unsigned char, 16> bytes{};
  std::array<char, INET6_ADDRSTRLEN> out{};
  if (text.empty() || inet_pton(family, text.c_str(), bytes.data()) != 1 ||
      inet_ntop(family, bytes.data(), out.data(), out.size()) == nullptr) {
    return make_error(EINVAL, "invalid IPv" + std::string(family == AF_INET ? "4" : "6") +
                                  " address '" + text + "'");
  }
  return std::string(out.data());
}

Result<unsigned> parse_number(std::string_view text, unsigned max) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value > max) {
    return make_error(EINVAL, "invalid number '" + std::string(text) + "'");
  }
  return value;
}

// "10.0.0.1/24" -> "10.0.0.0/24": host bits cleared (nft refuses them).
Result<std::string> canonical_subnet(int family, const std::string& cidr) {
  const auto slash = cidr.find('/');
  const unsigned bits = family == AF_INET ? 32 : 128;
  auto invalid = [&] {
    return make_error(EINVAL, "invalid IPv" + std::string(family == AF_INET ? "4" : "6") +
                                  " subnet '" + cidr + "'");
  };
  if (slash == std::string::npos) return invalid();
  auto prefix = parse_number(std::string_view(cidr).substr(slash + 1), bits);
  std::array<unsigned char, 16> bytes{};
  if (!prefix || inet_pton(family, cidr.substr(0, slash).c_str(), bytes.data()) != 1) {
    return invalid();
  }
  for (unsigned bit = *prefix; bit < bits; ++bit) {
    bytes[bit / 8] &= static_cast<unsigned char>(~(0x80U >> (bit % 8)));
  }
  std::array<char, INET6_ADDRSTRLEN> out{};
  inet_ntop(family, bytes.data(), out.data(), out.size());
  return std::string(out.data()) + "/" + std::to_string(*prefix);
}

Result<PortRange> parse_range(std::string_view text) {
  const auto colon = text.find(':');
  const auto first = TRY(parse_number(text.substr(0, colon), 65535));
  const auto last =
      colon == std::string_view::npos ? first : TRY(parse_number(text.substr(colon + 1), 65535));
  if (first == 0 || last < first) {
    return make_error(EINVAL, "invalid port range '" + std::string(text) + "'");
  }
  return PortRange{static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(last)};
}

struct NetworkRules {
  const Network* network = nullptr;
  std::string chain;   // "from-<name>"
  Names interfaces;    // the bridge or custom interface
  std::string subnet;  // canonical, "" = none
  std::string subnet6;
};

using Groups = std::set<std::uint32_t>;

// `5` or `{ 5, 6 }`.
std::string set_of(const Groups& groups) {
  if (groups.size() == 1) return std::to_string(*groups.begin());
  std::string out = "{ ";
  bool first = true;
  for (const auto group : groups) {
    if (!first) out += ", ";
    out += std::to_string(group);
    first = false;
  }
  return out + " }";
}

Result<void> check_interface(const std::string& name, std::string_view what) {
  if (!is_valid_interface_name(name)) {
    return make_error(EINVAL, std::string(what) + ": invalid interface name '" + name + "'");
  }
  return {};
}

Result<NetworkRules> network_rules(const Network& network) {
  if (!is_valid_name(network.name)) {
    return make_error(EINVAL, "invalid network name '" + network.name + "'");
  }
  const std::string what = "network " + network.name;
  NetworkRules rules{&network, "from-" + network.name, {}, {}, {}};
  if (!network.interface.empty()) {
    TRY(check_interface(network.interface, what));
    rules.interfaces.insert(network.interface);
  }
  if (!network.subnet.empty()) {
    rules.subnet = TRY(wrapped(canonical_subnet(AF_INET, network.subnet), what));
  }
  if (!network.subnet6.empty()) {
    rules.subnet6 = TRY(wrapped(canonical_subnet(AF_INET6, network.subnet6), what));
  }
  if (!network.gateway.empty()) TRY(wrapped(canonical_address(AF_INET, network.gateway), what));
  if (!network.gateway6.empty()) TRY(wrapped(canonical_address(AF_INET6, network.gateway6), what));
  if (network.nat && !network.internal) {
    if (network.nat_if.empty()) return make_error(EINVAL, what + ": nat without a nat interface");
    TRY(check_interface(network.nat_if, what));
  }
  return rules;
}

// Networks sorted by name, each with its interfaces; an interface belongs to one network.
Result<std::vector<NetworkRules>> collect(const Snapshot& snapshot) {
  std::map<std::string, NetworkRules> by_id;
  std::set<std::string> names;
  for (const auto& network : snapshot.networks) {
    auto rules = TRY(network_rules(network));
    if (!names.insert(network.name).second || !by_id.emplace(network.id, rules).second) {
      return make_error(EINVAL, "network " + network.name + " is listed twice");
    }
  }
  for (const auto& endpoint : snapshot.endpoints) {
    auto it = by_id.find(endpoint.network_id);
    if (it == by_id.end()) {
      return make_error(EINVAL, "endpoint of container " + endpoint.container_id +
                                    " refers to an unknown network");
    }
    const std::string what = "endpoint of container " + endpoint.container_id;
    if (!endpoint.ip_address.empty())
      TRY(wrapped(canonical_address(AF_INET, endpoint.ip_address), what));
    if (!endpoint.ip_address6.empty())
      TRY(wrapped(canonical_address(AF_INET6, endpoint.ip_address6), what));
    if (!endpoint.interface.empty()) TRY(check_interface(endpoint.interface, what));
  }
  std::vector<NetworkRules> out;
  std::map<std::string, std::string> owner;  // interface -> network name
  for (auto& [id, rules] : by_id)
    out.push_back(std::move(rules));
  std::ranges::sort(out, {}, [](const NetworkRules& r) { return r.network->name; });
  std::map<std::uint32_t, std::string> group_owner;
  for (const auto& rules : out) {
    for (const auto& name : rules.interfaces) {
      auto [it, fresh] = owner.emplace(name, rules.network->name);
      if (!fresh) {
        return make_error(EINVAL, "interface " + name + " belongs to networks " + it->second +
                                      " and " + rules.network->name);
      }
    }
    if (const auto group = rules.network->group; group != 0) {
      auto [it, fresh] = group_owner.emplace(group, rules.network->name);
      if (!fresh) {
        return make_error(EINVAL, "interface group " + std::to_string(group) +
                                      " belongs to networks " + it->second + " and " +
                                      rules.network->name);
      }
    }
  }
  return out;
}

// "dnat ip to 10.0.0.2:80", or for a range a map that keeps the offset in the range.
std::string dnat_target(int family, const std::string& address, const std::string& protocol,
                        PortRange host, PortRange container) {
  const std::string ip = family == AF_INET ? "ip" : "ip6";
  const std::string addr = family == AF_INET ? address : "[" + address + "]";
  std::string out = "dnat " + ip + " to " + addr;
  if (host.first == host.last) return out + ":" + std::to_string(container.first);
  if (host.first == container.first) return out;  // same ports: keep the destination port
  out += " : " + protocol + " dport map { ";
  for (unsigned port = host.first; port <= host.last; ++port) {
    if (port != host.first) out += ", ";
    out += std::to_string(port) + " : " + std::to_string(container.first + (port - host.first));
  }
  return out + " }";
}

struct PortRule {
  std::string protocol;
  PortRange host;
  std::string text;
  bool operator<(const PortRule& other) const {
    return std::tie(protocol, host.first, host.last, text) <
           std::tie(other.protocol, other.host.first, other.host.last, other.text);
  }
};

Result<std::vector<PortRule>> port_rules(const std::vector<PublishedPort>& ports) {
  std::vector<PortRule> out;
  for (const auto& port : ports) {
    const std::string what =
        "published port " + port.host_port + " of container " + port.container_id;
    if (port.protocol != "tcp" && port.protocol != "udp") {
      return make_error(EINVAL, what + ": protocol must be tcp or udp");
    }
    auto [host, container] = TRY(wrapped(parse_ports(port.host_port, port.container_port), what));
    Names interfaces;
    for (const auto& name : port.interfaces) {
      TRY(check_interface(name, what));
      interfaces.insert(name);
    }
    std::string match = interfaces.empty() ? "" : "iifname " + set_of(interfaces) + " ";
    match += "fib daddr type local " + port.protocol + " dport " + std::to_string(host.first);
    if (host.last != host.first) match += "-" + std::to_string(host.last);
    for (int family : {AF_INET, AF_INET6}) {
      const auto& address = family == AF_INET ? port.ip_address : port.ip_address6;
      if (address.empty()) continue;
      const auto canonical = TRY(wrapped(canonical_address(family, address), what));
      const std::string nfproto = family == AF_INET ? "ipv4" : "ipv6";
      out.push_back({port.protocol, host,
                     "meta nfproto " + nfproto + " " + match + " " +
                         dnat_target(family, canonical, port.protocol, host, container)});
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void base_chain(std::string& out, std::string_view name, std::string_view type,
                std::string_view priority, const std::vector<std::string>& rules) {
  out += "\tchain " + std::string(name) + " {\n\t\ttype " + std::string(type) + " hook " +
         std::string(name) + " priority " + std::string(priority) + "; policy accept;\n";
  for (const auto& rule : rules)
    out += "\t\t" + rule + "\n";
  out += "\t}\n";
}

void forward_chains(std::string& out, const std::vector<NetworkRules>& networks) {
  std::map<std::string, std::string> jumps;          // interface -> chain, sorted by interface
  std::map<std::uint32_t, std::string> group_jumps;  // group -> chain
  Names internal;
  Groups internal_groups;
  for (const auto& net : networks) {
    for (const auto& name : net.interfaces)
      jumps[name] = net.chain;
    const auto group = net.network->group;
    if (group != 0) group_jumps[group] = net.chain;
    if (net.network->internal) {
      internal.insert(net.interfaces.begin(), net.interfaces.end());
      if (group != 0) internal_groups.insert(group);
    }
  }
  std::vector<std::string> rules;
  if (!jumps.empty()) {
    std::string vmap = "iifname vmap { ";
    for (auto it = jumps.begin(); it != jumps.end(); ++it) {
      if (it != jumps.begin()) vmap += ", ";
      vmap += "\"" + it->first + "\" : jump " + it->second;
    }
    rules.push_back(vmap + " }");
  }
  if (!group_jumps.empty()) {
    std::string vmap = "iifgroup vmap { ";
    for (auto it = group_jumps.begin(); it != group_jumps.end(); ++it) {
      if (it != group_jumps.begin()) vmap += ", ";
      vmap += std::to_string(it->first) + " : jump " + it->second;
    }
    rules.push_back(vmap + " }");
  }
  if (!internal.empty()) rules.push_back("oifname " + set_of(internal) + " drop");
  if (!internal_groups.empty()) rules.push_back("oifgroup " + set_of(internal_groups) + " drop");
  base_chain(out, "forward", "filter", "filter", rules);

  for (const auto& net : networks) {
    const auto group = net.network->group;
    if (net.interfaces.empty() && group == 0) continue;
    Names others;
    Groups other_groups;
    for (const auto& other : networks) {
      if (&other == &net) continue;
      others.insert(other.interfaces.begin(), other.interfaces.end());
      if (other.network->group != 0) other_groups.insert(other.network->group);
    }
    const std::string verdict = net.network->icc ? " accept\n" : " drop\n";
    out += "\tchain " + net.chain + " {\n";
    if (!net.interfaces.empty()) out += "\t\toifname " + set_of(net.interfaces) + verdict;
    if (group != 0) out += "\t\toifgroup " + std::to_string(group) + verdict;
    if (net.network->internal) {
      out += "\t\tdrop\n";
    } else {
      if (!others.empty()) out += "\t\toifname " + set_of(others) + " drop\n";
      if (!other_groups.empty()) out += "\t\toifgroup " + set_of(other_groups) + " drop\n";
    }
    out += "\t}\n";
  }
}

std::vector<std::string> masquerade_rules(const std::vector<NetworkRules>& networks) {
  std::vector<std::string> rules;
  for (const auto& net : networks) {
    if (!net.network->nat || net.network->internal) continue;
    const std::string oif = "oifname \"" + net.network->nat_if + "\" ";
    if (!net.subnet.empty()) rules.push_back(oif + "ip saddr " + net.subnet + " masquerade");
    if (!net.subnet6.empty()) rules.push_back(oif + "ip6 saddr " + net.subnet6 + " masquerade");
  }
  return rules;
}

}  // namespace

bool is_valid_interface_name(std::string_view name) {
  if (name.empty() || name.size() > kIfNameMax || name == "." || name == "..") return false;
  return std::ranges::all_of(name, [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

Result<std::pair<PortRange, PortRange>> parse_ports(std::string_view host_port,
                                                    std::string_view container_port) {
  const auto host = TRY(parse_range(host_port));
  PortRange container = host;
  if (host.first == host.last) {
    if (!container_port.empty()) container = TRY(parse_range(container_port));
    if (container.first != container.last) {
      return make_error(EINVAL, "a single host port maps to a single container port, not '" +
                                    std::string(container_port) + "'");
    }
  } else if (!container_port.empty()) {
    if (!container_port.ends_with(":*")) {
      return make_error(EINVAL, "container port of a port range must be 'START:*', not '" +
                                    std::string(container_port) + "'");
    }
    const auto first = TRY(parse_range(container_port.substr(0, container_port.size() - 2)));
    const unsigned last = first.first + (host.last - host.first);
    if (last > 65535) {
      return make_error(
          EINVAL, "container port range " + std::string(container_port) + " ends beyond 65535");
    }
    container = {first.first, static_cast<std::uint16_t>(last)};
  }
  return std::pair{host, container};
}

Result<std::string> render(const Snapshot& snapshot) {
  const auto networks = TRY(collect(snapshot));
  const auto ports = TRY(port_rules(snapshot.ports));
  std::string out =
      "# kleene firewall, rendered from kleened's store; replaces these tables only.\n"
      "table inet kleene\n"
      "delete table inet kleene\n"
      "table bridge kleene\n"
      "delete table bridge kleene\n";
  if (networks.empty() && ports.empty()) return out;

  std::vector<std::string> dnat;
  for (const auto& rule : ports)
    dnat.push_back(rule.text);
  out += "table inet kleene {\n";
  base_chain(out, "prerouting", "nat", "dstnat", dnat);
  base_chain(out, "postrouting", "nat", "srcnat", masquerade_rules(networks));
  forward_chains(out, networks);
  out += "}\n";
  return out;
}

}  // namespace kleene::network::firewall

// Fuzzes the nftables renderer (core/network/firewall.hpp) with snapshots decoded from the
// input: networks, endpoints and published ports whose strings are realistic values, hostile
// variants of them (a valid name followed by `"; table ip evil {` ...) or fuzzed bytes.
//
// Invariants, on top of ASan/UBSan:
//   - rendering is deterministic and does not depend on the order of the rows;
//   - the script is printable ASCII, starts with the fixed header and its braces balance;
//   - only the header and one `table inet kleene {` open or delete tables, `#` only in the
//     header, `;` only after a base chain's policy;
//   - every word is nft syntax kleene writes, a number/address/range, a quoted interface name
//     that the snapshot gave (and is valid) or `from-<network name>` of a listed network.
//   So nothing of the input can add a line, a table, a rule or a statement to the script.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "network/firewall.hpp"
#include "util/names.hpp"

namespace fw = kleene::network::firewall;
using kleene::fuzz::pick;

namespace {

constexpr std::string_view kHeader =
    "# kleene firewall, rendered from kleened's store; replaces these tables only.\n"
    "table inet kleene\n"
    "delete table inet kleene\n"
    "table bridge kleene\n"
    "delete table bridge kleene\n";

std::string interface_name(FuzzedDataProvider& in) {
  return pick(in, {"kleene0",
                   "kleene1",
                   "kleene12",
                   "br0",
                   "eth0",
                   "ens3",
                   "kl-veth0",
                   "a",
                   "lo",
                   "wlan0.1",
                   "x_y-z",
                   "123456789012345",
                   "1234567890123456",
                   ".",
                   "..",
                   "eth0\"",
                   "eth0\n",
                   "eth 0",
                   "eth0\" } ; table ip evil {",
                   "eth0;"});
}

std::string ipv4(FuzzedDataProvider& in) {
  return pick(in, {"10.13.37.1", "10.13.37.2", "172.17.0.1", "192.168.0.1", "0.0.0.0",
                   "255.255.255.255", "010.1.1.1", "1.2.3", "1.2.3.4\n", "1.2.3.4 ", "::1"});
}

std::string ipv6(FuzzedDataProvider& in) {
  return pick(in, {"fd00::1", "fd00::2", "fd00:13:37::1", "::", "::1", "::ffff:10.0.0.1",
                   "fe80::1%eth0", "2001:db8::/64", "fd00::1\n", "1.2.3.4"});
}

fw::Network network(FuzzedDataProvider& in) {
  fw::Network n;
  n.id = pick(in, {"n1", "n2", "n3", "6f1c2b8a9d0e"});
  n.name = pick(in, {"default", "testnet", "net1", "net2", "a", "a.b-c_d",
                     "0123456789012345678901234567890123456789012345678901234567890123",
                     "01234567890123456789012345678901234567890123456789012345678901234", "-x",
                     "net 1", "net\n", "net{", "net;drop"});
  n.interface = interface_name(in);
  n.subnet = pick(
      in, {"10.13.37.0/24", "172.17.0.0/16", "10.0.0.1/24", "192.168.0.0/31", "10.0.0.0/32",
           "10.0.0.0/0", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0", "10.0.0.0/24\n", "fd00::/64"});
  n.subnet6 = pick(in, {"fd00::/64", "fd00:13:37::/48", "2001:db8::1/128", "::/0", "fd00::/129",
                        "fd00::", "10.0.0.0/8"});
  n.gateway = ipv4(in);
  n.gateway6 = ipv6(in);
  n.nat = in.ConsumeBool();
  n.nat_if = interface_name(in);
  n.icc = in.ConsumeBool();
  n.internal = in.ConsumeBool();
  n.group = in.ConsumeBool() ? in.ConsumeIntegralInRange<std::uint32_t>(0, 4)
                             : in.ConsumeIntegral<std::uint32_t>();
  return n;
}

fw::Endpoint endpoint(FuzzedDataProvider& in, const std::vector<fw::Network>& networks) {
  fw::Endpoint e;
  e.container_id = pick(in, {"c1", "c2", "0123456789ab"});
  if (!networks.empty() && in.ConsumeBool()) {
    e.network_id = networks[in.ConsumeIntegralInRange<std::size_t>(0, networks.size() - 1)].id;
  } else {
    e.network_id = pick(in, {"n1", "n2", "unknown"});
  }
  e.interface = interface_name(in);
  e.ip_address = ipv4(in);
  e.ip_address6 = ipv6(in);
  return e;
}

fw::PublishedPort port(FuzzedDataProvider& in) {
  fw::PublishedPort p;
  p.container_id = pick(in, {"c1", "c2"});
  const auto count = in.ConsumeIntegralInRange<int>(0, 3);
  for (int i = 0; i < count; ++i)
    p.interfaces.push_back(interface_name(in));
  p.host_port = pick(in, {"80", "8080", "1000:1010", "1:65535", "0", "65535", "65536", "8000:7999",
                          "80:80", "-1", "+80", " 80", "80 ", "1000:"});
  p.container_port = pick(in, {"", "80", "2000:*", "65535:*", "1:*", "80:81", "*", "8080"});
  p.protocol = pick(in, {"tcp", "udp", "sctp", "TCP", "tcp dport 1 accept"});
  p.ip_address = ipv4(in);
  p.ip_address6 = ipv6(in);
  return p;
}

bool is_address_like(std::string_view word) {
  return !word.empty() && std::ranges::all_of(word, [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' ||
           c == ':' || c == '/' || c == '[' || c == ']' || c == '-';
  });
}

const std::set<std::string_view>& vocabulary() {
  static const std::set<std::string_view> words = {
      "{",         "}",       ":",        "table",    "inet",       "kleene",      "chain",
      "type",      "nat",     "filter",   "hook",     "prerouting", "postrouting", "forward",
      "priority",  "dstnat",  "srcnat",   "policy",   "accept",     "drop",        "jump",
      "iifname",   "oifname", "iifgroup", "oifgroup", "vmap",       "meta",        "nfproto",
      "ipv4",      "ipv6",    "fib",      "daddr",    "local",      "tcp",         "udp",
      "dport",     "dnat",    "ip",       "ip6",      "to",         "map",         "saddr",
      "masquerade"};
  return words;
}

void check_script(const fw::Snapshot& snapshot, const std::string& script) {
  std::set<std::string> interfaces;  // valid names the snapshot gave
  std::set<std::string> chains;
  for (const auto& n : snapshot.networks) {
    if (fw::is_valid_interface_name(n.interface)) interfaces.insert(n.interface);
    if (fw::is_valid_interface_name(n.nat_if)) interfaces.insert(n.nat_if);
    if (kleene::is_valid_name(n.name)) chains.insert("from-" + n.name);
  }
  for (const auto& p : snapshot.ports)
    for (const auto& name : p.interfaces)
      if (fw::is_valid_interface_name(name)) interfaces.insert(name);

  KLEENE_FUZZ_CHECK(script.starts_with(kHeader), script);
  for (const char c : script)
    KLEENE_FUZZ_CHECK(c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f), script);
  KLEENE_FUZZ_CHECK(script.ends_with('\n'), script);

  const std::string_view body = std::string_view(script).substr(kHeader.size());
  int depth = 0;
  int tables = 0;
  std::size_t start = 0;
  while (start < body.size()) {
    const std::size_t end = body.find('\n', start);
    const std::string_view line = body.substr(start, end - start);
    start = end + 1;
    if (!line.starts_with('\t')) {
      KLEENE_FUZZ_CHECK(line == "table inet kleene {" || line == "}", std::string(line));
      if (line.starts_with("table")) ++tables;
    }
    KLEENE_FUZZ_CHECK(line.find('#') == std::string_view::npos, std::string(line));
    const auto semicolons = std::ranges::count(line, ';');
    KLEENE_FUZZ_CHECK(semicolons == 0 || (semicolons == 2 && line.starts_with("\t\ttype ") &&
                                          line.ends_with("; policy accept;")),
                      std::string(line));
    // Words: split on blanks; a trailing ',' or ';' belongs to the list or statement.
    std::size_t w = 0;
    while (w < line.size()) {
      while (w < line.size() && (line[w] == ' ' || line[w] == '\t'))
        ++w;
      std::size_t e = w;
      while (e < line.size() && line[e] != ' ' && line[e] != '\t')
        ++e;
      std::string_view word = line.substr(w, e - w);
      w = e;
      if (word.empty()) continue;
      if (word.size() > 1 && (word.back() == ',' || word.back() == ';')) word.remove_suffix(1);
      if (word == "{" || word == "}") {
        depth += word == "{" ? 1 : -1;
        KLEENE_FUZZ_CHECK(depth >= 0, script);
        continue;
      }
      if (vocabulary().contains(word) || is_address_like(word)) continue;
      if (word.size() >= 2 && word.front() == '"' && word.back() == '"') {
        const std::string name(word.substr(1, word.size() - 2));
        KLEENE_FUZZ_CHECK(interfaces.contains(name), "unexpected interface " + name);
        continue;
      }
      KLEENE_FUZZ_CHECK(chains.contains(std::string(word)),
                        "unexpected word " + std::string(word) + "\n" + script);
    }
  }
  KLEENE_FUZZ_CHECK(depth == 0, script);
  KLEENE_FUZZ_CHECK(tables <= 1, script);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  fw::Snapshot snapshot;
  const auto networks = in.ConsumeIntegralInRange<int>(0, 5);
  for (int i = 0; i < networks; ++i)
    snapshot.networks.push_back(network(in));
  const auto endpoints = in.ConsumeIntegralInRange<int>(0, 5);
  for (int i = 0; i < endpoints; ++i)
    snapshot.endpoints.push_back(endpoint(in, snapshot.networks));
  const auto ports = in.ConsumeIntegralInRange<int>(0, 4);
  for (int i = 0; i < ports; ++i)
    snapshot.ports.push_back(port(in));

  // The port parser on its own, with the raw strings of the first port.
  if (!snapshot.ports.empty()) {
    const auto& p = snapshot.ports.front();
    if (auto parsed = fw::parse_ports(p.host_port, p.container_port)) {
      const auto& [host, container] = *parsed;
      KLEENE_FUZZ_CHECK(host.first != 0 && host.first <= host.last, p.host_port);
      KLEENE_FUZZ_CHECK(container.first != 0 && container.first <= container.last,
                        p.container_port);
      KLEENE_FUZZ_CHECK(container.last - container.first == host.last - host.first,
                        p.host_port + " -> " + p.container_port);
    }
  }

  const auto script = fw::render(snapshot);
  fw::Snapshot reversed = snapshot;
  std::ranges::reverse(reversed.networks);
  std::ranges::reverse(reversed.endpoints);
  std::ranges::reverse(reversed.ports);
  const auto again = fw::render(reversed);
  KLEENE_FUZZ_CHECK(script.has_value() == again.has_value(), "order changes the outcome");
  if (!script) {
    KLEENE_FUZZ_CHECK(script.error().code == EINVAL && !script.error().message.empty(),
                      script.error().message);
    return 0;
  }
  KLEENE_FUZZ_CHECK(*script == *again, "order changes the script:\n" + *script + "\n" + *again);
  check_script(snapshot, *script);

  return 0;
}

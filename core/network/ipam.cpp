#include "network/ipam.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace kleene::network {

namespace {

constexpr std::string_view kAuto = "<auto>";

// Hostile input is echoed in messages: printable ASCII only, bounded length.
std::string printable(std::string_view text) {
  constexpr std::size_t kMax = 64;
  std::string out;
  for (char c : text.substr(0, kMax))
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > kMax) out += "...";
  return out;
}

std::string_view version(Family family) {
  return family == Family::inet ? "IPv4" : "IPv6";
}

// Sets the host bits (below `prefix`) to one (`set`) or zero.
Address with_host_bits(Address a, int prefix, bool set) {
  const int host_bits = a.bits() - prefix;
  for (int i = 0; i < host_bits; ++i) {
    auto& byte = a.bytes[15 - i / 8];
    const auto bit = static_cast<std::uint8_t>(1u << (i % 8));
    byte = set ? static_cast<std::uint8_t>(byte | bit) : static_cast<std::uint8_t>(byte & ~bit);
  }
  return a;
}

// +1 / -1 on the 128-bit number; callers stay inside the subnet, so no wrap-around matters.
Address next(Address a) {
  for (int i = 15; i >= 0 && ++a.bytes[i] == 0; --i) {
  }
  return a;
}

Address prev(Address a) {
  for (int i = 15; i >= 0 && a.bytes[i]-- == 0; --i) {
  }
  return a;
}

// Strict decimal prefix: 1-3 digits, no sign, no leading zero, no spaces.
bool parse_prefix(std::string_view text, int& prefix) {
  if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0')) return false;
  prefix = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    prefix = prefix * 10 + (c - '0');
  }
  return true;
}

// Family of a text that inet_pton accepts at all, for "wrong IP protocol".
bool parses_as(std::string_view text, Family family) {
  std::array<std::uint8_t, 16> buf{};
  const std::string s(text);
  return s.find('\0') == std::string::npos &&
         inet_pton(family == Family::inet ? AF_INET : AF_INET6, s.c_str(), buf.data()) == 1;
}

Family other(Family family) {
  return family == Family::inet ? Family::inet6 : Family::inet;
}

// The in-use addresses of `subnet` (used + gateway), sorted and unique.
std::vector<Address> taken(const Subnet& subnet, std::string_view gateway,
                           const std::set<std::string>& used) {
  std::vector<Address> out;
  out.reserve(used.size() + 1);
  auto add = [&](std::string_view text) {
    if (auto a = parse_address(text, subnet.family()); a && subnet.contains(*a)) out.push_back(*a);
  };
  for (const auto& u : used)
    add(u);
  if (!gateway.empty()) add(gateway);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

std::string_view family_name(Family family) {
  return family == Family::inet ? "inet" : "inet6";
}

std::string Address::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == Family::inet) {
    inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  }
  return buf;
}

std::string Subnet::str() const {
  return network.str() + "/" + std::to_string(prefix);
}

Address Subnet::last() const {
  return with_host_bits(network, prefix, true);
}

bool Subnet::contains(const Address& address) const {
  return address.family == family() && with_host_bits(address, prefix, false) == network;
}

Address Subnet::first_usable() const {
  return network.bits() - prefix <= 1 ? network : next(network);
}

Address Subnet::last_usable() const {
  const int host_bits = network.bits() - prefix;
  return family() == Family::inet && host_bits > 1 ? prev(last()) : last();
}

bool Subnet::usable(const Address& address) const {
  return contains(address) && address >= first_usable() && address <= last_usable();
}

Result<Address> parse_address(std::string_view text, Family family) {
  const auto invalid = [&] {
    return make_error(EINVAL, "not a valid " + std::string(version(family)) + " address");
  };
  // inet_pton reads a C string: an embedded NUL would cut off whatever follows it.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN || text.find('\0') != text.npos) {
    return invalid();
  }
  const std::string s(text);
  Address a;
  a.family = family;
  if (family == Family::inet) {
    if (inet_pton(AF_INET, s.c_str(), a.bytes.data() + 12) != 1) return invalid();
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) != 1) return invalid();
  static constexpr std::array<std::uint8_t, 12> kMapped = {0, 0, 0, 0, 0,    0,
                                                           0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a.bytes.data(), kMapped.data(), kMapped.size()) == 0) {
    return make_error(EINVAL, "IPv4-mapped IPv6 addresses are not allowed");
  }
  return a;
}

Result<Subnet> parse_subnet(std::string_view text, Family family) {
  const std::string context = family == Family::inet ? "invalid subnet" : "invalid subnet6";
  const auto fail = [&](const std::string& reason) {
    return make_error(EINVAL, context + ": " + reason);
  };
  const auto slash = text.find('/');
  if (slash == text.npos) {
    return fail("missing prefix length in " + printable(text) +
                (family == Family::inet ? " (e.g. 10.13.37.0/24)" : " (e.g. fd00:13:37::/64)"));
  }
  const auto addr_text = text.substr(0, slash);
  const auto prefix_text = text.substr(slash + 1);
  auto address = parse_address(addr_text, family);
  if (!address) {
    if (parses_as(addr_text, other(family))) return fail("wrong IP protocol");
    return fail(address.error().message + ": " + printable(addr_text));
  }
  int prefix = 0;
  const int bits = address->bits();
  if (!parse_prefix(prefix_text, prefix) || prefix > bits) {
    return fail("Invalid mask " + printable(prefix_text));
  }
  if (prefix == 0) return fail("Invalid mask 0 (a network cannot span the whole address space)");
  Subnet subnet{*address, prefix};
  if (with_host_bits(*address, prefix, false) != *address) {
    subnet.network = with_host_bits(*address, prefix, false);
    return fail("host bits are set in " + printable(text) + " (did you mean " + subnet.str() +
                "?)");
  }
  return subnet;
}

Result<std::string> resolve_gateway(const Subnet& subnet, std::string_view gateway) {
  const std::string context =
      subnet.family() == Family::inet ? "invalid gateway" : "invalid gateway6";
  if (gateway.empty()) return std::string();
  if (gateway == kAuto) return subnet.first_usable().str();
  auto address = parse_address(gateway, subnet.family());
  if (!address) {
    if (parses_as(gateway, other(subnet.family()))) {
      return make_error(EINVAL, context + ": wrong IP protocol");
    }
    return make_error(EINVAL, context + ": " + address.error().message + ": " + printable(gateway));
  }
  if (!subnet.contains(*address)) {
    return make_error(EINVAL,
                      context + ": " + address->str() + " is outside the subnet " + subnet.str());
  }
  if (!subnet.usable(*address)) {
    return make_error(EINVAL, context + ": " + address->str() + " is the " +
                                  (*address == subnet.network ? "network" : "broadcast") +
                                  " address of " + subnet.str());
  }
  return address->str();
}

Result<std::string> allocate(const Subnet& subnet, std::string_view gateway,
                             const std::set<std::string>& used) {
  const auto last = subnet.last_usable();
  auto candidate = subnet.first_usable();
  // Walk the sorted in-use addresses from the start: the first gap is the answer.
  for (const auto& t : taken(subnet, gateway, used)) {
    if (t < candidate) continue;
    if (t != candidate) break;
    if (candidate == last) {
      return make_error(ENOSPC, "no more " + std::string(family_name(subnet.family())) +
                                    " IP's left in the network");
    }
    candidate = next(candidate);
  }
  return candidate.str();
}

Result<std::string> check_explicit(const Subnet& subnet, std::string_view address,
                                   std::string_view gateway, const std::set<std::string>& used) {
  const std::string family(family_name(subnet.family()));
  auto a = parse_address(address, subnet.family());
  if (!a) {
    return make_error(EINVAL, "could not parse " + family + " address " + printable(address) +
                                  ": " + a.error().message);
  }
  const auto text = a->str();
  if (!subnet.contains(*a)) {
    return make_error(EINVAL, "ip address " + text + " is outside the subnet " + subnet.str());
  }
  if (!subnet.usable(*a)) {
    return make_error(EINVAL, "ip address " + text + " is the " +
                                  (*a == subnet.network ? "network" : "broadcast") +
                                  " address of " + subnet.str());
  }
  if (auto gw = parse_address(gateway, subnet.family()); gw && *gw == *a) {
    return make_error(EEXIST, "ip address " + text + " is the gateway of the network");
  }
  for (const auto& u : used) {
    if (auto other_address = parse_address(u, subnet.family());
        other_address && *other_address == *a) {
      return make_error(EEXIST, "ip address " + text + " is already in use in the network");
    }
  }
  return text;
}

Result<std::string> assign(std::string_view subnet, Family family, std::string_view requested,
                           std::string_view gateway, const std::set<std::string>& used) {
  if (requested.empty()) return std::string();
  if (subnet.empty()) {
    if (requested == kAuto) return std::string();
    return make_error(EINVAL, "cannot set ip address because there is no " +
                                  std::string(version(family)) +
                                  " subnet defined for this network");
  }
  const auto parsed = TRY(parse_subnet(subnet, family));
  if (requested == kAuto) return allocate(parsed, gateway, used);
  return check_explicit(parsed, requested, gateway, used);
}

}  // namespace kleene::network

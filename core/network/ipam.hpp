// IPAM: subnets, gateways and container addresses of a network, IPv4 ("inet") and IPv6
// ("inet6"). Pure functions over strings as the store keeps them; nothing touches the kernel.
//
// Usable addresses of a subnet (allocation and explicit addresses both respect them):
//   IPv4 /0../30   network+1 .. broadcast-1   (network and broadcast address excluded)
//   IPv4 /31       both addresses             (RFC 3021 point-to-point, no broadcast)
//   IPv4 /32       the single address
//   IPv6 /0../126  network+1 .. last          (no broadcast; the all-zero subnet-router
//                                              anycast address is excluded, as in Kleene)
//   IPv6 /127      both addresses             (RFC 6164)
//   IPv6 /128      the single address
// The gateway (if any) is never handed out; `<auto>` gateways are the first usable address.
// Prefix 0 is refused: a network spanning the whole address space would make every NAT and
// isolation rule match everything.
//
// Messages follow Kleene where it has one ("no more inet IP's left in the network",
// "invalid subnet: Invalid mask 33", "could not parse inet address ...", "wrong IP protocol").
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace kleene::network {

enum class Family { inet, inet6 };

// "inet" / "inet6", the names Kleene uses in its messages.
[[nodiscard]] std::string_view family_name(Family family);

// An address as a 128-bit big-endian number (IPv4 in the last 4 bytes), so that IPv4 and
// IPv6 share increment, compare and mask arithmetic.
struct Address {
  Family family = Family::inet;
  std::array<std::uint8_t, 16> bytes{};

  [[nodiscard]] int bits() const { return family == Family::inet ? 32 : 128; }
  // Canonical text (inet_ntop): "10.13.37.2", "fd00::2".
  [[nodiscard]] std::string str() const;
  auto operator<=>(const Address&) const = default;
};

struct Subnet {
  Address network;  // host bits zero
  int prefix = 0;

  [[nodiscard]] Family family() const { return network.family; }
  [[nodiscard]] std::string str() const;  // canonical "10.13.37.0/24"
  [[nodiscard]] Address last() const;     // all host bits set (the IPv4 broadcast)
  [[nodiscard]] bool contains(const Address& address) const;
  [[nodiscard]] Address first_usable() const;
  [[nodiscard]] Address last_usable() const;
  // Usable and not the IPv4 network/broadcast address (see the table above).
  [[nodiscard]] bool usable(const Address& address) const;
};

// A bare address of the given family, strictly: inet_pton syntax only (no spaces, no leading
// zeros in IPv4, no scope id "%eth0", no prefix), no IPv4-mapped IPv6 (::ffff:a.b.c.d).
// The error message is the reason only ("not a valid IPv4 address").
[[nodiscard]] Result<Address> parse_address(std::string_view text, Family family);

// "10.13.37.0/24", "fd00::/64". Host bits must be zero. Errors carry Kleene's prefix:
// "invalid subnet: ..." / "invalid subnet6: ...".
[[nodiscard]] Result<Subnet> parse_subnet(std::string_view text, Family family);

// A gateway for `subnet`: a usable address inside it. "" -> no gateway, "<auto>" -> the first
// usable address. Errors: "invalid gateway: ..." / "invalid gateway6: ...".
[[nodiscard]] Result<std::string> resolve_gateway(const Subnet& subnet, std::string_view gateway);

// The lowest usable address that is neither the gateway nor in `used` (addresses of the
// network's endpoints, any spelling; entries of another family or unparsable are ignored).
// O(|used| log |used|): large IPv6 subnets are never walked. ENOSPC when exhausted.
[[nodiscard]] Result<std::string> allocate(const Subnet& subnet, std::string_view gateway,
                                           const std::set<std::string>& used);

// An explicitly requested address: parsable, inside the subnet, usable, not the gateway, not
// already used (compared by value: "fd00::1" == "fd00:0::0001"). Returns its canonical text.
[[nodiscard]] Result<std::string> check_explicit(const Subnet& subnet, std::string_view address,
                                                 std::string_view gateway,
                                                 const std::set<std::string>& used);

// Kleene's create_ip_address for one family of a network: `requested` is "" (no address),
// "<auto>" or an address; `subnet` is the network's stored subnet ("" = none). Returns the
// canonical address to store, or "" for none.
[[nodiscard]] Result<std::string> assign(std::string_view subnet, Family family,
                                         std::string_view requested, std::string_view gateway,
                                         const std::set<std::string>& used);

}  // namespace kleene::network

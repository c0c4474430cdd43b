#include "net-common/request.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <charconv>
#include <cstring>

#include "kleene/plugin/sdk.hpp"
#include "network/netlink.hpp"

namespace kleene::netdrv {
namespace {

using nlohmann::json;
using sdk::Error;

constexpr std::size_t kIdMax = 64;
constexpr std::size_t kNameChars = 12;   // of the endpoint id, in the names of earlier versions
constexpr std::size_t kPrefixChars = 8;  // of the endpoint id, in host-side names
constexpr std::size_t kPathMax = 4096;

[[noreturn]] void invalid(const std::string& message) {
  throw Error(KLEENE_E_INVALID, message);
}

const json& object_field(const json& parent, const char* key) {
  const auto it = parent.find(key);
  if (it == parent.end()) invalid(std::string("missing field '") + key + "'");
  if (!it->is_object()) invalid(std::string("'") + key + "' must be an object");
  return *it;
}

// A string field; absent is "" unless `required` (then absent or empty is an error).
std::string string_field(const json& parent, const char* key, std::string_view where,
                         bool required) {
  const std::string name = std::string(where) + key;
  const auto it = parent.find(key);
  if (it == parent.end() || it->is_null()) {
    if (required) invalid("missing field '" + name + "'");
    return {};
  }
  if (!it->is_string()) invalid("'" + name + "' must be a string");
  auto value = it->get<std::string>();
  if (required && value.empty()) invalid("'" + name + "' must not be empty");
  if (value.find('\0') != std::string::npos) invalid("'" + name + "' contains a NUL");
  return value;
}

// Ids end up in interface names: letters, digits, '_' and '-' only.
std::string id_field(const json& parent, const char* key, std::string_view where) {
  auto id = string_field(parent, key, where, true);
  if (id.size() > kIdMax) invalid("'" + std::string(where) + key + "' is too long");
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) invalid("invalid " + std::string(where) + key + " '" + id + "'");
  }
  return id;
}

std::string netns_field(const json& request, bool required) {
  auto path = string_field(request, "netns", "", required);
  if (path.empty()) return path;
  if (path.front() != '/' || path.size() >= kPathMax) {
    invalid("invalid netns '" + path + "': not an absolute path");
  }
  return path;
}

// inet_pton syntax of one family; IPv4-mapped IPv6 and the unspecified, loopback and
// multicast addresses are refused (none of them is a container's address or gateway).
bool parse_address(int family, const std::string& text, std::array<unsigned char, 16>& bytes) {
  if (family == AF_INET6 && text.find('.') != std::string::npos) return false;
  if (inet_pton(family, text.c_str(), bytes.data()) != 1) return false;
  if (family == AF_INET) {
    return bytes[0] != 0 && bytes[0] != 127 && bytes[0] < 224;
  }
  in6_addr a{};
  std::memcpy(&a, bytes.data(), sizeof a);
  return !IN6_IS_ADDR_UNSPECIFIED(&a) && !IN6_IS_ADDR_LOOPBACK(&a) && !IN6_IS_ADDR_MULTICAST(&a);
}

std::string address_field(const json& parent, const char* key, std::string_view where, int family) {
  auto text = string_field(parent, key, where, false);
  std::array<unsigned char, 16> bytes{};
  if (!text.empty() && !parse_address(family, text, bytes)) {
    invalid("invalid " + std::string(family == AF_INET ? "IPv4" : "IPv6") + " address '" + text +
            "' in '" + std::string(where) + key + "'");
  }
  return text;
}

// "a.b.c.d/N" or "x::/N", decimal N without sign or leading zero; host bits are cleared.
Subnet subnet_field(const json& parent, const char* key, int family) {
  const auto text = string_field(parent, key, "network.", false);
  if (text.empty()) return {};
  auto bad = [&] { invalid("invalid subnet '" + text + "' in 'network." + key + "'"); };
  const auto slash = text.find('/');
  if (slash == std::string::npos) bad();
  const std::string address = text.substr(0, slash);
  const std::string digits = text.substr(slash + 1);
  const int bits = family == AF_INET ? 32 : 128;
  int prefix = -1;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
  if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0') ||
      ec != std::errc{} || end != digits.data() + digits.size() || prefix < 0 || prefix > bits) {
    bad();
  }
  std::array<unsigned char, 16> bytes{};
  if (family == AF_INET6 && address.find('.') != std::string::npos) bad();
  if (inet_pton(family, address.c_str(), bytes.data()) != 1) bad();
  for (int bit = prefix; bit < bits; ++bit) {
    bytes[static_cast<std::size_t>(bit / 8)] &= static_cast<unsigned char>(~(0x80U >> (bit % 8)));
  }
  std::array<char, INET6_ADDRSTRLEN> out{};
  inet_ntop(family, bytes.data(), out.data(), out.size());
  return Subnet{std::string(out.data()) + "/" + std::to_string(prefix), prefix};
}

Network parse_network(const json& request) {
  const json& n = object_field(request, "network");
  Network network;
  network.id = string_field(n, "id", "network.", false);
  network.name = string_field(n, "name", "network.", false);
  network.type = string_field(n, "type", "network.", true);
  if (network.type != "loopback" && network.type != "bridge" && network.type != "custom") {
    invalid("unknown network type '" + network.type + "'");
  }
  network.interface = string_field(n, "interface", "network.", false);
  if (!network.interface.empty()) {
    if (auto valid = network::netlink::validate_interface_name(network.interface); !valid) {
      invalid("network.interface: " + valid.error().message);
    }
  }
  network.subnet = subnet_field(n, "subnet", AF_INET);
  network.subnet6 = subnet_field(n, "subnet6", AF_INET6);
  network.gateway = address_field(n, "gateway", "network.", AF_INET);
  network.gateway6 = address_field(n, "gateway6", "network.", AF_INET6);
  if (n.contains("icc")) {
    if (!n["icc"].is_boolean()) invalid("network.icc must be a boolean");
    network.icc = n["icc"].get<bool>();
  }
  if (n.contains("group")) {
    if (!n["group"].is_number_unsigned() || n["group"].get<std::uint64_t>() > 0xffffffffU)
      invalid("network.group must be an unsigned 32-bit number");
    network.group = n["group"].get<std::uint32_t>();
  }
  return network;
}

Endpoint parse_endpoint(const json& request) {
  const json& e = object_field(request, "endpoint");
  Endpoint endpoint;
  endpoint.id = id_field(e, "id", "endpoint.");
  endpoint.ip = address_field(e, "ip_address", "endpoint.", AF_INET);
  endpoint.ip6 = address_field(e, "ip_address6", "endpoint.", AF_INET6);
  return endpoint;
}

void require_object(const json& request) {
  if (!request.is_object()) invalid("the request must be a JSON object");
}

}  // namespace

JoinRequest parse_join(const json& request) {
  require_object(request);
  JoinRequest join;
  join.container_id = id_field(request, "container_id", "");
  join.netns = netns_field(request, true);
  join.endpoint = parse_endpoint(request);
  join.network = parse_network(request);
  if (join.endpoint.ip.empty() && join.endpoint.ip6.empty()) {
    invalid("endpoint " + join.endpoint.id + " has neither an IPv4 nor an IPv6 address");
  }
  if (const auto it = request.find("default_route"); it != request.end()) {
    if (!it->is_boolean()) invalid("'default_route' must be true or false");
    join.default_route = it->get<bool>();
  }
  return join;
}

LeaveRequest parse_leave(const json& request, char letter) {
  require_object(request);
  LeaveRequest leave;
  leave.container_id = id_field(request, "container_id", "");
  leave.netns = netns_field(request, false);
  leave.endpoint = parse_endpoint(request);
  // Leave cleans up: it needs no more than the endpoint, the network is optional.
  if (request.contains("network")) leave.network = parse_network(request);
  const json& e = request.at("endpoint");
  leave.endpoint.interface = string_field(e, "interface", "endpoint.", false);
  // Only a host side this driver made may be deleted: never the network's bridge or a link of
  // another driver, whatever the request says.
  const std::string prefix = std::string("kl") + letter;
  if (!leave.endpoint.interface.empty() &&
      (!network::netlink::is_owned_name(leave.endpoint.interface) ||
       !leave.endpoint.interface.starts_with(prefix))) {
    invalid("invalid endpoint.interface '" + leave.endpoint.interface +
            "': not a host-side interface of this driver (" + prefix + "...)");
  }
  return leave;
}

std::string host_link_prefix(char letter, std::string_view endpoint_id) {
  return std::string("kl") + letter + std::string(endpoint_id.substr(0, kPrefixChars));
}

std::string host_link_name(char letter, std::string_view endpoint_id, std::uint64_t netns_inode) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string name = host_link_prefix(letter, endpoint_id);
  for (int shift = 12; shift >= 0; shift -= 4)
    name.push_back(kHex[(netns_inode >> shift) & 0xf]);
  return name;
}

std::string legacy_host_link_name(char letter, std::string_view endpoint_id) {
  return std::string("kl") + letter + std::string(endpoint_id.substr(0, kNameChars));
}

std::string peer_link_name(std::string_view endpoint_id) {
  return "klp" + std::string(endpoint_id.substr(0, kNameChars));
}

bool subnet_contains(const Subnet& subnet, std::string_view address) {
  if (subnet.empty()) return false;
  const auto slash = subnet.cidr.find('/');
  const std::string network = subnet.cidr.substr(0, slash);
  const int family = network.find(':') == std::string::npos ? AF_INET : AF_INET6;
  std::array<unsigned char, 16> net{};
  std::array<unsigned char, 16> addr{};
  if (inet_pton(family, network.c_str(), net.data()) != 1 ||
      inet_pton(family, std::string(address).c_str(), addr.data()) != 1) {
    return false;
  }
  for (int bit = 0; bit < subnet.prefix; ++bit) {
    const auto byte = static_cast<std::size_t>(bit / 8);
    const unsigned mask = 0x80U >> (bit % 8);
    if ((net[byte] & mask) != (addr[byte] & mask)) return false;
  }
  return true;
}

}  // namespace kleene::netdrv

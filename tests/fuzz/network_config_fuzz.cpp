// Fuzzes the network API bodies (core/network/config.hpp) and IPAM (core/network/ipam.hpp).
//
// The input is a JSON document (NetworkConfig, EndPointConfig or anything else):
//   - parse_network_config / parse_endpoint_config never throw, whatever the JSON;
//   - a NetworkConfig that check_network_config accepts is normalised (canonical subnets, a
//     usable gateway) and a stable fixpoint (checking it again changes nothing), and the
//     firewall renders a network built from it: what the API accepts can never make the
//     ruleset fail to load;
//   - the endpoint's addresses go through ipam::assign on that network; an address it returns
//     is usable, inside the subnet, neither the gateway nor already used.
// Inputs that are not JSON are fed to parse_subnet/parse_address directly, line by line, with
// round-trip checks (str() parses back to the same value; every accepted address is one that
// inet_pton accepts).
#include <arpa/inet.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_check.hpp"
#include "network/config.hpp"
#include "network/firewall.hpp"
#include "network/ipam.hpp"

namespace net = kleene::network;

namespace {

void check_address(std::string_view text, net::Family family) {
  auto address = net::parse_address(text, family);
  if (!address) return;
  const std::string canonical = address->str();
  auto again = net::parse_address(canonical, family);
  KLEENE_FUZZ_CHECK(again && *again == *address, std::string(text) + " -> " + canonical);
  std::array<unsigned char, 16> buf{};
  const std::string copy(text);
  KLEENE_FUZZ_CHECK(
      inet_pton(family == net::Family::inet ? AF_INET : AF_INET6, copy.c_str(), buf.data()) == 1,
      copy);
}

void check_subnet(std::string_view text, net::Family family) {
  auto subnet = net::parse_subnet(text, family);
  if (!subnet) {
    KLEENE_FUZZ_CHECK(subnet.error().message.starts_with(
                          family == net::Family::inet ? "invalid subnet: " : "invalid subnet6: "),
                      subnet.error().message);
    return;
  }
  const int bits = family == net::Family::inet ? 32 : 128;
  KLEENE_FUZZ_CHECK(subnet->prefix >= 1 && subnet->prefix <= bits, std::string(text));
  const std::string canonical = subnet->str();
  auto again = net::parse_subnet(canonical, family);
  KLEENE_FUZZ_CHECK(again && again->str() == canonical && again->network == subnet->network,
                    std::string(text) + " -> " + canonical);
  const auto first = subnet->first_usable();
  const auto last = subnet->last_usable();
  KLEENE_FUZZ_CHECK(subnet->usable(first) && subnet->usable(last) && first <= last, canonical);
  KLEENE_FUZZ_CHECK(subnet->contains(subnet->network) && subnet->contains(subnet->last()),
                    canonical);
  // Allocation in an empty network gives the first usable address after the `<auto>` gateway.
  auto gateway = net::resolve_gateway(*subnet, "<auto>");
  KLEENE_FUZZ_CHECK(gateway && *gateway == first.str(), canonical);
  auto allocated = net::allocate(*subnet, *gateway, {});
  if (allocated) {
    auto a = net::parse_address(*allocated, family);
    KLEENE_FUZZ_CHECK(a && subnet->usable(*a) && *allocated != *gateway, *allocated);
  } else {
    KLEENE_FUZZ_CHECK(first == last, canonical);  // a single usable address, the gateway's
  }
}

// The addresses an endpoint asks for, assigned in the network as kleened would.
void check_assign(const net::NetworkConfig& network, const net::EndPointConfig& endpoint) {
  for (const auto family : {net::Family::inet, net::Family::inet6}) {
    const bool v4 = family == net::Family::inet;
    const std::string& subnet_text = v4 ? network.subnet : network.subnet6;
    const std::string& gateway = v4 ? network.gateway : network.gateway6;
    const std::string& requested = v4 ? endpoint.ip_address : endpoint.ip_address6;
    const std::set<std::string> used = {
        v4 ? "10.13.37.2" : "fd00::2", v4 ? std::string("not an address") : "fd00:0::3", requested};
    for (const auto& taken : {std::set<std::string>{}, used}) {
      auto assigned = net::assign(subnet_text, family, requested, gateway, taken);
      if (!assigned || assigned->empty()) continue;
      auto subnet = net::parse_subnet(subnet_text, family);
      KLEENE_FUZZ_CHECK(subnet.has_value(), subnet_text);
      auto address = net::parse_address(*assigned, family);
      KLEENE_FUZZ_CHECK(address && subnet->usable(*address) && address->str() == *assigned,
                        *assigned + " in " + subnet_text);
      auto gw = net::parse_address(gateway, family);
      KLEENE_FUZZ_CHECK(!gw || *gw != *address, *assigned + " is the gateway " + gateway);
      for (const auto& u : taken) {
        auto other = net::parse_address(u, family);
        KLEENE_FUZZ_CHECK(!other || *other != *address, *assigned + " is used: " + u);
      }
    }
  }
}

void check_network(const nlohmann::json& body) {
  auto parsed = net::parse_network_config(body);
  if (!parsed) {
    KLEENE_FUZZ_CHECK(parsed.error().pointer.starts_with('/') && !parsed.error().message.empty(),
                      parsed.error().message);
    return;
  }
  net::NetworkConfig config = *parsed;
  if (!net::check_network_config(config)) return;
  // A fixpoint: the normalised config passes again unchanged.
  net::NetworkConfig again = config;
  KLEENE_FUZZ_CHECK(net::check_network_config(again).has_value(), config.name);
  KLEENE_FUZZ_CHECK(
      again.subnet == config.subnet && again.subnet6 == config.subnet6 &&
          again.gateway == config.gateway && again.gateway6 == config.gateway6,
      config.subnet + " " + config.gateway + " | " + config.subnet6 + " " + config.gateway6);
  if (!config.subnet.empty()) check_subnet(config.subnet, net::Family::inet);
  if (!config.subnet6.empty()) check_subnet(config.subnet6, net::Family::inet6);

  // What the API accepted renders.
  kleene::network::firewall::Network row;
  row.id = "n1";
  row.name = config.name;
  row.interface = config.interface.empty() ? "kleene0" : config.interface;
  row.subnet = config.subnet;
  row.subnet6 = config.subnet6;
  row.gateway = config.gateway;
  row.gateway6 = config.gateway6;
  row.nat = !config.nat.empty();
  row.nat_if = config.nat == net::kNatHostGateway ? "eth0" : config.nat;
  row.icc = config.icc;
  row.internal = config.internal;
  row.group = 7;
  auto script = kleene::network::firewall::render({{row}, {}, {}});
  KLEENE_FUZZ_CHECK(script.has_value(), script ? "" : script.error().message);

  if (const auto* endpoint = kleene::util::field(body, "endpoint")) {
    if (auto e = net::parse_endpoint_config(*endpoint)) check_assign(config, *e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto body = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    // Not JSON: each line is a subnet or an address of either family.
    std::size_t start = 0;
    while (start <= text.size()) {
      const std::size_t end = std::min(text.find('\n', start), text.size());
      const std::string_view line = text.substr(start, end - start);
      for (const auto family : {net::Family::inet, net::Family::inet6}) {
        check_address(line, family);
        check_subnet(line, family);
      }
      start = end + 1;
    }
    return 0;
  }
  check_network(body);
  (void)net::parse_endpoint_config(body);
  if (body.is_object()) {
    for (const auto& [key, value] : body.items()) {
      if (value.is_object()) {
        check_network(value);
        (void)net::parse_endpoint_config(value);
      }
    }
  }
  return 0;
}

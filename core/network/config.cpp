// NetworkConfig / EndPointConfig parsing and the rules of network create and connect.
#include "network/config.hpp"

#include <algorithm>
#include <initializer_list>
#include <tuple>

#include "network/ipam.hpp"
#include "util/names.hpp"

namespace kleene::network {

namespace {

using util::field;
using util::got;
using util::invalid;

// A string field into `out` (left at its default when absent); `required` -> "Missing field".
std::expected<void, ConfigError> string_field(const nlohmann::json& body, std::string_view name,
                                              std::string& out, bool required = false) {
  const auto* value = field(body, name);
  const std::string pointer = "/" + std::string(name);
  if (value == nullptr) {
    if (required) return invalid(pointer, "Missing field: " + std::string(name));
    return {};
  }
  if (!value->is_string()) return invalid(pointer, "Invalid string. " + got(*value));
  out = value->get<std::string>();
  return {};
}

std::expected<void, ConfigError> bool_field(const nlohmann::json& body, std::string_view name,
                                            bool& out) {
  const auto* value = field(body, name);
  if (value == nullptr) return {};
  if (!value->is_boolean())
    return invalid("/" + std::string(name), "Invalid boolean. " + got(*value));
  out = value->get<bool>();
  return {};
}

bool is_type(std::string_view type) {
  return type == kTypeBridge || type == kTypeLoopback || type == kTypeCustom;
}

// Only printable ASCII of a user string goes into messages.
std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, 64))
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > 64) out += "...";
  return out;
}

// One family's gateway: "<auto>" -> first usable (bridge with a subnet) or "".
Result<void> resolve_family_gateway(const NetworkConfig& config, std::string_view subnet_text,
                                    Family family, std::string& gateway) {
  const std::string context = family == Family::inet ? "invalid gateway" : "invalid gateway6";
  if (gateway.empty()) return {};
  if (gateway == kAuto && (config.type != kTypeBridge || subnet_text.empty())) {
    gateway.clear();
    return {};
  }
  if (subnet_text.empty()) {
    return make_error(EINVAL, context + ": there is no " +
                                  (family == Family::inet ? "IPv4" : "IPv6") +
                                  " subnet defined for this network");
  }
  const auto subnet = TRY(parse_subnet(subnet_text, family));
  gateway = TRY(resolve_gateway(subnet, gateway));
  return {};
}

}  // namespace

std::expected<NetworkConfig, ConfigError> parse_network_config(const nlohmann::json& body) {
  if (!body.is_object()) return invalid("/", "Invalid object. " + got(body));
  NetworkConfig config;
  for (const auto& [name, out, required] :
       std::initializer_list<std::tuple<std::string_view, std::string*, bool>>{
           {"name", &config.name, true},
           {"type", &config.type, false},
           {"interface", &config.interface, false},
           {"subnet", &config.subnet, false},
           {"subnet6", &config.subnet6, false},
           {"gateway", &config.gateway, false},
           {"gateway6", &config.gateway6, false},
           {"nat", &config.nat, false}}) {
    if (auto ok = string_field(body, name, *out, required); !ok) return std::unexpected(ok.error());
  }
  if (!is_type(config.type)) return invalid("/type", "Invalid value for enum");
  if (config.interface.size() > kMaxInterfaceName)
    return invalid("/interface", "String length is larger than maxLength: 15");
  if (auto ok = bool_field(body, "icc", config.icc); !ok) return std::unexpected(ok.error());
  if (auto ok = bool_field(body, "internal", config.internal); !ok)
    return std::unexpected(ok.error());
  return config;
}

std::expected<EndPointConfig, ConfigError> parse_endpoint_config(const nlohmann::json& body) {
  if (!body.is_object()) return invalid("/", "Invalid object. " + got(body));
  EndPointConfig config;
  for (const auto& [name, out, required] :
       std::initializer_list<std::tuple<std::string_view, std::string*, bool>>{
           {"container", &config.container, true},
           {"network", &config.network, true},
           {"ip_address", &config.ip_address, false},
           {"ip_address6", &config.ip_address6, false}}) {
    if (auto ok = string_field(body, name, *out, required); !ok) return std::unexpected(ok.error());
  }
  return config;
}

Result<void> check_network_name(std::string_view name) {
  if (name.empty()) return make_error(EINVAL, "network name must not be empty");
  if (!is_valid_name(name)) {
    return make_error(EINVAL, "invalid network name '" + printable(name) +
                                  "': only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at most " +
                                  std::to_string(kMaxNameLength) + " characters");
  }
  return {};
}

Result<void> check_interface_name(std::string_view name) {
  const auto ok_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  };
  if (name.empty() || name.size() > kMaxInterfaceName || name == "." || name == ".." ||
      !std::all_of(name.begin(), name.end(), ok_char)) {
    return make_error(EINVAL, "invalid interface name '" + printable(name) +
                                  "': 1 to 15 characters of [a-zA-Z0-9_.-]");
  }
  return {};
}

Result<void> check_network_config(NetworkConfig& config) {
  TRY(check_network_name(config.name));
  if (!is_type(config.type))
    return make_error(EINVAL, "unknown network type '" + printable(config.type) + "'");
  if (config.interface.empty()) {
    if (config.type == kTypeCustom)
      return make_error(EINVAL, "a custom network needs the name of an existing interface");
  } else {
    TRY(check_interface_name(config.interface));
  }
  if (!config.subnet.empty()) config.subnet = TRY(parse_subnet(config.subnet, Family::inet)).str();
  if (!config.subnet6.empty())
    config.subnet6 = TRY(parse_subnet(config.subnet6, Family::inet6)).str();
  TRY(resolve_family_gateway(config, config.subnet, Family::inet, config.gateway));
  TRY(resolve_family_gateway(config, config.subnet6, Family::inet6, config.gateway6));
  if (!config.nat.empty() && config.nat != kNatHostGateway) {
    if (auto ok = check_interface_name(config.nat); !ok)
      return make_error(EINVAL, "invalid nat: " + ok.error().message);
  }
  return {};
}

Result<void> can_connect(std::string_view driver, std::string_view network_type) {
  if (driver.empty()) return make_error(EINVAL, "a network driver is required");
  if (driver == "host" || driver == "disabled") {
    return make_error(EINVAL, "containers with the '" + std::string(driver) +
                                  "' network-driver cannot connect to networks.");
  }
  if (!is_type(network_type))
    return make_error(EINVAL, "unknown network type '" + printable(network_type) + "'");
  if (driver == "vnet" && network_type != kTypeBridge) {
    return make_error(EINVAL, "containers using the 'vnet' network-driver can't connect to " +
                                  std::string(network_type) + " networks");
  }
  return {};
}

}  // namespace kleene::network

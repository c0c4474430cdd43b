// Fuzzes the mount and publish specs from klee to the firewall: klee's `-m SRC:DEST[:ro|rw]` and
// `-p [IF:]HOST[:CONTAINER][/PROTO]` parsers (cli/commands/container_common.hpp), the daemon's
// MountPointConfig / public_ports in a ContainerConfig (container::parse_config, check_mounts)
// and the published port on its way into the nft script (firewall::parse_ports, render).
//
// Input: JSON (a ContainerConfig, its "mounts" and "public_ports" as the API receives them) or
// text, each line a -m spec and a -p spec.
//
// Invariants, on top of ASan/UBSan (and no uncaught exception):
//   - klee: an accepted -m spec is exactly its parts joined again, the type is nullfs iff the
//     source is absolute, and the body it makes passes the daemon's schema (parse_config); a
//     refused one exits 125 with Kleene's "invalid mount format '<spec>'. ..." (-p: exits 1
//     with "could not decode port to publish: <spec>");
//   - an accepted -p spec is its parts joined again, with no empty part;
//   - check_mounts leaves absolute, normalised, unique destinations without "." or "..";
//   - a published port renders exactly when its protocol is tcp or udp, parse_ports accepts its
//     ports and every interface is a valid name; then the script's dnat matches the host range
//     parse_ports read, and the ranges are within 1..65535 with equal lengths.
// What the API accepts in public_ports (parse_config checks each entry since the fuzzer found
// them stored unchecked) must be readable by the firewall reload (container/networking.cpp:
// published_ports) and render; what it refuses must not render.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands/container_common.hpp"
#include "container/container.hpp"
#include "fuzz_check.hpp"
#include "network/firewall.hpp"

namespace c = kleene::container;
namespace fw = kleene::network::firewall;

namespace {

void verify_mounts(std::vector<c::MountConfig> mounts) {
  const auto given = mounts;
  auto checked = c::check_mounts(mounts);
  if (!checked) {
    KLEENE_FUZZ_CHECK(checked.error().code == EINVAL && !checked.error().message.empty(),
                      checked.error().message);
    return;
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < mounts.size(); ++i) {
    kleene::fuzz::check_destination(mounts[i].destination);
    KLEENE_FUZZ_CHECK(seen.insert(mounts[i].destination).second, mounts[i].destination);
    KLEENE_FUZZ_CHECK(mounts[i].type == given[i].type && mounts[i].source == given[i].source &&
                          mounts[i].read_only == given[i].read_only,
                      "check_mounts changed more than the destination");
    KLEENE_FUZZ_CHECK(mounts[i].type != "nullfs" || mounts[i].source.starts_with('/'),
                      mounts[i].source);
  }
}

std::string joined(const std::vector<std::string>& parts, char separator) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i)
    out += (i == 0 ? "" : std::string(1, separator)) + parts[i];
  return out;
}

// A published port as the firewall reload builds it from a container's public_ports entry,
// with the addresses of an attached endpoint. Fields of the wrong type are left at their
// defaults here (networking.cpp skips an entry it cannot read).
fw::PublishedPort published(const nlohmann::json& entry) {
  fw::PublishedPort port;
  port.container_id = "c1";
  if (const auto it = entry.find("interfaces"); it != entry.end() && it->is_array()) {
    for (const auto& i : *it)
      if (i.is_string()) port.interfaces.push_back(i.get<std::string>());
  }
  const auto text = [&](const char* key, const char* fallback) {
    const auto it = entry.find(key);
    return it != entry.end() && it->is_string() ? it->get<std::string>() : std::string(fallback);
  };
  port.host_port = text("host_port", "");
  port.container_port = text("container_port", "");
  port.protocol = text("protocol", "tcp");
  port.ip_address = "10.13.37.2";
  port.ip_address6 = "fd00::2";
  return port;
}

// Whether the reload could read the entry without json::value throwing.
bool reload_reads(const nlohmann::json& entry) {
  for (const char* key : {"host_port", "container_port", "protocol"}) {
    const auto it = entry.find(key);
    if (it != entry.end() && !it->is_string()) return false;
  }
  return true;
}

// Renders `port` and checks the outcome against its validators.
bool check_port(const fw::PublishedPort& port) {
  const auto ranges = fw::parse_ports(port.host_port, port.container_port);
  if (ranges) {
    const auto& [host, container] = *ranges;
    KLEENE_FUZZ_CHECK(host.first >= 1 && host.first <= host.last && container.first >= 1 &&
                          container.first <= container.last,
                      port.host_port + " -> " + port.container_port);
    KLEENE_FUZZ_CHECK(host.last - host.first == container.last - container.first,
                      port.host_port + " -> " + port.container_port);
  } else {
    KLEENE_FUZZ_CHECK(ranges.error().code == EINVAL, ranges.error().message);
  }
  bool valid = ranges.has_value() && (port.protocol == "tcp" || port.protocol == "udp");
  for (const auto& name : port.interfaces)
    valid = valid && fw::is_valid_interface_name(name);
  const auto script = fw::render({{}, {}, {port}});
  KLEENE_FUZZ_CHECK(script.has_value() == valid,
                    (script ? std::string("rendered: ") : "refused: " + script.error().message) +
                        " host_port=" + port.host_port + " container_port=" + port.container_port +
                        " protocol=" + port.protocol);
  if (!script) {
    KLEENE_FUZZ_CHECK(script.error().message.starts_with("published port "),
                      script.error().message);
    return false;
  }
  const auto& host = ranges->first;
  std::string dport = port.protocol + " dport " + std::to_string(host.first);
  if (host.last != host.first) dport += "-" + std::to_string(host.last);
  KLEENE_FUZZ_CHECK(script->find(dport + " dnat ") != std::string::npos, dport);
  return true;
}

void check_public_ports(const nlohmann::json& ports) {
  if (!ports.is_array()) return;
  // Stored rows may be older than the checks; the demands below are on what the API accepts.
  const bool accepted = c::parse_config(nlohmann::json{{"public_ports", ports}}).has_value();
  std::size_t count = 0;
  for (const auto& entry : ports) {
    if (++count > 16) break;
    if (!entry.is_object()) continue;  // skipped by the reload
    const bool readable = reload_reads(entry);
    const bool renders = check_port(published(entry));
    if (!accepted) continue;
    // parse_config accepted it: the firewall reload reads it and it renders.
    KLEENE_FUZZ_CHECK(readable, "the firewall reload throws on " + entry.dump());
    KLEENE_FUZZ_CHECK(renders, "the API accepted a port the firewall refuses: " + entry.dump());
  }
}

void check_body(const nlohmann::json& body) {
  auto config = c::parse_config(body);
  if (!config) {
    KLEENE_FUZZ_CHECK(config.error().pointer.starts_with('/') && !config.error().message.empty(),
                      config.error().pointer + ": " + config.error().message);
    return;
  }
  if (config->mounts) verify_mounts(*config->mounts);
  if (config->public_ports) check_public_ports(*config->public_ports);
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  for (;;) {
    const auto at = text.find(separator);
    parts.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

void check_mount_spec(std::string_view spec) {
  auto mount = klee::parse_mount(spec);
  if (!mount) {
    KLEENE_FUZZ_CHECK(
        mount.error().code == klee::kBadMountSpecExit &&
            mount.error().message.starts_with("invalid mount format '" + std::string(spec) + "'. "),
        mount.error().message);
    return;
  }
  const auto parts = split(spec, ':');
  const std::string source = mount->at("source").get<std::string>();
  const std::string destination = mount->at("destination").get<std::string>();
  const bool read_only = mount->at("read_only").get<bool>();
  KLEENE_FUZZ_CHECK(!source.empty() && !destination.empty(), std::string(spec));
  KLEENE_FUZZ_CHECK(mount->at("type") == (source.starts_with('/') ? "nullfs" : "volume"),
                    std::string(spec));
  std::vector<std::string> again = {source, destination};
  if (parts.size() == 3) again.push_back(read_only ? "ro" : "rw");
  KLEENE_FUZZ_CHECK(
      joined(again, ':') == spec && (read_only == (parts.size() == 3 && parts[2] == "ro")),
      std::string(spec) + " -> " + mount->dump());
  // What klee sends passes the daemon's schema; the checks decide on the values.
  auto config = c::parse_config(nlohmann::json{{"mounts", {*mount}}});
  KLEENE_FUZZ_CHECK(
      config && config->mounts && config->mounts->size() == 1,
      config ? mount->dump() : config.error().pointer + ": " + config.error().message);
  verify_mounts(*config->mounts);
}

void check_publish_spec(std::string_view spec) {
  auto port = klee::parse_publish(spec);
  if (!port) {
    KLEENE_FUZZ_CHECK(
        port.error().code == 1 &&
            port.error().message == "could not decode port to publish: " + std::string(spec),
        port.error().message);
    return;
  }
  const std::string host = port->at("host_port").get<std::string>();
  const std::string container = port->at("container_port").get<std::string>();
  const std::string protocol = port->at("protocol").get<std::string>();
  const auto& interfaces = port->at("interfaces");
  KLEENE_FUZZ_CHECK(!host.empty() && !container.empty() && !protocol.empty(), port->dump());
  KLEENE_FUZZ_CHECK(interfaces.is_array() && interfaces.size() <= 1, port->dump());
  std::vector<std::string> ports;
  if (!interfaces.empty()) ports.push_back(interfaces.front().get<std::string>());
  ports.push_back(host);
  const std::string_view numbers = spec.substr(0, spec.find('/'));
  if (numbers.find(':') != std::string_view::npos) ports.push_back(container);
  std::string again = joined(ports, ':');
  if (spec.find('/') != std::string_view::npos) again += "/" + protocol;
  KLEENE_FUZZ_CHECK(again == spec, std::string(spec) + " -> " + port->dump());
  // The daemon checks published ports as the firewall reads them: it accepts exactly what
  // renders (a klee spec like 0:80 or 8080:80/sctp gets a 422 naming the field).
  auto config = c::parse_config(nlohmann::json{{"public_ports", {*port}}});
  const bool renders = check_port(published(*port));
  if (!config) {
    KLEENE_FUZZ_CHECK(config.error().pointer.starts_with("/public_ports/0"),
                      config.error().pointer + ": " + config.error().message);
    KLEENE_FUZZ_CHECK(!renders, "the API refused a port the firewall renders: " + port->dump());
    return;
  }
  KLEENE_FUZZ_CHECK(config->public_ports && renders,
                    "the API accepted a port the firewall refuses: " + port->dump());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto body = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!body.is_discarded()) {
    check_body(body);
    if (body.is_array()) check_public_ports(body);
    return 0;
  }
  std::size_t start = 0;
  for (int lines = 0; start <= text.size() && lines < 64; ++lines) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line = text.substr(start, end - start);
    check_mount_spec(line);
    check_publish_spec(line);
    start = end + 1;
  }
  return 0;
}

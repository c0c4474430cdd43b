#include "api/ws_configs.hpp"

#include <cstdint>
#include <tuple>

#include "image/image.hpp"
#include "util/json_body.hpp"

namespace kleene::api {

using nlohmann::json;

std::optional<std::string> parse_exec_start(const nlohmann::json& raw, ExecStartConfig& config) {
  for (std::string_view key : {"exec_id", "attach", "start_container"})
    if (!raw.contains(key)) return "Missing field: " + std::string(key);
  if (!raw["exec_id"].is_string()) return std::string("exec_id: Invalid string");
  if (!raw["attach"].is_boolean()) return std::string("attach: Invalid boolean");
  if (!raw["start_container"].is_boolean()) return std::string("start_container: Invalid boolean");
  config.exec_id = raw["exec_id"].get<std::string>();
  config.attach = raw["attach"].get<bool>();
  config.start_container = raw["start_container"].get<bool>();
  return std::nullopt;
}

std::optional<std::string> parse_build_request(const json& raw, BuildRequest& out) {
  for (std::string_view key : {"context", "container_config"})
    if (!raw.contains(key)) return "Missing field: " + std::string(key);
  if (!raw["context"].is_string()) return std::string("context: Invalid string");
  auto config = container::parse_config(raw["container_config"]);
  if (!config) return "container_config" + config.error().pointer + ": " + config.error().message;
  out.container_config = std::move(*config);
  auto text = [&](const char* key, const char* fallback) -> std::optional<std::string> {
    auto it = raw.find(key);
    if (it == raw.end() || it->is_null()) return std::string(fallback);
    if (!it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  auto flag = [&](const char* key, bool fallback) -> std::optional<bool> {
    auto it = raw.find(key);
    if (it == raw.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) return std::nullopt;
    return it->get<bool>();
  };
  const auto dockerfile = text("dockerfile", "Dockerfile");
  if (!dockerfile) return std::string("dockerfile: Invalid string");
  const auto tag = text("tag", "");
  if (!tag) return std::string("tag: Invalid string");
  const auto quiet = flag("quiet", false);
  if (!quiet) return std::string("quiet: Invalid boolean");
  const auto cleanup = flag("cleanup", true);
  if (!cleanup) return std::string("cleanup: Invalid boolean");
  const auto no_cache = flag("no_cache", false);
  if (!no_cache) return std::string("no_cache: Invalid boolean");
  const auto upload = flag("context_upload", false);
  if (!upload) return std::string("context_upload: Invalid boolean");
  out.upload = *upload;
  json buildargs = raw.value("buildargs", json::object());
  if (buildargs.is_null()) buildargs = json::object();
  if (!buildargs.is_object()) return std::string("buildargs: Invalid object");
  for (const auto& [key, value] : buildargs.items())
    if (!value.is_string()) return "buildargs/" + key + ": Invalid string";
  if (auto it = raw.find("networks"); it != raw.end() && !it->is_null()) {
    if (!it->is_array()) return std::string("networks: Invalid array");
    for (std::size_t i = 0; i < it->size(); ++i) {
      auto endpoint = network::parse_endpoint_config((*it)[i]);
      if (!endpoint) {
        return "networks/" + std::to_string(i) + endpoint.error().pointer + ": " +
               endpoint.error().message;
      }
      out.networks.push_back(std::move(*endpoint));
    }
  }
  std::string name, nametag_tag;
  if (!tag->empty()) {
    auto nametag = image::parse_nametag(*tag);
    if (!nametag) return "tag: " + nametag.error().message;
    std::tie(name, nametag_tag) = *nametag;
  }
  out.quiet = *quiet;
  out.plugin_request = json{
      {"context", raw["context"]},
      {"dockerfile", *dockerfile},
      {"name", name},
      {"tag", nametag_tag},
      {"quiet", *quiet},
      {"cleanup", *cleanup},
      {"no_cache", *no_cache},
      {"buildargs", buildargs},
      {"from", out.container_config.image.value_or("")},
      {"user", out.container_config.user.value_or("")},
      {"env", out.container_config.env.value_or(std::vector<std::string>{})},
  };
  return std::nullopt;
}

std::optional<std::pair<unsigned short, unsigned short>> parse_resize(std::string_view payload) {
  // value("rows", -1) threw type_error for a string, on the exec's input thread, which catches
  // nothing: kleened ended.
  const auto size = util::parse_json_bounded(payload);
  const auto dimension = [&size](const char* key) -> std::optional<unsigned short> {
    if (!size || !size->is_object()) return std::nullopt;
    const auto it = size->find(key);
    if (it == size->end() || !it->is_number_integer()) return std::nullopt;
    const auto value = it->get<std::int64_t>();
    if (value <= 0 || value > 0xffff) return std::nullopt;
    return static_cast<unsigned short>(value);
  };
  const auto rows = dimension("rows");
  const auto cols = dimension("cols");
  if (!rows || !cols) return std::nullopt;
  return std::pair{*rows, *cols};
}

}  // namespace kleene::api

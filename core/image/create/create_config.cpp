#include "image/create/create_config.hpp"

#include "image/image.hpp"

namespace kleene::image {
namespace {

// OpenApiSpex's names for JSON types in "Invalid <type>. Got: <type>".
std::string type_name(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::boolean:
      return "boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return "integer";
    case nlohmann::json::value_t::number_float:
      return "number";
    case nlohmann::json::value_t::string:
      return "string";
    case nlohmann::json::value_t::array:
      return "array";
    default:
      return "object";
  }
}

Result<void> read_string(const nlohmann::json& json, const char* key, std::string& out) {
  auto it = json.find(key);
  if (it == json.end()) return {};
  if (!it->is_string()) {
    return make_error(EINVAL,
                      std::string("Invalid string. Got: ") + type_name(*it) + " (" + key + ")");
  }
  out = it->get<std::string>();
  return {};
}

Result<void> read_bool(const nlohmann::json& json, const char* key, bool& out) {
  auto it = json.find(key);
  if (it == json.end()) return {};
  if (!it->is_boolean()) {
    return make_error(EINVAL,
                      std::string("Invalid boolean. Got: ") + type_name(*it) + " (" + key + ")");
  }
  out = it->get<bool>();
  return {};
}

}  // namespace

Result<CreateConfig> parse_create_config(const nlohmann::json& json) {
  if (!json.is_object()) {
    return make_error(EINVAL, "Invalid object. Got: " + type_name(json));
  }
  if (!json.contains("method")) return make_error(EINVAL, "Missing field: method");
  CreateConfig config;
  TRY(read_string(json, "method", config.method));
  TRY(read_string(json, "url", config.url));
  TRY(read_string(json, "zfs_dataset", config.zfs_dataset));
  TRY(read_string(json, "tag", config.tag));
  TRY(read_bool(json, "dns", config.dns));
  TRY(read_bool(json, "localtime", config.localtime));
  TRY(read_bool(json, "update", config.update));
  TRY(read_bool(json, "autotag", config.autotag));
  TRY(read_bool(json, "force", config.force));

  const auto& m = config.method;
  if (m != "fetch" && m != "fetch-auto" && m != "zfs-copy" && m != "zfs-clone") {
    return make_error(EINVAL, "Invalid value for enum (method)");
  }
  if (m == "fetch" && config.url.empty()) {
    return make_error(EINVAL, "url is required for method fetch");
  }
  if ((m == "zfs-copy" || m == "zfs-clone") && config.zfs_dataset.empty()) {
    return make_error(EINVAL, "zfs_dataset is required for method " + m);
  }
  if (!config.tag.empty()) {
    auto nametag = parse_nametag(config.tag);
    if (!nametag)
      return make_error(EINVAL, "invalid tag '" + config.tag + "': " + nametag.error().message);
  }
  return config;
}

}  // namespace kleene::image

#include "options/config_file.hpp"

#include <cstring>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace klee {
namespace {

kleene::Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return kleene::make_error(errno, std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

template <typename T>
kleene::Result<T> scalar(const std::string& path, const std::string& key, const YAML::Node& node,
                         const char* expected) {
  try {
    if (!node.IsScalar()) throw YAML::BadConversion(node.Mark());
    return node.as<T>();
  } catch (const YAML::Exception&) {
    return kleene::make_error(EINVAL, "Error! Config file " + path + " is not valid: parameter '" +
                                          key + "' must be " + expected);
  }
}

}  // namespace

std::vector<std::string> default_config_locations(const std::optional<std::string>& home) {
  std::vector<std::string> out{"klee_config.yaml"};
  if (home && !home->empty()) out.push_back(*home + "/.klee/klee_config.yaml");
  out.emplace_back("/etc/klee/klee_config.yaml");
  return out;
}

kleene::Result<ConfigFile> parse_config_file(const std::string& path, const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return kleene::make_error(EINVAL, "Error! Could not parse config at " + path + ": " + e.msg);
  }
  ConfigFile file{.path = path};
  if (root.IsNull()) return file;  // an empty file configures nothing
  if (!root.IsMap()) {
    return kleene::make_error(
        EINVAL, "Error! Config file " + path + " is not valid: expected a mapping of parameters");
  }
  for (const auto& entry : root) {
    const auto key = entry.first.as<std::string>();
    const auto& value = entry.second;
    if (key == "host") {
      file.host = TRY(scalar<std::string>(path, key, value, "a string"));
    } else if (key == "tlsverify") {
      file.tlsverify = TRY(scalar<bool>(path, key, value, "true or false"));
    } else if (key == "tlscert") {
      file.tlscert = TRY(scalar<std::string>(path, key, value, "a string"));
    } else if (key == "tlskey") {
      file.tlskey = TRY(scalar<std::string>(path, key, value, "a string"));
    } else if (key == "tlscacert") {
      file.tlscacert = TRY(scalar<std::string>(path, key, value, "a string"));
    } else if (key == "theme") {
      file.theme = TRY(scalar<std::string>(path, key, value, "a string"));
    } else {
      // Kleene's message, word for word.
      return kleene::make_error(EINVAL, "Error! Config file " + path +
                                            " is not valid: parameter name '" + key + "' unknown");
    }
  }
  return file;
}

kleene::Result<std::optional<ConfigFile>> load_config_file(
    const std::optional<std::string>& explicit_path, const std::vector<std::string>& search) {
  if (explicit_path) {
    auto text = read_file(*explicit_path);
    if (!text) {
      return kleene::make_error(
          text.error().code,
          "Error! Could not read config file " + *explicit_path + ": " + text.error().message);
    }
    return TRY(parse_config_file(*explicit_path, *text));
  }
  for (const auto& path : search) {
    auto text = read_file(path);
    if (!text) {
      if (text.error().code == ENOENT || text.error().code == ENOTDIR) continue;
      return kleene::make_error(text.error().code, "Error! Could not read config file " + path +
                                                       ": " + text.error().message);
    }
    return TRY(parse_config_file(path, *text));
  }
  return std::optional<ConfigFile>{};
}

}  // namespace klee

#include "config/yaml_json.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <string>

namespace kleene::config {
namespace {

nlohmann::json scalar_to_json(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted
  if (text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  int64_t integer = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), integer);
  if (!text.empty() && ec == std::errc() && end == text.data() + text.size()) return integer;
  if (!text.empty() && text.find_first_of("0123456789") != std::string::npos) {
    char* stop = nullptr;
    const double real = std::strtod(text.c_str(), &stop);
    if (stop == text.c_str() + text.size()) return real;
  }
  return text;
}

struct Budget {
  std::size_t values = 0;
  std::size_t bytes = 0;
};

Result<nlohmann::json> convert(const YAML::Node& node, std::size_t depth, Budget& budget) {
  if (depth > kMaxYamlDepth) {
    return make_error(EINVAL, "nested deeper than " + std::to_string(kMaxYamlDepth) +
                                  " levels (a recursive alias?)");
  }
  if (++budget.values > kMaxYamlValues) {
    return make_error(EINVAL, "more than " + std::to_string(kMaxYamlValues) +
                                  " values once aliases are expanded");
  }
  if (node.IsScalar() && (budget.bytes += node.Scalar().size()) > kMaxYamlBytes) {
    return make_error(EINVAL, "more than " + std::to_string(kMaxYamlBytes >> 20) +
                                  " MiB of text once aliases are expanded");
  }
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return scalar_to_json(node);
    case YAML::NodeType::Sequence: {
      nlohmann::json array = nlohmann::json::array();
      for (const auto& item : node)
        array.push_back(TRY(convert(item, depth + 1, budget)));
      return array;
    }
    case YAML::NodeType::Map: {
      nlohmann::json object = nlohmann::json::object();
      for (const auto& item : node)
        object[item.first.as<std::string>()] = TRY(convert(item.second, depth + 1, budget));
      return object;
    }
    default:
      return nullptr;
  }
}

}  // namespace

Result<nlohmann::json> yaml_to_json(const YAML::Node& node) {
  Budget budget;
  return convert(node, 0, budget);
}

}  // namespace kleene::config

#include "api/http.hpp"

namespace kleene::api {
namespace {

std::optional<std::string> lookup(const StringMap& map, std::string_view key) {
  auto it = map.find(key);
  if (it == map.end()) return std::nullopt;
  return it->second;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> Request::param(std::string_view name) const {
  return lookup(params, name);
}
std::optional<std::string> Request::query_param(std::string_view name) const {
  return lookup(query, name);
}
std::optional<std::string> Request::header(std::string_view lower_case_name) const {
  return lookup(headers, lower_case_name);
}
bool Request::query_flag(std::string_view name) const {
  auto value = query_param(name);
  return value && (*value == "true" || *value == "1");
}

Response Response::json(unsigned status, const nlohmann::json& body) {
  Response response;
  response.status = status;
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

Response Response::message(unsigned status, std::string_view message) {
  return json(status, nlohmann::json{{"message", message}});
}

Response Response::text(unsigned status, std::string body) {
  Response response;
  response.status = status;
  response.content_type = "text/plain";
  response.body = std::move(body);
  return response;
}

Response Response::no_content() {
  Response response;
  response.status = 204;
  response.content_type.clear();
  return response;
}

Response Response::invalid(std::string_view pointer, std::string_view message) {
  nlohmann::json error = {
      {"title", "Invalid value"}, {"source", {{"pointer", pointer}}}, {"message", message}};
  return json(422, nlohmann::json{{"errors", nlohmann::json::array({error})}});
}

Response Response::not_found() {
  return text(404, "not found");
}

Response Response::not_implemented() {
  return message(501, "not implemented yet");
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int high = hex_value(text[i + 1]), low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

StringMap parse_query(std::string_view query) {
  StringMap result;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    result[percent_decode(name, true)] = percent_decode(value, true);
  }
  return result;
}

}  // namespace kleene::api

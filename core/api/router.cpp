#include "api/router.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "util/json_body.hpp"

namespace kleene::api {
namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) segments.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return segments;
}

bool is_param(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool matches(const Router::Route& route, const std::vector<std::string>& segments,
             StringMap& params) {
  if (route.segments.size() != segments.size()) return false;
  StringMap found;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string& expected = route.segments[i];
    if (is_param(expected))
      found[expected.substr(1, expected.size() - 2)] = segments[i];
    else if (expected != segments[i])
      return false;
  }
  params = std::move(found);
  return true;
}

std::string json_type_name(const nlohmann::json& value) {
  if (value.is_null()) return "null";
  if (value.is_boolean()) return "boolean";
  if (value.is_number_integer()) return "integer";
  if (value.is_number()) return "number";
  if (value.is_string()) return "string";
  if (value.is_array()) return "array";
  return "object";
}

}  // namespace

void Router::add(std::string method, std::string_view path_template, Handler handler,
                 RouteOptions options) {
  auto route = std::make_unique<Route>();
  route->method = std::move(method);
  route->segments = split_path(path_template);
  for (const auto& segment : route->segments)
    route->literal_count += is_param(segment) ? 0 : 1;
  route->handler = std::move(handler);
  route->options = options;
  routes_.push_back(std::move(route));
}

void Router::get(std::string_view path, Handler handler, RouteOptions options) {
  add("GET", path, std::move(handler), options);
}
void Router::post(std::string_view path, Handler handler, RouteOptions options) {
  add("POST", path, std::move(handler), options);
}
void Router::del(std::string_view path, Handler handler, RouteOptions options) {
  add("DELETE", path, std::move(handler), options);
}

void Router::websocket(std::string_view path, WsHandler handler) {
  add("GET", path, nullptr, {});
  routes_.back()->ws_handler = std::move(handler);
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  const auto segments = split_path(path);
  Match best;
  for (const auto& route : routes_) {
    StringMap params;
    if (!matches(*route, segments, params)) continue;
    if (route->method != method) {
      if (best.outcome == Outcome::not_found) best.outcome = Outcome::method_not_allowed;
      continue;
    }
    if (best.route == nullptr || route->literal_count > best.route->literal_count) {
      best.outcome = Outcome::found;
      best.route = route.get();
      best.params = std::move(params);
    }
  }
  return best;
}

std::optional<Response> parse_json_body(Request& request) {
  if (request.raw_body.empty()) return std::nullopt;
  // Other content types (e.g. a tar build context later) are left to their handler.
  const auto type = request.header("content-type");
  if (type && type->find("json") == std::string::npos) return std::nullopt;
  // Every nlohmann exception (a number no double holds, {"cmd":[1e400]}, escaped before and
  // ended kleened: found by fuzz_api_bodies) and nesting beyond kMaxJsonDepth are a 422.
  auto body = util::parse_json_bounded(request.raw_body);
  if (!body) return Response::invalid("/", "malformed JSON: " + body.error());
  request.body = std::move(*body);
  return std::nullopt;
}

Response Router::handle(Request& request) const {
  Match found = match(request.method, request.path);
  if (found.outcome == Outcome::not_found) return Response::not_found();
  if (found.outcome == Outcome::method_not_allowed)
    return Response::message(405, "method not allowed");
  if (found.route->ws_handler)
    return Response::message(400, "this endpoint requires a websocket upgrade");
  request.params = std::move(found.params);
  // Nothing a request holds may end kleened: every exception becomes a 500.
  try {
    if (auto error = parse_json_body(request)) return *error;
    if (found.route->options.json_object_body && !request.body.is_object())
      return Response::invalid("/", "Invalid object. Got: " + json_type_name(request.body));
    return found.route->handler(request);
  } catch (const std::exception& e) {
    spdlog::error("{} {}: handler failed: {}", request.method, request.target, e.what());
    return Response::message(500, std::string("internal error: ") + e.what());
  }
}

}  // namespace kleene::api

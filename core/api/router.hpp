// Method + path template ("/containers/{container_id}/stop") -> handler. Beast-free.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.hpp"

namespace kleene::api {

class WsSession;

// Handlers run on a handler thread (never an I/O thread), so they may block.
using Handler = std::function<Response(const Request&)>;
// A WebSocket handler owns its thread for the life of the connection; see websocket.hpp.
using WsHandler = std::function<void(WsSession&, const Request&)>;

struct RouteOptions {
  // The body must be a JSON object (Kleene's POST routes with a request body schema);
  // anything else is answered 422 before the handler runs.
  bool json_object_body = false;
};

class Router {
 public:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{name}" marks a parameter
    std::size_t literal_count = 0;
    Handler handler;
    WsHandler ws_handler;  // set for WebSocket routes (method GET)
    RouteOptions options;
  };

  enum class Outcome { found, method_not_allowed, not_found };
  struct Match {
    Outcome outcome = Outcome::not_found;
    const Route* route = nullptr;
    StringMap params;
  };

  void add(std::string method, std::string_view path_template, Handler handler,
           RouteOptions options = {});
  void get(std::string_view path, Handler handler, RouteOptions options = {});
  void post(std::string_view path, Handler handler, RouteOptions options = {});
  void del(std::string_view path, Handler handler, RouteOptions options = {});
  void websocket(std::string_view path, WsHandler handler);

  // The most specific template (most literal segments) wins; a path that matches only
  // routes of other methods is method_not_allowed. `path` is already decoded.
  Match match(std::string_view method, std::string_view path) const;

  // Route, validate the body and run an HTTP handler: 404/405/422/500 per Kleene's conventions.
  // `request.path`, `raw_body` and `headers` must be set; params and body are filled in.
  // A WebSocket route reached without an upgrade is answered 400.
  Response handle(Request& request) const;

  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  std::vector<std::unique_ptr<Route>> routes_;
};

// Fill request.body from raw_body when it is JSON; on malformed JSON return the 422 response.
std::optional<Response> parse_json_body(Request& request);

}  // namespace kleene::api

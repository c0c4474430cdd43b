// Fuzzes the request bodies of kleened's HTTP routes with the parsers the handlers call first,
// and the router in front of them (core/api/router.hpp, http.hpp): a route table with Kleene's
// templates whose handlers run those parsers, Router::handle (JSON body, 404/405/422), the
// decoding of the target (percent_decode, parse_query).
//
// Input: byte 0 picks the endpoint, the rest is its body:
//   0 POST /containers/create and /containers/{id}/update  container::parse_config, check_name,
//                                                          check_mounts
//   1 POST /exec/create                                    container::parse_exec_config
//   2 POST /networks/create                                network::parse_network_config,
//                                                          check_network_config
//   3 POST /networks/{id}/connect                          network::parse_endpoint_config
//   4 POST /volumes/create                                 the "name" field, is_valid_volume_name
//   5 POST /images/{id}/tag?nametag=                       parse_query, image::parse_nametag
//   6+ the router: "METHOD TARGET\nContent-Type\nBODY" through Router::handle
// (The WebSocket configs, /images/create and /images/build, are fuzz_ws_config's.)
//
// Invariants, on top of ASan/UBSan (and no uncaught exception):
//   - a refused body names a field by JSON pointer and says why;
//   - an accepted ExecConfig has a container_id and only strings in cmd and env;
//   - an accepted volume name is 1..N characters of [A-Za-z0-9_.-] starting with a letter or
//     digit (never '/', "." or "..");
//   - the router answers 404, 405, 400 (a WebSocket route), 422 (malformed JSON) or runs the
//     handler; every answer but the plain 404 is a JSON body; a handler never sees a raw body
//     that is JSON but a body that is not its parse;
//   - parse_query and percent_decode never produce more bytes than they were given.
#include <cctype>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/http.hpp"
#include "api/router.hpp"
#include "container/container.hpp"
#include "container/exec.hpp"
#include "fuzz_check.hpp"
#include "image/image.hpp"
#include "network/config.hpp"
#include "volume/volume.hpp"

namespace api = kleene::api;
namespace c = kleene::container;
namespace net = kleene::network;

namespace {

void check_error(const kleene::util::BodyError& error) {
  KLEENE_FUZZ_CHECK(error.pointer.starts_with('/') && !error.message.empty(),
                    error.pointer + ": " + error.message);
}

void container_body(const nlohmann::json& body) {
  auto config = c::parse_config(body);
  if (!config) return check_error(config.error());
  if (config->name) (void)c::check_name(*config->name);
  if (config->mounts) {
    auto mounts = *config->mounts;
    (void)c::check_mounts(mounts);
  }
}

void exec_body(const nlohmann::json& body) {
  auto config = c::parse_exec_config(body);
  if (!config) return check_error(config.error());
  KLEENE_FUZZ_CHECK(body.is_object() && body.contains("container_id"), body.dump());
  if (body["container_id"].is_string())
    KLEENE_FUZZ_CHECK(config->container_id == body["container_id"].get<std::string>(),
                      config->container_id);
}

void network_body(const nlohmann::json& body) {
  auto config = net::parse_network_config(body);
  if (!config) return check_error(config.error());
  auto checked = *config;
  (void)net::check_network_config(checked);
}

void endpoint_body(const nlohmann::json& body) {
  auto config = net::parse_endpoint_config(body);
  if (!config) return check_error(config.error());
}

void volume_body(const nlohmann::json& body) {
  const auto it = body.find("name");
  if (it == body.end() || !it->is_string()) return;
  const std::string name = it->get<std::string>();
  if (!kleene::volume::is_valid_volume_name(name)) return;
  KLEENE_FUZZ_CHECK(!name.empty() && std::isalnum(static_cast<unsigned char>(name.front())) != 0,
                    name);
  for (const char ch : name)
    KLEENE_FUZZ_CHECK(
        std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_' || ch == '.' || ch == '-',
        name);
}

void tag_query(std::string_view query) {
  const auto params = api::parse_query(query);
  for (const auto& [name, value] : params)
    KLEENE_FUZZ_CHECK(name.size() <= query.size() && value.size() <= query.size(), name);
  if (const auto it = params.find("nametag"); it != params.end())
    (void)kleene::image::parse_nametag(it->second);
}

// Kleene's templates; each handler runs its route's body parser, as the real ones do first.
const api::Router& router() {
  static const api::Router table = [] {
    api::Router r;
    const auto with = [](void (*parse)(const nlohmann::json&)) {
      return [parse](const api::Request& request) {
        // The handler sees the parsed body (null without one), never a stale one.
        if (!request.raw_body.empty()) {
          const auto again = nlohmann::json::parse(request.raw_body, nullptr, false);
          const auto type = request.header("content-type");
          if (!type || type->find("json") != std::string::npos)
            KLEENE_FUZZ_CHECK(!again.is_discarded() && again == request.body, request.raw_body);
        }
        parse(request.body);
        return api::Response::json(200, nlohmann::json::object());
      };
    };
    r.post("/containers/create", with(container_body));
    r.post("/containers/{container_id}/update", with(container_body));
    r.get("/containers/{container_id}/inspect", with(container_body));
    r.del("/containers/{container_id}", with(container_body));
    r.post("/exec/create", with(exec_body));
    r.post("/networks/create", with(network_body));
    r.post("/networks/{network_id}/connect", with(endpoint_body));
    r.post("/volumes/create", with(volume_body));
    r.post("/images/{image_id}/tag", with([](const nlohmann::json&) {}));
    r.websocket("/images/build", [](api::WsSession&, const api::Request&) {});
    return r;
  }();
  return table;
}

void route(std::string_view text) {
  const auto first = text.find('\n');
  const std::string_view line = text.substr(0, first);
  std::string_view rest = first == std::string_view::npos ? "" : text.substr(first + 1);
  const auto second = rest.find('\n');
  const std::string_view content_type = rest.substr(0, second);
  const std::string_view body = second == std::string_view::npos ? "" : rest.substr(second + 1);

  api::Request request;
  const auto space = line.find(' ');
  request.method = std::string(line.substr(0, space));
  request.target = space == std::string_view::npos ? "" : std::string(line.substr(space + 1));
  const auto question = request.target.find('?');
  request.path = api::percent_decode(std::string_view(request.target).substr(0, question), false);
  KLEENE_FUZZ_CHECK(request.path.size() <= request.target.size(), request.target);
  if (question != std::string::npos)
    request.query = api::parse_query(std::string_view(request.target).substr(question + 1));
  if (!content_type.empty()) request.headers["content-type"] = std::string(content_type);
  request.raw_body = std::string(body);

  const auto response = router().handle(request);
  const unsigned s = response.status;
  KLEENE_FUZZ_CHECK(s == 200 || s == 400 || s == 404 || s == 405 || s == 422,
                    std::to_string(s) + " " + response.body);
  if (s == 404) return;  // text "not found"
  const auto json = nlohmann::json::parse(response.body, nullptr, false);
  KLEENE_FUZZ_CHECK(json.is_object(), response.body);
  if (s == 422) KLEENE_FUZZ_CHECK(json.contains("errors"), response.body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int endpoint = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (endpoint >= 6) {
    route(text);
    return 0;
  }
  if (endpoint == 5) {
    tag_query(text);
    return 0;
  }
  const auto body = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return 0;  // the router's 422, covered by endpoint 6+
  switch (endpoint) {
    case 0:
      container_body(body);
      break;
    case 1:
      exec_body(body);
      break;
    case 2:
      network_body(body);
      break;
    case 3:
      endpoint_body(body);
      break;
    default:
      volume_body(body);
      break;
  }
  return 0;
}

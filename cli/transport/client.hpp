// The face of the transport that commands use: HTTP calls and WebSocket sessions to the
// kleened named by the settings.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "options/settings.hpp"
#include "transport/endpoint.hpp"
#include "transport/http_client.hpp"
#include "transport/ws_client.hpp"

namespace klee {

namespace transport {
class WsConnection;
}

class Client {
 public:
  explicit Client(Settings settings);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  [[nodiscard]] kleene::Result<HttpResponse> request(HttpRequest request) const;
  [[nodiscard]] kleene::Result<HttpResponse> get(std::string target) const;
  [[nodiscard]] kleene::Result<HttpResponse> post(std::string target,
                                                  const nlohmann::json& body) const;
  [[nodiscard]] kleene::Result<HttpResponse> del(std::string target) const;

  // Kleene's WebSocket protocol on `target` (e.g. "/exec/start") with `config` as first frame.
  [[nodiscard]] kleene::Result<WsResult> websocket(std::string_view target,
                                                   const nlohmann::json& config,
                                                   WsHandlers handlers = {}) const;

  // The connection a request with keep_connection left open (the server willing), for a
  // WebSocket session to upgrade; else a new one, connected on first use. Requests and websocket()
  // use the kept one themselves.
  [[nodiscard]] kleene::Result<std::unique_ptr<transport::WsConnection>> connection() const;

  [[nodiscard]] const Settings& settings() const { return settings_; }

 private:
  kleene::Result<Endpoint> endpoint() const;

  Settings settings_;
  mutable std::optional<Endpoint> endpoint_;  // built on first use: --help needs no TLS files
  // Open, with nothing pending: what the last request with keep_connection left.
  mutable std::unique_ptr<transport::WsConnection> kept_;
};

}  // namespace klee

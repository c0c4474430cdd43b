// A tiny kleened stand-in for the client tests: HTTP routes and scripted WebSocket sessions
// on a unix socket or 127.0.0.1:0, plain or TLS (optionally requiring client certificates).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace klee::test {

struct ServerOptions {
  bool tls = false;
  std::string cert, key;
  std::string client_ca;  // non-empty: client certificates signed by it are required
};

struct Recorded {
  std::string method, target, body, host, content_type;
  std::string ws_config;  // the first frame of the last WebSocket session
};

// Routes: GET /version, GET /plugins/list, GET /fail (500 message), POST /echo (201 body),
// /invalid (422 errors), anything else 404 "not found". WebSockets: /ws/ok (starting,
// "hello ", "wörld\n", Close 1000), /ws/invalid (Close 1002), /ws/echo (starting, echoes
// one frame, Close 1000), /ws/drop (starting, then the connection is cut without a Close).
class TestServer {
 public:
  static std::unique_ptr<TestServer> on_unix_socket(const std::string& path,
                                                    ServerOptions options = {});
  static std::unique_ptr<TestServer> on_tcp(ServerOptions options = {});
  virtual ~TestServer() = default;

  // The --host value that reaches this server.
  [[nodiscard]] virtual std::string url() const = 0;
  [[nodiscard]] virtual Recorded last() const = 0;
};

}  // namespace klee::test

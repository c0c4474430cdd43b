// A tiny kleened stand-in for the client tests: HTTP routes and scripted WebSocket sessions
// on a unix socket or 127.0.0.1:0, plain or TLS (optionally requiring client certificates).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace klee::test {

struct ServerOptions {
  bool tls = false;
  std::string cert, key;
  std::string client_ca;  // non-empty: client certificates signed by it are required
};

struct Recorded {
  std::string method, target, body, host, content_type;
  std::string ws_config;               // the first frame of the last WebSocket session
  std::vector<std::string> ws_frames;  // the frames the client sent after it (/exec/start)
  std::vector<std::string> targets;    // every request target, in order
  int connections = 0;                 // accepted
};

// Routes: GET /version, GET /plugins/list, GET /fail (500 message), POST /echo (201 body),
// /invalid (422 errors), anything else 404 "not found". WebSockets: /ws/ok (starting,
// "hello ", "wörld\n", Close 1000), /ws/invalid (Close 1002), /ws/echo (starting, echoes
// one frame, Close 1000), /ws/drop (starting, then the connection is cut without a Close).
// A fake container API: POST /containers/create (201 id c0ffee000001, or 404 for the image
// "nothere", or for the image "taken" 409 "already in use" unless the name has a digit), POST
// /networks/connect (204), POST /exec/create (201 id e0000000001, 404 for the container "nothere"),
// GET /containers/list (two containers), POST /containers/{id}/stop|update and DELETE
// /containers/{id} (the id back, 404 for "nothere"), POST /exec/{id}/stop, and the WebSocket
// /exec/start: with attach=false Close 1001; else starting, "hello\n", each stdin frame's bytes
// echoed, and at the end-of-stdin frame Close 1000 "executable e0000000001 and its container exited
// with exit-code 3". A fake network API: POST /networks/create (201 id a1b2c3d4e5f6; the name
// "taken" 409, "boom" 500), GET /networks/list (westnet, loop), GET /networks/{id}/inspect, DELETE
// /networks/{id} (the id back), POST /networks/prune (["0f9e8d7c6b5a"]), POST
// /networks/{id}/disconnect/{container} (204), and POST /networks/connect answering 404
// "network not found" for "nothere" and 409 for the network "full"; any other "nothere" in a
// /networks/ target is 404 "network not found".
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

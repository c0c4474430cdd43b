// One HTTP/1.1 request to kleened per connection (unix socket, TCP, TLS).
#pragma once

#include <chrono>
#include <string>

#include <boost/beast/http/verb.hpp>
#include <nlohmann/json.hpp>

#include "transport/endpoint.hpp"
#include "util/error.hpp"

namespace klee {

struct HttpRequest {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string target;  // path and query, e.g. "/containers/list?all=true"
  std::string body;
  std::string content_type = "application/json";
  std::chrono::milliseconds timeout{120'000};  // for sending and receiving, after connecting
  // Keep the connection for the client's next request or WebSocket session (Client): a command
  // that sends several in a row (run: create, exec create, exec start) connects once.
  bool keep_connection = false;
};

struct HttpResponse {
  unsigned status = 0;
  std::string content_type;
  std::string body;

  [[nodiscard]] bool ok() const { return status >= 200 && status < 300; }
  // The body as JSON; an error names the status and the parser's complaint.
  [[nodiscard]] kleene::Result<nlohmann::json> json() const;
  // What to tell the user about a failed request: the server's `message`, the entries of a
  // 422 `errors` list ("/pointer: message"), or the plain-text body.
  [[nodiscard]] std::string error_message() const;
};

// Transport failures are errors (see Endpoint for how to print them); any HTTP status,
// including 4xx/5xx, is a response.
[[nodiscard]] kleene::Result<HttpResponse> http_request(const Endpoint& endpoint,
                                                        const HttpRequest& request);

}  // namespace klee

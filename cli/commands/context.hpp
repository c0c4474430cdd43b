// What a command gets when it runs: the settings, a client for kleened, and output helpers.
#pragma once

#include <expected>
#include <initializer_list>
#include <ostream>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "output/table.hpp"
#include "transport/client.hpp"

namespace klee {

// A command step's outcome: the value, or the exit code after the error has been printed.
template <typename T>
using Outcome = std::expected<T, int>;

struct Context {
  const Settings& settings;
  const Client& client;
  std::ostream& out;
  std::ostream& err;
  bool color = false;        // fancy theme on a colour terminal
  std::string command_path;  // "klee plugin ls", for messages

  void print_table(std::span<const Column> columns, std::span<const Row> rows) const;
  void print_json(const nlohmann::json& value) const;

  // Prints `error` (its message is complete) to stderr; returns exit code 1.
  int fail(const kleene::Error& error) const;
  // Prints the server's message of a failed response to stderr; returns exit code 1.
  int fail(const HttpResponse& response) const;

  // Sends the request; a transport error or a status outside `expected` is printed and
  // becomes exit code 1. The response of an expected status is returned as it is.
  Outcome<HttpResponse> call(HttpRequest request,
                             std::initializer_list<unsigned> expected = {200, 201, 204}) const;
  // Kleene's WebSocket protocol on `target`. Output frames go to `out` (flushed per frame)
  // unless `handlers.on_output` is set; `out` is flushed first so earlier lines come first.
  // A transport error is printed and becomes exit code 1; any Close is a result, and the
  // command decides what its code and reason mean (see WsResult).
  Outcome<WsResult> websocket(std::string_view target, const nlohmann::json& config,
                              WsHandlers handlers = {}) const;

  // call(), then the body as JSON.
  Outcome<nlohmann::json> call_json(HttpRequest request,
                                    std::initializer_list<unsigned> expected = {200, 201}) const;
};

}  // namespace klee

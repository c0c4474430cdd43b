#include "commands/context.hpp"

#include <algorithm>

#include "output/json.hpp"

namespace klee {

void Context::print_table(std::span<const Column> columns, std::span<const Row> rows) const {
  out << render_table(columns, rows, settings.theme, color) << std::flush;
}

void Context::print_json(const nlohmann::json& value) const {
  out << pretty_json(value, settings.theme, color) << std::flush;
}

int Context::fail(const kleene::Error& error) const {
  err << error.message << std::endl;
  return 1;
}

int Context::fail(const HttpResponse& response) const {
  err << response.error_message() << std::endl;
  return 1;
}

Outcome<HttpResponse> Context::call(HttpRequest request,
                                    std::initializer_list<unsigned> expected) const {
  auto response = client.request(std::move(request));
  if (!response) return std::unexpected(fail(response.error()));
  if (std::ranges::find(expected, response->status) == expected.end()) {
    return std::unexpected(fail(*response));
  }
  return std::move(*response);
}

Outcome<nlohmann::json> Context::call_json(HttpRequest request,
                                           std::initializer_list<unsigned> expected) const {
  auto response = call(std::move(request), expected);
  if (!response) return std::unexpected(response.error());
  auto body = response->json();
  if (!body) return std::unexpected(fail(body.error()));
  return std::move(*body);
}

Outcome<WsResult> Context::websocket(std::string_view target, const nlohmann::json& config,
                                     WsHandlers handlers) const {
  out << std::flush;
  if (!handlers.on_output) {
    handlers.on_output = [this](std::string_view data) {
      out.write(data.data(), static_cast<std::streamsize>(data.size()));
      out.flush();
    };
  }
  auto result = client.websocket(target, config, std::move(handlers));
  if (!result) return std::unexpected(fail(result.error()));
  return std::move(*result);
}

}  // namespace klee

#include "api/dispatch.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>

namespace kleene::api::detail {

Request to_request(BeastRequest&& request, const std::string& listener) {
  Request out;
  out.method = std::string(request.method_string());
  out.target = std::string(request.target());
  const std::string_view target = out.target;
  const auto question = target.find('?');
  out.path = percent_decode(target.substr(0, question), false);
  if (question != std::string_view::npos) out.query = parse_query(target.substr(question + 1));
  for (const auto& field : request) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.headers[name] = std::string(field.value());
  }
  out.raw_body = std::move(request.body());
  out.listener = listener;
  return out;
}

BeastResponse to_beast(Response&& response, unsigned version, bool keep_alive) {
  BeastResponse out{static_cast<http::status>(response.status), version};
  out.set(http::field::server, "kleened");
  if (!response.content_type.empty()) out.set(http::field::content_type, response.content_type);
  for (auto& [name, value] : response.headers)
    out.set(name, value);
  out.body() = std::move(response.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

BeastResponse dispatch(const Router& router, BeastRequest&& request, const std::string& listener) {
  const auto begin = std::chrono::steady_clock::now();
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  Request api_request = to_request(std::move(request), listener);
  Response response = router.handle(api_request);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - begin)
                          .count();
  spdlog::debug("{} {} {} -> {} ({} us)", listener, api_request.method, api_request.target,
                response.status, micros);
  return to_beast(std::move(response), version, keep_alive);
}

}  // namespace kleene::api::detail

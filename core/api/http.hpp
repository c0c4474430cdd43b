// Requests and responses as handlers see them: no Beast types, so handler files stay light.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace kleene::api {

using StringMap = std::map<std::string, std::string, std::less<>>;

struct Request {
  std::string method;    // "GET", "POST", ...
  std::string target;    // as sent: "/containers/list?all=true"
  std::string path;      // percent-decoded path without the query
  StringMap params;      // {param} path segments, decoded
  StringMap query;       // decoded query parameters (the last of repeated names wins)
  StringMap headers;     // names in lower case
  std::string raw_body;  // as received
  nlohmann::json body;   // parsed JSON body; null when there was none
  std::string listener;  // the socket that received it, e.g. "http:///var/run/kleened.sock"

  // The value, or nullopt.
  std::optional<std::string> param(std::string_view name) const;
  std::optional<std::string> query_param(std::string_view name) const;
  std::optional<std::string> header(std::string_view lower_case_name) const;
  // Kleene's boolean query parameters: "true"/"1" are true; anything else (or absent) false.
  bool query_flag(std::string_view name) const;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  static Response json(unsigned status, const nlohmann::json& body);
  // Kleene's ErrorResponse: {"message": "..."}.
  static Response message(unsigned status, std::string_view message);
  static Response text(unsigned status, std::string body);
  static Response no_content();
  // OpenApiSpex's 422 shape for a request that failed validation at `pointer` (e.g. "/name").
  static Response invalid(std::string_view pointer, std::string_view message);
  static Response not_found();        // 404 text/plain "not found"
  static Response not_implemented();  // 501 {"message":"not implemented yet"}
};

// Decode %XX (and '+' as space when `plus_is_space`); invalid escapes stay as they are.
std::string percent_decode(std::string_view text, bool plus_is_space);
StringMap parse_query(std::string_view query);

}  // namespace kleene::api

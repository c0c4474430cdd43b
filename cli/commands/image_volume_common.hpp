// What the image, volume and container commands share: Kleene's prune confirmation and request,
// id lists, removal of several objects one by one, "created" ages and URL-safe identifiers.
// Internal to klee.
#pragma once

#include <cctype>
#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/verb.hpp>
#include <nlohmann/json.hpp>

#include "commands/context.hpp"
#include "transport/endpoint.hpp"
#include "util/duration.hpp"
#include "util/time.hpp"

namespace klee {

// A path segment or query value with everything but RFC 3986 unreserved characters escaped.
inline std::string url_escape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

// Kleene's "CREATED" cell: "<human duration> ago"; an unreadable timestamp is shown as it is.
inline std::string created_ago(const nlohmann::json& object) {
  auto it = object.find("created");
  if (it == object.end() || !it->is_string()) return {};
  auto when = kleene::parse_iso8601(it->get<std::string>());
  return when ? kleene::time_ago(*when) : it->get<std::string>();
}

inline std::string string_field(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Click's confirm(abort=True) as Kleene's prune commands use it: the prompt on stdout, "y" or
// "yes" goes on, "n", "no" or an empty answer declines, anything else asks again. Declining or
// end of input prints "Aborted!" on stderr: the command then exits 1. Answers are trimmed.
inline bool confirm(const Context& ctx, std::string_view warning, std::istream& in = std::cin) {
  ctx.out << warning << "\n";
  for (;;) {
    ctx.out << "Are you sure you want to continue? [y/N]: " << std::flush;
    std::string answer;
    if (!std::getline(in, answer)) break;  // Click adds no newline here either
    for (auto& ch : answer)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    const auto first = answer.find_first_not_of(" \t\r");
    answer = first == std::string::npos
                 ? std::string()
                 : answer.substr(first, answer.find_last_not_of(" \t\r") - first + 1);
    if (answer == "y" || answer == "yes") return true;
    if (answer.empty() || answer == "n" || answer == "no") break;
    ctx.out << "Error: invalid input" << std::endl;  // Click echoes it on stdout
  }
  ctx.err << "Aborted!" << std::endl;
  return false;
}

// Kleene's print_id_list: the ids, one a line.
inline void print_id_list(const Context& ctx, const nlohmann::json& ids) {
  std::string text;
  for (const auto& id : ids) {
    if (!text.empty()) text += "\n";
    if (id.is_string()) text += id.get<std::string>();
  }
  ctx.out << text << "\n" << std::flush;
}

// Kleene's prune commands: the confirmation with `warning` (unless forced), then POST target
// and its answer, the removed ids, one a line. Exit code 1 when declined or on errors (printed).
inline int prune(const Context& ctx, bool force, std::string_view warning,
                 const std::string& target) {
  if (!force && !confirm(ctx, warning)) return 1;
  auto ids = ctx.call_json({.method = boost::beast::http::verb::post, .target = target}, {200});
  if (!ids) return ids.error();
  if (!ids->is_array()) {
    return ctx.fail(
        kleene::Error{kProtocolError, "Error! Unexpected response received from Kleened."});
  }
  print_id_list(ctx, *ids);
  return 0;
}

// An IdResponse's id, printed; exit code 0, or 1 when the answer is not one.
inline int print_id(const Context& ctx, const nlohmann::json& body) {
  if (!body.is_object() || !body.contains("id") || !body["id"].is_string()) {
    return ctx.fail(
        kleene::Error{kProtocolError, "Error! Unexpected response received from Kleened."});
  }
  ctx.out << body["id"].get<std::string>() << "\n" << std::flush;
  return 0;
}

// DELETE <prefix><id> for each identifier in turn, printing each removed id; the first failure
// is printed and ends the command (Kleene's klee stops there too).
inline int remove_each(const Context& ctx, const std::string& prefix,
                       const std::vector<std::string>& idents) {
  for (const auto& ident : idents) {
    auto body = ctx.call_json(
        {.method = boost::beast::http::verb::delete_, .target = prefix + url_escape(ident)}, {200});
    if (!body) return body.error();
    if (int rc = print_id(ctx, *body); rc != 0) return rc;
  }
  return 0;
}

// GET target and print the JSON answer (Kleene's inspect commands).
// `klee <kind> ls`: GET `target` (a JSON array) and print one table row per element.
inline int list_table(const Context& ctx, const std::string& target,
                      const std::vector<Column>& columns,
                      const std::function<Row(const nlohmann::json&)>& row) {
  auto items = ctx.call_json({.target = target}, {200});
  if (!items) return items.error();
  if (!items->is_array()) {
    return ctx.fail(
        kleene::Error{kProtocolError, "Error! Unexpected response received from Kleened."});
  }
  std::vector<Row> rows;
  for (const auto& item : *items)
    rows.push_back(row(item));
  ctx.print_table(columns, rows);
  return 0;
}

inline int inspect(const Context& ctx, const std::string& target) {
  auto body = ctx.call_json({.target = target}, {200});
  if (!body) return body.error();
  ctx.print_json(*body);
  return 0;
}

}  // namespace klee

// Guards shared by the routes that need the metadata store and the storage backend (images,
// volumes): Kleene's 500 answers when either is missing. Internal to core/api.
#pragma once

#include <optional>
#include <string>

#include "api/context.hpp"
#include "api/http.hpp"

namespace kleene::api {

// nullopt when both the store and storage are there; else the 500 to answer.
inline std::optional<Response> storage_not_ready(const ApiContext& context) {
  if (context.store == nullptr) return Response::message(500, "metadata store is not available");
  if (context.storage != nullptr) return std::nullopt;
  const std::string reason =
      context.storage_error.empty() ? "no storage backend is loaded" : context.storage_error;
  return Response::message(500, "storage is not ready: " + reason + "; run 'kleened init'");
}

// OpenApiSpex's answer to a missing required parameter or body field.
inline Response missing_field(std::string_view name) {
  return Response::invalid("/" + std::string(name), "Missing field: " + std::string(name));
}

}  // namespace kleene::api

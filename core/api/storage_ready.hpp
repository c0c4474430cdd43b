// Guards shared by the routes that need the metadata store and the storage backend (images,
// volumes): Kleene's 500 answers when either is missing. Internal to core/api.
#pragma once

#include <expected>
#include <optional>
#include <string>

#include "api/context.hpp"
#include "api/http.hpp"

namespace kleene::api {

// The storage backend when both it and the store are there; else the 500 to answer.
inline std::expected<storage::Storage*, Response> ready_storage(const ApiContext& context) {
  if (context.store == nullptr)
    return std::unexpected(Response::message(500, "metadata store is not available"));
  if (context.storage != nullptr) {
    if (auto* storage = context.storage->get()) return storage;
  }
  std::string reason = context.storage != nullptr ? context.storage->error() : std::string();
  if (reason.empty()) reason = "no storage backend is loaded";
  if (reason == "starting")
    return std::unexpected(
        Response::message(500, "storage is not ready yet: kleened is starting it"));
  return std::unexpected(
      Response::message(500, "storage is not ready: " + reason + "; run 'kleened init'"));
}

// OpenApiSpex's answer to a missing required parameter or body field.
inline Response missing_field(std::string_view name) {
  return Response::invalid("/" + std::string(name), "Missing field: " + std::string(name));
}

}  // namespace kleene::api

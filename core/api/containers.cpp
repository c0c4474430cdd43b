// /containers/*: Kleene's container routes over the container layer (core/container).
#include <spdlog/spdlog.h>

#include "api/container_env.hpp"
#include "api/context.hpp"
#include "api/stubs.hpp"
#include "container/exec.hpp"
#include "container/service.hpp"

namespace kleene::api {

namespace {

Response create(ApiContext& context, const Request& request) {
  auto config = container::parse_config(request.body);
  if (!config) return config_failure(config.error());
  auto env = container_env(context);
  if (!env) return env.error();
  auto created =
      container::create(*(*env)->env, request.query_param("name").value_or(""), std::move(*config));
  if (!created) return container_failure(created.error());
  return Response::json(201, nlohmann::json{{"id", created->id}});
}

Response list(ApiContext& context, const Request& request) {
  auto env = container_env(context);
  if (!env) return env.error();
  auto listed = container::list(*(*env)->env, request.query_flag("all"));
  if (!listed) return container_failure(listed.error());
  return Response::json(200, *listed);
}

Response inspect(ApiContext& context, const Request& request) {
  auto env = container_env(context);
  if (!env) return env.error();
  auto found = container::inspect(*(*env)->env, request.param("container_id").value_or(""));
  if (!found) return container_failure(found.error());
  return Response::json(200, *found);
}

Response remove(ApiContext& context, const Request& request) {
  auto env = container_env(context);
  if (!env) return env.error();
  auto removed = container::remove(*(*env)->env, request.param("container_id").value_or(""));
  if (!removed) return container_failure(removed.error());
  container::executions().forget_container(*removed);
  return Response::json(200, nlohmann::json{{"id", *removed}});
}

Response stop(ApiContext& context, const Request& request) {
  auto env = container_env(context);
  if (!env) return env.error();
  auto stopped = container::stop(*(*env)->env, request.param("container_id").value_or(""));
  if (!stopped) return container_failure(stopped.error());
  container::executions().forget_container(*stopped);
  return Response::json(200, nlohmann::json{{"id", *stopped}});
}

// Kleene answers 201 {"id"}; a jail parameter that needs a restart adds "warning".
Response update(ApiContext& context, const Request& request) {
  auto config = container::parse_config(request.body);
  if (!config) return config_failure(config.error());
  auto env = container_env(context);
  if (!env) return env.error();
  auto updated =
      container::update(*(*env)->env, request.param("container_id").value_or(""), *config);
  if (!updated) return container_failure(updated.error());
  nlohmann::json body{{"id", updated->id}};
  if (!updated->warning.empty()) body["warning"] = updated->warning;
  return Response::json(201, body);
}

Response prune(ApiContext& context) {
  auto env = container_env(context);
  if (!env) return env.error();
  auto pruned = container::prune(*(*env)->env);
  if (!pruned) return container_failure(pruned.error());
  for (const auto& id : *pruned)
    container::executions().forget_container(id);
  return Response::json(200, *pruned);
}

}  // namespace

void register_container_routes(Router& router, ApiContext& context) {
  ApiContext* ctx = &context;
  router.post(
      "/containers/create", [ctx](const Request& r) { return create(*ctx, r); }, kJsonBody);
  router.get("/containers/list", [ctx](const Request& r) { return list(*ctx, r); });
  router.post("/containers/prune", [ctx](const Request&) { return prune(*ctx); });
  router.del("/containers/{container_id}", [ctx](const Request& r) { return remove(*ctx, r); });
  router.get("/containers/{container_id}/inspect",
             [ctx](const Request& r) { return inspect(*ctx, r); });
  router.post("/containers/{container_id}/stop", [ctx](const Request& r) { return stop(*ctx, r); });
  router.post(
      "/containers/{container_id}/update", [ctx](const Request& r) { return update(*ctx, r); },
      kJsonBody);
}

}  // namespace kleene::api

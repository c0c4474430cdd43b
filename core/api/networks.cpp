// /networks/*: Kleene's network routes. create/list/inspect/remove/prune are served by
// core/network/service (store rows, bridges, the firewall); connect and disconnect by
// core/container/networking (endpoints, the driver plugins' join/leave).
#include "api/container_env.hpp"
#include "api/context.hpp"
#include "api/router.hpp"
#include "api/stubs.hpp"
#include "container/networking.hpp"
#include "network/config.hpp"
#include "network/repository.hpp"
#include "network/service.hpp"

namespace kleene::api {

namespace {

namespace networking = container::networking;

constexpr std::string_view kNetworkNotFound = "network not found";

// Kleene answers every failed network change with 409 and its message; store and kernel
// failures that are not the caller's doing are 500.
Response failure(const Error& error) {
  switch (error.code) {
    case ENOENT:
      return Response::message(404, kNetworkNotFound);
    case EINVAL:
    case EEXIST:
    case EBUSY:
    case ENODEV:
    case EPERM:
      return Response::message(409, error.message);
    default:
      return Response::message(500, error.message);
  }
}

Response no_store() {
  return Response::message(500, "metadata store is not available");
}

Response create(ApiContext& context, const Request& request) {
  auto config = network::parse_network_config(request.body);
  if (!config) return Response::invalid(config.error().pointer, config.error().message);
  if (context.store == nullptr) return no_store();
  auto created = networking::service(*context.store).create(std::move(*config));
  if (!created) {
    if (created.error().code == ENOENT) return Response::message(409, created.error().message);
    return failure(created.error());
  }
  return Response::json(201, nlohmann::json{{"id", created->id}});
}

Response list(ApiContext& context) {
  if (context.store == nullptr) return no_store();
  auto networks = network::NetworkRepository(*context.store).list();
  if (!networks) return Response::message(500, networks.error().message);
  nlohmann::json body = nlohmann::json::array();
  for (const auto& n : *networks)
    body.push_back(network::to_json(n));
  return Response::json(200, body);
}

Response inspect(ApiContext& context, const Request& request) {
  if (context.store == nullptr) return no_store();
  network::NetworkRepository repo(*context.store);
  auto found = repo.resolve(request.param("network_id").value_or(""));
  if (!found) return failure(found.error());
  auto endpoints = repo.endpoints_of_network(found->id);
  if (!endpoints) return Response::message(500, endpoints.error().message);
  nlohmann::json body_endpoints = nlohmann::json::array();
  for (const auto& e : *endpoints)
    body_endpoints.push_back(network::to_json(e));
  return Response::json(200, nlohmann::json{{"network", network::to_json(*found)},
                                            {"network_endpoints", body_endpoints}});
}

Response remove(ApiContext& context, const Request& request) {
  if (context.store == nullptr) return no_store();
  const std::string id = request.param("network_id").value_or("");
  // With containers (storage ready) the network's connections go first, as in Kleene; without,
  // a network that has connections is refused.
  auto bound = container::bind(context);
  auto removed = bound ? networking::remove_network(*(*bound)->env, id)
                       : networking::service(*context.store).remove(id);
  if (!removed) return failure(removed.error());
  return Response::json(200, nlohmann::json{{"id", removed->id}});
}

Response prune(ApiContext& context) {
  if (context.store == nullptr) return no_store();
  auto pruned = networking::service(*context.store).prune();
  if (!pruned) return Response::message(500, pruned.error().message);
  return Response::json(200, *pruned);
}

// 404 for an unknown container or network, 409 for what the configuration does not allow.
Response connect_failure(const Error& error) {
  if (error.code == ENOENT) return Response::message(404, error.message);
  if (error.code == EEXIST || error.code == EINVAL || error.code == EBUSY ||
      error.code == ENOTUNIQ || error.code == ENOSPC)
    return Response::message(409, error.message);
  return Response::message(500, error.message);
}

Response connect(ApiContext& context, const Request& request) {
  auto config = network::parse_endpoint_config(request.body);
  if (!config) return Response::invalid(config.error().pointer, config.error().message);
  auto env = container_env(context);
  if (!env) return env.error();
  auto connected = networking::connect(*(*env)->env, config->container, config->network,
                                       config->ip_address, config->ip_address6);
  if (!connected) return connect_failure(connected.error());
  return Response::no_content();
}

Response disconnect(ApiContext& context, const Request& request) {
  auto env = container_env(context);
  if (!env) return env.error();
  auto done = networking::disconnect(*(*env)->env, request.param("container_id").value_or(""),
                                     request.param("network_id").value_or(""));
  if (!done) return connect_failure(done.error());
  return Response::no_content();
}

}  // namespace

void register_network_routes(Router& router, ApiContext& context) {
  ApiContext* ctx = &context;
  router.post(
      "/networks/connect", [ctx](const Request& r) { return connect(*ctx, r); }, kJsonBody);
  router.post(
      "/networks/create", [ctx](const Request& r) { return create(*ctx, r); }, kJsonBody);
  router.get("/networks/list", [ctx](const Request&) { return list(*ctx); });
  router.post("/networks/prune", [ctx](const Request&) { return prune(*ctx); });
  router.del("/networks/{network_id}", [ctx](const Request& r) { return remove(*ctx, r); });
  router.post("/networks/{network_id}/disconnect/{container_id}",
              [ctx](const Request& r) { return disconnect(*ctx, r); });
  router.get("/networks/{network_id}/inspect",
             [ctx](const Request& r) { return inspect(*ctx, r); });
}

}  // namespace kleene::api

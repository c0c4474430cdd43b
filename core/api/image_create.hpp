// WebSocket /images/create: Kleene's base-image creation (see image/create/create.hpp).
#pragma once

namespace kleene::api {

class Router;
struct ApiContext;

// Registers GET /images/create (WebSocket). Called by register_image_routes.
void register_image_create_route(Router& router, ApiContext& context);

}  // namespace kleene::api

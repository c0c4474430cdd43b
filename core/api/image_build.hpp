// WebSocket /images/build: Kleene's build protocol, and the engine operations (host service
// engine_call, ABI 1.1) through which the builder plugin drives the build. kleened itself knows
// no Dockerfile: it checks the ImageBuildConfig, sends `starting` with the new image's id, hands
// the build to the loaded builder plugin and closes the socket with the plugin's outcome.
//
// Engine operations (each request names its build with "build": the id of the `starting`
// message; docs/plugins.md, "Engine operations"):
//   emit              {data}                         -> {}     a text frame to the client
//   image_inspect     {image}                        -> {image: Kleene's Image + extras,
//                                                        snapshot: "<dataset>@<snap>"}
//   cache_lookup      {key}                          -> {image, snapshot} or {}
//   container_create  {image ("ID|NAME[:TAG][@SNAP]"), env?, user?}
//                                                    -> {id, root}  (the build's container
//                                                       config: mounts, jail parameters,
//                                                       network driver and networks)
//   exec              {container, argv, env, user, workdir} -> {exit_code}  (output streamed
//                                                       to the client unless quiet)
//   snapshot          {container}                    -> {snapshot: "@<id>"}
//   commit            {container, name, tag, image: {cmd, env, user, instructions, buildargs,
//                      entrypoint, workdir, labels, exposed_ports}, cache: [[key, "@snap"]]}
//                                                    -> {id}   the container becomes the image
//   container_remove  {container}                    -> {}
//   image_root        {image}                        -> {root}  (COPY --from=<image>)
// Containers are only those the build created. A client that leaves cancels the build: the
// running process is stopped and every further operation but container_remove fails with
// "build cancelled"; what the plugin leaves behind is removed when the build op returns.
#pragma once

namespace kleene::api {

class Router;
struct ApiContext;

void register_image_build_route(Router& router, ApiContext& context);

}  // namespace kleene::api

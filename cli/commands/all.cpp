#include "commands/all.hpp"

namespace klee {
namespace {

Registry build() {
  Registry r;
  // Groups, in Kleene's order.
  r.add(Group{.path = {"container"}, .summary = "Manage containers"});
  r.add(Group{.path = {"image"}, .summary = "Manage images"});
  r.add(Group{.path = {"network"}, .summary = "Manage networks"});
  r.add(Group{.path = {"volume"}, .summary = "Manage volumes"});
  r.add(Group{.path = {"plugin"}, .summary = "Manage plugins"});

  r.add(version_command());
  r.add(plugin_ls_command());
  r.add(image_create_command());
  r.add(image_build_command());
  r.add(image_ls_command());
  r.add(image_inspect_command());
  r.add(image_rm_command());
  r.add(image_tag_command());
  r.add(image_prune_command());
  r.add(volume_create_command());
  r.add(volume_ls_command());
  r.add(volume_inspect_command());
  r.add(volume_rm_command());
  r.add(volume_prune_command());
  r.add(container_create_command());
  r.add(container_run_command());
  r.add(container_start_command());
  r.add(container_stop_command());
  r.add(container_restart_command());
  r.add(container_rm_command());
  r.add(container_ls_command());
  r.add(container_inspect_command());
  r.add(container_exec_command());
  r.add(container_prune_command());
  r.add(container_update_command());
  r.add(container_rename_command());
  r.add(network_create_command());
  r.add(network_ls_command());
  r.add(network_inspect_command());
  r.add(network_rm_command());
  r.add(network_prune_command());
  r.add(network_disconnect_command());
  r.add(network_connect_command());
  return r;
}

}  // namespace

const Registry& builtin_registry() {
  static const Registry registry = build();
  return registry;
}

}  // namespace klee

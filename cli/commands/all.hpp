// Every command klee has. To add one: write commands/<group>_<verb>.cpp defining
// `Command <group>_<verb>_command()`, declare it here, and list it in all.cpp.
#pragma once

#include "commands/registry.hpp"

namespace klee {

Command version_command();
Command plugin_ls_command();
Command image_create_command();
Command image_build_command();
Command image_ls_command();
Command image_inspect_command();
Command image_rm_command();
Command image_tag_command();
Command image_prune_command();
Command volume_create_command();
Command volume_ls_command();
Command volume_inspect_command();
Command volume_rm_command();
Command volume_prune_command();
Command container_create_command();
Command container_run_command();
Command container_start_command();
Command container_stop_command();
Command container_restart_command();
Command container_rm_command();
Command container_ls_command();
Command container_inspect_command();
Command container_exec_command();
Command container_prune_command();
Command container_update_command();
Command container_rename_command();
Command network_create_command();
Command network_ls_command();
Command network_inspect_command();
Command network_rm_command();
Command network_prune_command();
Command network_connect_command();
Command network_disconnect_command();

// The registry with all groups and commands above.
[[nodiscard]] const Registry& builtin_registry();

}  // namespace klee

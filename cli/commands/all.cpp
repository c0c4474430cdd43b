#include "commands/all.hpp"

namespace klee {
namespace {

Registry build() {
  Registry r;
  // Groups, in Kleene's order; later issues add container, image, network, volume, exec.
  r.add(Group{.path = {"plugin"}, .summary = "Manage plugins"});

  r.add(version_command());
  r.add(plugin_ls_command());
  return r;
}

}  // namespace

const Registry& builtin_registry() {
  static const Registry registry = build();
  return registry;
}

}  // namespace klee

// copy: a full, independent copy of a dataset or snapshot into a new dataset.
//
// `zfs send | zfs receive` needs a pipe between two processes, which run_command (one process,
// output collected in memory) cannot give without a shell. So the copy is made from a
// temporary clone of the snapshot with `cp -a` (ownership, modes, links, xattrs, devices kept),
// all in the kernel's page cache, never in kleened's memory.
#include <random>

#include "names.hpp"
#include "ops.hpp"

namespace kleene::zfs {
namespace {

std::string random_suffix() {
  std::random_device device;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (int i = 0; i < 8; ++i)
    text += kHex[device() % 16];
  return text;
}

// Undo what a copy made so far, in reverse order; failures here only get logged, the
// original error is the one the caller sees.
class Cleanup {
 public:
  explicit Cleanup(const Cli& cli) : cli_(cli) {}
  ~Cleanup() {
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
      try {
        destroy_dataset(cli_, *it, false);
      } catch (const std::exception& e) {
        cli_.host().warn("copy: cannot remove " + *it + ": " + e.what());
      }
    }
  }
  Cleanup(const Cleanup&) = delete;
  Cleanup& operator=(const Cleanup&) = delete;
  void add(std::string name) { undo_.push_back(std::move(name)); }
  void keep(const std::string& name) { std::erase(undo_, name); }

 private:
  const Cli& cli_;
  std::vector<std::string> undo_;
};

}  // namespace

json copy(const Cli& cli, const json& request) {
  const std::string source = string_field(request, "source");
  const std::string target = string_field(request, "target");
  require_dataset_or_snapshot(source, "copy");
  require_dataset(target, "copy");
  if (!cli.exists(source))
    throw sdk::Error(KLEENE_E_NOT_FOUND, "cannot open '" + source + "': dataset does not exist");
  if (cli.exists(target))
    throw sdk::Error(KLEENE_E_EXISTS, "cannot create '" + target + "': dataset already exists");

  const std::string suffix = random_suffix();
  Cleanup cleanup(cli);
  cli.zfs({"create", target});
  cleanup.add(target);

  std::string snapshot_name = source;
  if (!is_snapshot_name(source)) {  // a live dataset: copy a consistent point in time
    snapshot_name = source + "@klcopy_" + suffix;
    cli.zfs({"snapshot", snapshot_name});
    cleanup.add(snapshot_name);
  }
  // The clone must live in the snapshot's pool: next to its dataset.
  const std::string temporary = dataset_of(snapshot_name) + "_klcopy_" + suffix;
  cli.zfs({"clone", snapshot_name, temporary});
  cleanup.add(temporary);

  const std::string from = mounted_path(cli, temporary);
  const std::string to = mounted_path(cli, target);
  auto copied = cli.run({cli.settings().cp, "-a", "--", from + "/.", to + "/"});
  if (copied.exit_code != 0) {
    throw sdk::Error(KLEENE_E_FAILED, "copy " + source + " to " + target + ": " + copied.err);
  }
  cleanup.keep(target);
  return json::object();
}

}  // namespace kleene::zfs

#include "ops.hpp"

#include <fcntl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "names.hpp"

namespace kleene::zfs {
namespace {

std::vector<std::vector<std::string>> rows(const std::string& text) {
  std::vector<std::vector<std::string>> result;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    std::vector<std::string> fields;
    std::istringstream columns(line);
    for (std::string field; std::getline(columns, field, '\t');)
      fields.push_back(field);
    result.push_back(std::move(fields));
  }
  return result;
}

// `zfs get -H -p -o property,value` as a map.
std::map<std::string, std::string> properties(const Cli& cli, const std::string& name,
                                              const std::string& list) {
  std::map<std::string, std::string> result;
  for (auto& row : rows(cli.zfs({"get", "-H", "-p", "-o", "property,value", list, name})))
    if (row.size() >= 2) result[row[0]] = row[1];
  return result;
}

// A mountinfo path field with its octal escapes (\040 for a space, ...) undone.
std::string unescape_mountinfo(const std::string& field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() &&
        std::all_of(field.begin() + static_cast<long>(i) + 1,
                    field.begin() + static_cast<long>(i) + 4,
                    [](char c) { return c >= '0' && c <= '7'; })) {
      out += static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

}  // namespace

namespace {

// Every whole-dataset ZFS mount in `mountinfo` (kernel ZFS: type zfs, zfs-fuse: fuse.zfs; the
// source is the dataset's name), in table order: `seen(mount)`. Reading /proc/self/mountinfo
// costs microseconds where `zfs get` costs milliseconds (tens under zfs-fuse).
template <typename Seen>
void for_each_zfs_mount(const std::string& mountinfo, Seen seen) {
  std::ifstream in(mountinfo);
  for (std::string line; std::getline(in, line);) {
    const auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream head(line.substr(0, dash)), tail(line.substr(dash + 3));
    std::string id, parent, device, root, target, fstype, source;
    if (!(head >> id >> parent >> device >> root >> target) || !(tail >> fstype >> source))
      continue;
    if ((fstype == "zfs" || fstype == "fuse.zfs") && root == "/")
      seen(ZfsMount{.source = unescape_mountinfo(source),
                    .target = unescape_mountinfo(target),
                    .device = device,
                    .fuse = fstype == "fuse.zfs"});
  }
}

}  // namespace

std::vector<std::string> mounted_sources(const std::string& mountinfo) {
  std::vector<std::string> sources;
  for_each_zfs_mount(mountinfo,
                     [&](ZfsMount mount) { sources.push_back(std::move(mount.source)); });
  return sources;
}

bool fuse_mounted_tree(const std::string& dataset, const std::string& mountinfo) {
  bool found = false;
  for_each_zfs_mount(mountinfo, [&](const ZfsMount& mount) {
    if (mount.fuse && (mount.source == dataset || mount.source.starts_with(dataset + "/")))
      found = true;
  });
  return found;
}

// The last mount of `dataset` wins; a container start asks for its dataset's path.
std::optional<ZfsMount> zfs_mount_of(const std::string& dataset, const std::string& mountinfo) {
  std::optional<ZfsMount> found;
  for_each_zfs_mount(mountinfo, [&](ZfsMount mount) {
    if (mount.source == dataset) found = std::move(mount);
  });
  return found;
}

std::optional<std::string> kernel_mountpoint(const std::string& dataset,
                                             const std::string& mountinfo) {
  auto mount = zfs_mount_of(dataset, mountinfo);
  if (!mount) return std::nullopt;
  return std::move(mount->target);
}

namespace {

// The number a sysfs attribute holds, nullopt when it cannot be read.
std::optional<std::uint64_t> read_number(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  char text[32];
  const ssize_t n = ::read(fd, text, sizeof text);
  ::close(fd);
  std::uint64_t value = 0;
  if (n <= 0 || std::from_chars(text, text + n, value).ec != std::errc()) return std::nullopt;
  return value;
}

}  // namespace

bool set_fuse_read_ahead(const ZfsMount& mount, std::uint32_t kib, const std::string& sysfs) {
  if (!mount.fuse || kib == 0) return false;
  // "major:minor", digits only: the name of the mount's backing device under class/bdi.
  const auto digits = [](std::string_view text) {
    return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
  };
  const std::string_view device = mount.device;
  const auto colon = device.find(':');
  if (colon == std::string_view::npos || !digits(device.substr(0, colon)) ||
      !digits(device.substr(colon + 1)))
    return false;
  const std::string path = sysfs + "/class/bdi/" + mount.device + "/read_ahead_kb";
  // Set already (by the create, for a start): done. INIT's answer only lowers the value, to at
  // most the kernel's 128 KiB; a larger one is written only after that answer (below), which
  // cannot come again for this mount.
  if (const auto current = read_number(path); current && *current == kib) return true;
  // When FUSE_INIT is answered, the kernel lowers the readahead to the answer's max_readahead
  // (zfs-fuse's: the kernel's own 128 KiB), undoing a larger one written before. zfs-fuse answers
  // INIT on a thread of its own, after `zfs mount` may have returned. statfs(2) is a FUSE request,
  // and requests wait for that answer: after it, what is written below stays. (A statfs can also
  // wait milliseconds behind zfs-fuse's other work, hence not at every start.)
  struct statfs fs {};
  (void)::statfs(mount.target.c_str(), &fs);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  const std::string value = std::to_string(kib);
  const bool written =
      ::write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
  ::close(fd);
  return written;
}

namespace {

// After an unmount made a rename possible, mount what was renamed again.
void remount_tree(const Cli& cli, const std::string& dataset) {
  for (auto& row : rows(cli.zfs(
           {"list", "-H", "-o", "name,canmount,mounted", "-t", "filesystem", "-r", dataset}))) {
    if (row.size() >= 3 && row[1] == "on" && row[2] == "no") cli.zfs({"mount", row[0]});
  }
}

json number_or_null(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return nullptr;
  return std::stoull(text);
}

}  // namespace

std::string string_field(const json& request, const char* key) {
  if (!request.is_object() || !request.contains(key) || !request.at(key).is_string())
    throw sdk::Error(KLEENE_E_INVALID, std::string("'") + key + "' must be a string");
  return request.at(key).get<std::string>();
}

void destroy_dataset(const Cli& cli, const std::string& name, bool recursive) {
  std::vector<std::string> args{"destroy"};
  if (recursive) args.emplace_back("-r");
  args.push_back(name);
  const bool filesystem = name.find('@') == std::string::npos;
  // zfs-fuse: a `zfs destroy` of a mounted file system unmounts it and asks for the destroy at
  // once, before zfs-fuse has let go of it: "dataset is busy", and the retry came after another
  // unmount and 10 ms (of `klee rm`'s 39 ms, 25). An unmount of its own first gives zfs-fuse that
  // time. Kernel ZFS's destroy unmounts by itself; the mount table tells the two apart, and says
  // whether there is anything to unmount. Unmounting a dataset unmounts its descendants too,
  // which is what -r needs.
  const auto unmount_fuse = [&] {
    if (filesystem && fuse_mounted_tree(name)) (void)cli.zfs_raw({"unmount", name});
  };
  unmount_fuse();
  cli.zfs_retrying_busy(args, unmount_fuse);
}

std::string mounted_path(const Cli& cli, const std::string& dataset) {
  if (auto path = kernel_mountpoint(dataset)) return *path;
  auto props = properties(cli, dataset, "type,mountpoint,mounted");
  if (props["type"] != "filesystem")
    throw sdk::Error(KLEENE_E_INVALID, dataset + " is a " + props["type"] + ", not a filesystem");
  const std::string& path = props["mountpoint"];
  if (path.empty() || path.front() != '/')
    throw sdk::Error(KLEENE_E_UNSUPPORTED, dataset + " has mountpoint '" + path + "'");
  if (props["mounted"] != "yes") {
    auto result = cli.zfs_raw({"mount", dataset});
    // Someone else may have mounted it meanwhile; only a still-unmounted dataset is an error.
    if (result.exit_code != 0 && properties(cli, dataset, "mounted")["mounted"] != "yes")
      throw_failure({cli.settings().zfs}, result);
  }
  return path;
}

json create_dataset(const Cli& cli, const json& request) {
  const std::string name = string_field(request, "name");
  require_dataset(name, "create_dataset");
  std::vector<std::string> args{"create"};
  if (request.value("parents", false)) args.emplace_back("-p");
  args.push_back(name);
  cli.zfs(args);
  return json::object();
}

json destroy(const Cli& cli, const json& request) {
  const std::string name = string_field(request, "name");
  require_dataset_or_snapshot(name, "destroy");
  destroy_dataset(cli, name, request.value("recursive", false));
  return json::object();
}

json snapshot(const Cli& cli, const json& request) {
  const std::string name = string_field(request, "name");
  require_snapshot(name, "snapshot");
  cli.zfs({"snapshot", name});
  return json::object();
}

json clone(const Cli& cli, const json& request) {
  const std::string source = string_field(request, "snapshot");
  const std::string target = string_field(request, "target");
  require_snapshot(source, "clone");
  require_dataset(target, "clone");
  const auto result = cli.zfs_raw({"clone", source, target});
  if (result.exit_code == 0) return json::object();
  // zfs-fuse can make the clone and then fail to mount it ("mountpoint or dataset is busy"):
  // mount it, retrying busy; if it cannot be mounted, remove it: a failed clone leaves nothing.
  if (!is_busy_message(result.err) || !cli.exists(target))
    throw_failure({cli.settings().zfs}, result);
  try {
    cli.zfs_retrying_busy({"mount", target}, {});
  } catch (const sdk::Error&) {
    // ("filesystem already mounted": it was, after all)
    if (properties(cli, target, "mounted")["mounted"] == "yes") return json::object();
    try {
      destroy_dataset(cli, target, false);
    } catch (const sdk::Error&) {  // the mount's error is the one to report
    }
    throw;
  }
  return json::object();
}

json rename(const Cli& cli, const json& request) {
  const std::string from = string_field(request, "from");
  const std::string to = string_field(request, "to");
  const bool snapshots = is_snapshot_name(from);
  if (snapshots) {
    require_snapshot(to, "rename");
    if (dataset_of(from) != dataset_of(to))
      throw sdk::Error(KLEENE_E_INVALID, "rename: a snapshot keeps its dataset");
  } else {
    require_dataset(from, "rename");
    require_dataset(to, "rename");
  }
  bool unmounted = false;
  cli.zfs_retrying_busy({"rename", from, to}, [&] {
    if (!snapshots) unmounted = cli.zfs_raw({"unmount", from}).exit_code == 0 || unmounted;
  });
  if (unmounted) remount_tree(cli, to);
  return json::object();
}

json list_snapshots(const Cli& cli, const json& request) {
  const std::string dataset = string_field(request, "dataset");
  require_dataset(dataset, "list_snapshots");
  auto found =
      rows(cli.zfs({"list", "-H", "-o", "name,createtxg", "-t", "snapshot", "-d", "1", dataset}));
  // createtxg orders snapshots taken within the same second, which `creation` cannot.
  auto txg = [](const std::vector<std::string>& row) -> std::uint64_t {
    const json value = number_or_null(row.size() > 1 ? row[1] : "");
    return value.is_null() ? 0 : value.get<std::uint64_t>();
  };
  // Ties keep zfs's order (std::sort on the position too: libstdc++'s stable_sort uses the
  // deprecated get_temporary_buffer, an error for clang -Werror in C++23).
  std::vector<std::pair<std::uint64_t, std::size_t>> order;
  order.reserve(found.size());
  for (std::size_t i = 0; i < found.size(); ++i)
    order.emplace_back(txg(found[i]), i);
  std::sort(order.begin(), order.end());
  json names = json::array();
  for (const auto& [created, index] : order)
    names.push_back(found[index].at(0));
  return {{"snapshots", names}};
}

json list_clones(const Cli& cli, const json& request) {
  const std::string snapshot_name = string_field(request, "snapshot");
  require_snapshot(snapshot_name, "list_clones");
  if (!cli.exists(snapshot_name))
    throw sdk::Error(KLEENE_E_NOT_FOUND,
                     "cannot open '" + snapshot_name + "': dataset does not exist");
  // zfs-fuse has no `clones` property: scan the pool's origins instead.
  std::vector<std::string> clones;
  for (auto& row : rows(cli.zfs({"list", "-H", "-o", "name,origin", "-t", "filesystem,volume", "-r",
                                 pool_of(snapshot_name)}))) {
    if (row.size() >= 2 && row[1] == snapshot_name) clones.push_back(row[0]);
  }
  std::sort(clones.begin(), clones.end());
  return {{"clones", clones}};
}

json list_datasets(const Cli& cli, const json& request) {
  const std::string dataset = string_field(request, "dataset");
  require_dataset(dataset, "list_datasets");
  // mounted_only: the mounted ones alone, from the mount table (no zfs command: the container
  // mount budget asks every few creates and starts). A dataset that does not exist has none.
  if (request.value("mounted_only", false)) {
    std::set<std::string> mounted;
    for (auto& source : mounted_sources())
      if (source.starts_with(dataset + "/") &&
          source.find('/', dataset.size() + 1) == std::string::npos)
        mounted.insert(std::move(source));
    return {{"mounted", mounted}};
  }
  if (!cli.exists(dataset))
    throw sdk::Error(KLEENE_E_NOT_FOUND, "cannot open '" + dataset + "': dataset does not exist");
  std::vector<std::string> children;
  for (auto& row :
       rows(cli.zfs({"list", "-H", "-o", "name", "-t", "filesystem", "-d", "1", dataset}))) {
    if (!row.empty() && row[0] != dataset) children.push_back(row[0]);
  }
  std::sort(children.begin(), children.end());
  const std::set<std::string> below(children.begin(), children.end());
  std::vector<std::string> mounted;
  for (const auto& source : mounted_sources())
    if (below.contains(source)) mounted.push_back(source);
  std::sort(mounted.begin(), mounted.end());
  return {{"datasets", children}, {"mounted", mounted}};
}

json unmount(const Cli& cli, const json& request) {
  const std::string dataset = string_field(request, "dataset");
  require_dataset(dataset, "unmount");
  // The mount table says whether it is mounted; zfs is asked only to tell a dataset that is not
  // mounted from one that does not exist.
  if (zfs_mount_of(dataset)) {
    cli.zfs_retrying_busy({"unmount", dataset}, [] {});
    return {{"unmounted", true}};
  }
  if (!cli.exists(dataset))
    throw sdk::Error(KLEENE_E_NOT_FOUND, "cannot open '" + dataset + "': dataset does not exist");
  return {{"unmounted", false}};
}

json mountpoint(const Cli& cli, const json& request) {
  const std::string dataset = string_field(request, "dataset");
  require_dataset(dataset, "mountpoint");
  auto mount = zfs_mount_of(dataset);
  const std::string path = mount ? mount->target : mounted_path(cli, dataset);
  // zfs-fuse: a container's first reads go through FUSE (fuse_read_ahead_kb). Set on every
  // start, so a dataset that zfs-fuse mounted again (a restart) gets it too.
  if (cli.settings().fuse_read_ahead_kb != 0) {
    if (!mount) mount = zfs_mount_of(dataset);  // mounted just now
    if (mount) (void)set_fuse_read_ahead(*mount, cli.settings().fuse_read_ahead_kb);
  }
  return {{"mountpoint", path}, {"mounted", true}};
}

json info(const Cli& cli, const json& request) {
  const std::string name = string_field(request, "name");
  require_dataset_or_snapshot(name, "info");
  auto result = cli.zfs_raw({"get", "-H", "-p", "-o", "property,value",
                             "type,mountpoint,mounted,origin,used,referenced", name});
  if (result.exit_code != 0) {
    if (status_of_message(result.err) == KLEENE_E_NOT_FOUND) return {{"exists", false}};
    throw_failure({cli.settings().zfs}, result);
  }
  std::map<std::string, std::string> props;
  for (auto& row : rows(result.out))
    if (row.size() >= 2) props[row[0]] = row[1];
  auto optional = [&](const std::string& key) -> json {
    const std::string& value = props[key];
    return value.empty() || value == "-" ? json(nullptr) : json(value);
  };
  return {{"exists", true},
          {"name", name},
          {"type", props["type"]},
          {"mountpoint", optional("mountpoint")},
          {"mounted", props["mounted"] == "yes"},
          {"origin", optional("origin")},
          {"used", number_or_null(props["used"])},
          {"referenced", number_or_null(props["referenced"])}};
}

}  // namespace kleene::zfs

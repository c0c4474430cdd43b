#include "builder/executor.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include "builder/context.hpp"
#include "builder/dockerfile.hpp"
#include "builder/plan.hpp"
#include "image/create/extract.hpp"
#include "util/strings.hpp"
#include "util/unique_fd.hpp"

namespace kleene::builder {

namespace {

using nlohmann::json;

// A step's failure: the message goes to the client as a frame, the build closes with
// "image build failed" (Kleene's protocol), or with the message itself before any step ran.
struct StepFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::vector<std::string> strings(const json& value) {
  std::vector<std::string> out;
  if (value.is_array())
    for (const auto& item : value)
      if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

template <typename T>
T check(Result<T> result) {
  if (!result) throw StepFailure(result.error().message);
  if constexpr (!std::is_void_v<T>) return std::move(*result);
}

UniqueFd open_directory(const std::string& path, const std::string& what) {
  UniqueFd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw StepFailure(what + " " + path + ": " + std::strerror(errno));
  return fd;
}

// mkdir -p of an absolute path inside a container root, never leaving it.
void make_directories(int root_fd, const std::string& path) {
  std::string prefix;
  std::size_t start = 0;
  while (start < path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    auto parent = check(open_in_root(root_fd, prefix.empty() ? "/" : prefix, O_PATH | O_DIRECTORY));
    if (::mkdirat(parent.get(), part.c_str(), 0755) != 0 && errno != EEXIST)
      throw StepFailure("cannot create directory " + prefix + "/" + part + ": " +
                        std::strerror(errno));
    prefix += "/" + part;
  }
  (void)check(open_in_root(root_fd, path, O_PATH | O_DIRECTORY));  // a file there fails
}

std::optional<unsigned> number(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// The id a user or group name has in the root's /etc/passwd or /etc/group (field 3).
std::optional<unsigned> lookup_id(int root_fd, const char* file, std::string_view name) {
  auto fd = open_in_root(root_fd, file, O_RDONLY | O_NONBLOCK);
  if (!fd) return std::nullopt;
  const std::string text = check(read_regular_file(fd->get(), file, 4 << 20));
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    std::vector<std::string_view> fields;
    std::size_t from = 0;
    for (int i = 0; i < 3; ++i) {
      const std::size_t colon = line.find(':', from);
      fields.push_back(line.substr(from, colon == std::string::npos ? line.npos : colon - from));
      if (colon == std::string::npos) break;
      from = colon + 1;
    }
    if (fields.size() == 3 && fields[0] == name) return number(fields[2]);
  }
  return std::nullopt;
}

// --chown=user[:group], names looked up in the container.
CopyOwner owner_of(int root_fd, const std::string& chown) {
  CopyOwner owner;
  if (chown.empty()) return owner;
  const auto colon = chown.find(':');
  const std::string user = chown.substr(0, colon);
  const std::string group = colon == std::string::npos ? std::string() : chown.substr(colon + 1);
  auto uid = number(user);
  if (!uid) uid = lookup_id(root_fd, "/etc/passwd", user);
  if (!uid)
    throw StepFailure("unable to find user " + user + ": no matching entries in passwd file");
  owner.uid = *uid;
  owner.gid = *uid;
  if (!group.empty()) {
    auto gid = number(group);
    if (!gid) gid = lookup_id(root_fd, "/etc/group", group);
    if (!gid)
      throw StepFailure("unable to find group " + group + ": no matching entries in group file");
    owner.gid = *gid;
  }
  return owner;
}

// Whether a context file is a tar archive ADD unpacks (plain, gzip, bzip2, xz, zstd), by its
// first bytes as Docker decides, never by its name.
bool is_archive(int context_fd, const std::string& path) {
  auto fd = open_in_context(context_fd, path, O_RDONLY | O_NONBLOCK);
  if (!fd) return false;
  unsigned char head[512] = {};
  ssize_t got = 0;
  while (got < static_cast<ssize_t>(sizeof head)) {
    const ssize_t n = ::read(fd->get(), head + got, sizeof head - static_cast<std::size_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += n;
  }
  auto starts = [&](std::initializer_list<unsigned char> magic) {
    return got >= static_cast<ssize_t>(magic.size()) &&
           std::equal(magic.begin(), magic.end(), head);
  };
  if (starts({0x1f, 0x8b}) || starts({'B', 'Z', 'h'}) || starts({0xfd, '7', 'z', 'X', 'Z', 0x00}) ||
      starts({0x28, 0xb5, 0x2f, 0xfd}))
    return true;
  return got >= 262 && std::memcmp(head + 257, "ustar", 5) == 0;
}

// ADD of a local archive: unpacked into `destination` (a directory) with the hostile-archive
// rules of image creation (nothing outside the directory), and no device nodes at all. The
// engine unpacks it (kleened: in its confined extract helper, so no archive is parsed in
// kleened's process); an engine without `unpack` leaves it to this process.
void unpack_into(const EngineCall& call, int context_fd, const std::string& path, int root_fd,
                 const std::string& destination) {
  make_directories(root_fd, destination);
  auto dir = check(open_in_root(root_fd, destination, O_PATH | O_DIRECTORY));
  auto file = check(open_in_context(context_fd, path, O_RDONLY));
  try {
    (void)call("unpack", {{"archive_fd", file.get()}, {"root_fd", dir.get()}});
    return;
  } catch (const EngineUnsupported&) {
  } catch (const std::exception& e) {
    throw StepFailure("ADD failed: " + path + ": " + e.what());
  }
  auto extracted = image::unpack_added_archive(file.get(), dir.get());
  if (!extracted) throw StepFailure("ADD failed: " + path + ": " + extracted.error().message);
}

ImageConfig config_of(const json& image) {
  ImageConfig config;
  config.cmd = strings(image.value("cmd", json::array()));
  config.entrypoint = strings(image.value("entrypoint", json::array()));
  config.env = strings(image.value("env", json::array()));
  config.user = image.value("user", std::string("root"));
  config.workdir = image.value("workdir", std::string("/"));
  if (auto labels = image.find("labels"); labels != image.end() && labels->is_object())
    for (const auto& [key, value] : labels->items())
      if (value.is_string()) config.labels[key] = value.get<std::string>();
  for (const auto& port : strings(image.value("exposed_ports", json::array())))
    config.exposed_ports.insert(port);
  return config;
}

class Build {
 public:
  Build(const EngineCall& engine, const json& request) : engine_(engine), request_(request) {
    id_ = request.value("build", std::string());
    quiet_ = request.value("quiet", false);
    cleanup_ = request.value("cleanup", true);
    use_cache_ = !request.value("no_cache", false);
    name_ = request.value("name", std::string());
    tag_ = request.value("tag", std::string());
    user_ = request.value("user", std::string());
    env_ = strings(request.value("env", json::array()));
  }

  json run() {
    std::optional<BuildPlanner> planner;
    try {
      planner.emplace(prepare());
    } catch (const std::exception& e) {
      return failed(e.what(), "");
    }
    try {
      while (!planner->done())
        step(*planner);
      return finish(*planner);
    } catch (const std::exception& e) {
      return fail(*planner, e.what());
    }
  }

 private:
  struct Stage {
    std::string container;  // "" until a step needs it
    std::string root;
    UniqueFd root_fd;
    std::string base;                       // image reference the container is created from
    std::string origin;                     // the dataset snapshot `base` names
    std::string chain;                      // cache identity of the stage's current state
    std::vector<std::string> pending_dirs;  // WORKDIRs to create once the container exists
    std::vector<std::pair<std::string, std::string>> cache;  // keys of snapshots made here
    bool dirty = false;     // the container changed since `chain` was a cache identity
    bool user_set = false;  // a USER instruction ran: -u no longer applies
  };

  json call(const std::string& op, json request) {
    request["build"] = id_;
    return engine_(op, std::move(request));
  }
  void emit(const std::string& text) {
    if (!quiet_) (void)call("emit", {{"data", text}});
  }

  BuildPlanner prepare() {
    const std::string context = request_.value("context", std::string());
    if (context.empty() || context.front() != '/')
      throw StepFailure("the build context must be an absolute path on the kleened host");
    context_ = open_directory(context, "cannot open the build context");
    const std::string dockerfile = request_.value("dockerfile", std::string("Dockerfile"));
    auto file = open_in_context(context_.get(), dockerfile, O_RDONLY | O_NONBLOCK);
    if (!file) throw StepFailure("cannot read the Dockerfile: " + file.error().message);
    auto text = read_regular_file(file->get(), dockerfile, kMaxDockerfileSize);
    if (!text) throw StepFailure("cannot read the Dockerfile: " + text.error().message);
    auto instructions = check(parse_dockerfile(*text));
    ignore_ = check(load_dockerignore(context_.get()));
    BuildOptions options;
    if (auto args = request_.find("buildargs"); args != request_.end() && args->is_object())
      for (const auto& [key, value] : args->items())
        if (value.is_string()) options.build_args[key] = value.get<std::string>();
    options.parent_image = request_.value("from", std::string());
    return check(BuildPlanner::create(std::move(instructions), std::move(options)));
  }

  Stage& stage(const Step& step) {
    if (!step.stage) throw StepFailure("instruction outside a build stage: " + step.line);
    return stages_[*step.stage];
  }

  // The stage's container, created from its base (and the WORKDIRs it still owes) when the
  // first step needs it.
  Stage& ensure(Stage& s) {
    if (!s.container.empty()) return s;
    json request{{"image", s.base}};
    const auto created = call("container_create", request);
    s.container = created.at("id").get<std::string>();
    s.root = created.at("root").get<std::string>();
    s.root_fd = open_directory(s.root, "cannot open the build container's root");
    for (const auto& dir : s.pending_dirs)
      make_directories(s.root_fd.get(), dir);
    s.pending_dirs.clear();
    return s;
  }

  void from(BuildPlanner& planner, const Step& step) {
    Stage& s = stages_[*step.stage];
    if (step.base_stage) {
      // A stage built on an earlier one continues from that stage's state: its snapshot, as a
      // copy (not a clone: the earlier stage's container goes away at the end).
      Stage& base = ensure(stages_[*step.base_stage]);
      const auto snap = call("snapshot", {{"container", base.container}});
      const auto created = call("container_create",
                                {{"container", base.container}, {"snapshot", snap.at("snapshot")}});
      s.container = created.at("id").get<std::string>();
      s.root = created.at("root").get<std::string>();
      s.root_fd = open_directory(s.root, "cannot open the build container's root");
      s.origin = "";
      s.chain = base.chain;
      s.dirty = true;  // its snapshots live in a container, never in the cache
      return;
    }
    if (step.image.empty()) throw StepFailure("FROM requires an image: " + step.line);
    if (step.user_supplied) emit(user_supplied_parent_message(step.image));
    json inspected;
    try {
      inspected = call("image_inspect", {{"image", step.image}});
    } catch (const std::exception& e) {
      throw StepFailure(e.what());
    }
    const json& image = inspected.at("image");
    check(planner.set_parent(config_of(image)));
    s.base = step.image;
    s.origin = inspected.at("snapshot").get<std::string>();
    const auto at = s.origin.find('@');
    s.chain = image.value("id", std::string()) + s.origin.substr(at == std::string::npos ? 0 : at);
  }

  // A RUN, COPY or ADD: a cache hit reuses the snapshot; otherwise `work` changes the
  // container and a snapshot follows.
  void snapshot_step(BuildPlanner& planner, const Step& step, Stage& s, const std::string& digest,
                     const std::function<void(Stage&)>& work) {
    // --no-cache only skips the lookup: the steps it runs are recorded for the next build
    // (as Docker's builder does).
    std::string key;
    if (!s.dirty) key = check(cache_key(step, s.chain, digest));
    if (use_cache_ && !key.empty()) {
      const auto hit = call("cache_lookup", {{"key", key}});
      if (hit.contains("snapshot") && s.container.empty()) {
        const std::string image = hit.at("image").get<std::string>();
        const std::string snapshot = hit.at("snapshot").get<std::string>();
        s.base = image + snapshot;
        s.origin = call("image_inspect", {{"image", s.base}}).at("snapshot").get<std::string>();
        s.chain = key;
        emit(std::string(kUsingCacheMessage));
        emit(snapshot_message(snapshot));
        planner.record_snapshot(snapshot);
        return;
      }
    }
    work(ensure(s));
    const std::string snapshot =
        call("snapshot", {{"container", s.container}}).at("snapshot").get<std::string>();
    emit(snapshot_message(snapshot));
    planner.record_snapshot(snapshot);
    if (!key.empty()) {
      s.cache.emplace_back(key, snapshot);
      s.chain = key;
    } else {
      s.dirty = true;
    }
  }

  void run_step(BuildPlanner& planner, const Step& step) {
    Stage& s = stage(step);
    // What the process gets, and so what the cache key covers: -e underneath the step's
    // variables, -u until the stage says USER.
    Step run = step;
    run.env = merge_env(env_, step.env);
    if (!user_.empty() && !s.user_set) run.user = user_;
    snapshot_step(planner, run, s, "", [&](Stage& st) {
      const auto result = call("exec", {{"container", st.container},
                                        {"argv", run.argv},
                                        {"env", run.env},
                                        {"user", run.user},
                                        {"workdir", run.workdir}});
      const int code = result.value("exit_code", -1);
      if (code != 0) throw StepFailure(nonzero_exit_message(run.argv, code));
    });
  }

  void copy_step(BuildPlanner& planner, const Step& step) {
    Stage& s = stage(step);
    const std::string keyword = step.substituted.keyword;
    if (!step.chmod.empty()) throw StepFailure(keyword + " --chmod is not supported");
    // Where the sources come from: the context, an earlier stage's root or an image's.
    int source_fd = context_.get();
    UniqueFd other;
    IgnoreRules none;
    const IgnoreRules* ignore = &ignore_;
    std::string digest;
    if (step.from_stage) {
      Stage& from = ensure(stages_[*step.from_stage]);
      source_fd = from.root_fd.get();
      ignore = &none;
      digest = "stage:" + from.chain + (from.dirty ? ":" + from.container : "");
    } else if (!step.from_image.empty()) {
      const auto inspected = call("image_inspect", {{"image", step.from_image}});
      other = open_directory(
          call("image_root", {{"image", step.from_image}}).at("root").get<std::string>(),
          "cannot open the root of image");
      source_fd = other.get();
      ignore = &none;
      digest = "image:" + inspected.at("snapshot").get<std::string>();
    }
    if (keyword == "ADD") {
      for (const auto& source : step.sources)
        if (source.find("://") != std::string::npos)
          throw StepFailure("ADD failed: only local files and archives are supported: " + source);
    }
    const auto plan =
        check(plan_copy(source_fd, step.sources, step.destination, step.workdir, *ignore, keyword));
    // ADD unpacks local tar archives into the destination directory; COPY never does.
    CopyPlan files = plan;
    std::vector<std::string> archives;
    if (keyword == "ADD" && source_fd == context_.get()) {
      files.sources.clear();
      for (const auto& src : plan.sources) {
        if (!src.directory && is_archive(source_fd, src.path))
          archives.push_back(src.path);
        else
          files.sources.push_back(src);
      }
    }
    if (digest.empty()) digest = check(content_digest(source_fd, plan, *ignore));
    snapshot_step(planner, step, s, digest, [&](Stage& st) {
      const CopyOwner owner = owner_of(st.root_fd.get(), step.chown);
      if (!files.sources.empty())
        check(copy_into_root(source_fd, files, st.root_fd.get(), *ignore, owner));
      for (const auto& archive : archives)
        unpack_into([this](const std::string& op, json request) { return call(op, request); },
                    source_fd, archive, st.root_fd.get(), plan.destination);
    });
  }

  void step(BuildPlanner& planner) {
    const Step step = check(planner.next());
    emit(step_message(step.number, planner.total_steps(), step.line));
    const std::string& keyword = step.substituted.keyword;
    if (keyword == "FROM") {
      from(planner, step);
    } else if (keyword == "RUN") {
      run_step(planner, step);
    } else if (keyword == "COPY" || keyword == "ADD") {
      copy_step(planner, step);
    } else if (keyword == "USER" && step.stage) {
      stages_[*step.stage].user_set = true;
    } else if (keyword == "WORKDIR" && step.stage) {
      Stage& s = stages_[*step.stage];
      if (s.container.empty())
        s.pending_dirs.push_back(step.workdir);
      else
        make_directories(s.root_fd.get(), step.workdir);
    }
    last_stage_ = step.stage;
  }

  void remove_containers(std::optional<std::size_t> keep) {
    for (auto& [index, s] : stages_) {
      if (s.container.empty() || (keep && index == *keep)) continue;
      s.root_fd.reset();
      try {
        (void)call("container_remove", {{"container", s.container}});
      } catch (const std::exception&) {  // kleened sweeps what is left
      }
      s.container.clear();
    }
  }

  std::string commit(BuildPlanner& planner, Stage& s, const std::string& name,
                     const std::string& tag) {
    ensure(s);
    s.root_fd.reset();
    json cache = json::array();
    for (const auto& [key, snapshot] : s.cache)
      cache.push_back({key, snapshot});
    const auto result = call("commit", {{"container", s.container},
                                        {"name", name},
                                        {"tag", tag},
                                        {"origin", s.origin},
                                        {"image", planner.image_json()},
                                        {"cache", cache}});
    s.container.clear();
    return result.at("id").get<std::string>();
  }

  json finish(BuildPlanner& planner) {
    // Docker's warning, once every ARG of the build has been seen.
    if (const auto unused = planner.unused_build_args(); !unused.empty()) {
      std::string names;
      for (const auto& n : unused)
        names += (names.empty() ? "" : " ") + n;
      emit("[Warning] One or more build-args [" + names + "] were not consumed");
    }
    const std::size_t target = planner.target_stage();
    Stage& s = stages_[target];
    const std::string id = commit(planner, s, name_, tag_);
    remove_containers(std::nullopt);
    return json{{"status", "ok"}, {"id", id}};
  }

  json fail(BuildPlanner& planner, const std::string& message) {
    try {
      (void)call("emit", {{"data", message}});  // also when quiet: klee shows why
    } catch (const std::exception&) {           // the client may be gone
    }
    std::string snapshot = planner.last_snapshot();
    if (!cleanup_ && last_stage_ && !cancelled(message)) {
      try {
        Stage& s = stages_[*last_stage_];
        const std::string failed_name = name_.empty() ? std::string() : name_;
        (void)commit(planner, s, failed_name, failed_name.empty() ? "" : "failed");
      } catch (const std::exception& e) {
        try {
          emit(std::string("could not keep the failed build: ") + e.what());
        } catch (const std::exception&) {
        }
      }
    } else {
      snapshot.clear();
    }
    remove_containers(std::nullopt);
    return failed(std::string(kImageBuildFailedMessage), snapshot);
  }

  static bool cancelled(const std::string& message) {
    return message.find("build cancelled") != std::string::npos;
  }

  json failed(const std::string& message, const std::string& snapshot) {
    return json{{"status", "failed"}, {"message", message}, {"snapshot", snapshot}};
  }

  const EngineCall& engine_;
  const json& request_;
  std::string id_, name_, tag_, user_;
  std::vector<std::string> env_;
  bool quiet_ = false, cleanup_ = true, use_cache_ = true;
  UniqueFd context_;
  IgnoreRules ignore_;
  std::map<std::size_t, Stage> stages_;
  std::optional<std::size_t> last_stage_;
};

}  // namespace

json run_build(const EngineCall& engine, const json& request) {
  Build build(engine, request);
  return build.run();
}

}  // namespace kleene::builder

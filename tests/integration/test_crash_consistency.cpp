// Fault injection: a randomised workload (containers created, started, exec'd into, stopped,
// removed; networks made, connected, disconnected, removed; volumes; image builds) runs against
// a real kleened on a real pool, and kleened is SIGKILLed at a random moment. It is started
// again, and the host is compared with the store:
//   orphans   datasets no row names, keepers of containers not listed as running, bridges of
//             networks that are not listed, cgroups of containers that do not run
//   lost      rows whose dataset is gone, bridges of listed networks that are missing, and
//             objects whose creation was answered (and never removed) that are not listed, or
//             containers answered as started (and never stopped) that no longer run
// Both must be 0. Each trial then removes everything through the API (what a crash left must
// still be removable). Trials: KLEENE_CRASH_TRIALS (3 by default, 50 for the long mode),
// seed: KLEENE_CRASH_SEED (random by default; printed).
#include <dirent.h>
#include <net/if.h>
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "container_fixture.hpp"

namespace kleene::it {
namespace {

namespace fs = std::filesystem;

// What the workload knows for sure: the last answered state of each object. An object with a
// request in flight is `unknown` until the answer comes (or forever, if kleened died first).
enum class Known { exists, running, removed, unknown };

struct Model {
  std::mutex mutex;
  std::map<std::string, Known> containers;  // by id
  std::map<std::string, Known> volumes;     // by name
  std::map<std::string, Known> networks;    // by name
  std::map<std::string, Known> images;      // by name (built ones)
  std::set<std::string> ids_ever;           // every container id kleened answered with
  int answered = 0;                         // answers that changed what is known

  // Marks `key` in flight and returns its last known state.
  Known begin(std::map<std::string, Known>& kind, const std::string& key) {
    std::lock_guard lock(mutex);
    auto& state = kind[key];
    const auto before = state;
    state = Known::unknown;
    return before;
  }
  void end(std::map<std::string, Known>& kind, const std::string& key, Known state) {
    std::lock_guard lock(mutex);
    kind[key] = state;
    ++answered;
  }
  // A random key of `kind` in one of `states`, or "".
  std::string pick(std::map<std::string, Known>& kind, std::initializer_list<Known> states,
                   std::mt19937& rng) {
    std::lock_guard lock(mutex);
    std::vector<std::string> keys;
    for (const auto& [key, state] : kind)
      for (auto s : states)
        if (state == s) keys.push_back(key);
    if (keys.empty()) return "";
    return keys[std::uniform_int_distribution<std::size_t>(0, keys.size() - 1)(rng)];
  }
};

std::set<std::string> host_links() {
  std::set<std::string> links;
  if (auto* names = ::if_nameindex()) {
    for (auto* n = names; n->if_index != 0; ++n)
      links.insert(n->if_name);
    ::if_freenameindex(names);
  }
  return links;
}

// Container id -> pid of every kleene-keeper on the host.
std::map<std::string, pid_t> keepers() {
  std::map<std::string, pid_t> found;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream comm(entry.path() / "comm");
    std::string name;
    if (!std::getline(comm, name) || name != "kleene-keeper") continue;
    std::ifstream cmdline(entry.path() / "cmdline");
    std::string argv0, argv1;
    if (std::getline(cmdline, argv0, '\0') && std::getline(cmdline, argv1, '\0'))
      found[argv1] = std::stoi(pid);
  }
  return found;
}

class CrashConsistencyTest : public ImageKleenedTest {
 protected:
  void SetUp() override {
    if (const char* trials = std::getenv("KLEENE_CRASH_TRIALS")) trials_ = std::atoi(trials);
    if (const char* seed = std::getenv("KLEENE_CRASH_SEED"))
      seed_ = static_cast<unsigned>(std::strtoul(seed, nullptr, 10));
    else
      seed_ = std::random_device{}();
    context_ = fs::path(dir.path()) / "context";
    fs::create_directories(context_);
    std::ofstream(context_ / "Dockerfile") << "FROM busybox\nRUN echo built > /built\n";
    ASSERT_NO_FATAL_FAILURE(start_with_image());
  }
  void TearDown() override { remove_everything(); }

  // One worker of the workload: random operations until `stop`.
  void worker(unsigned seed, const std::atomic<bool>& stop) {
    std::mt19937 rng(seed);
    auto chance = [&](int percent) {
      return std::uniform_int_distribution<int>(0, 99)(rng) < percent;
    };
    while (!stop.load()) {
      try {
        step(rng, chance);
      } catch (const std::exception&) {
        // kleened is gone (connection refused or reset): the object stays `unknown`.
      }
    }
  }

  template <typename Chance>
  void step(std::mt19937& rng, Chance& chance) {
    const int op = std::uniform_int_distribution<int>(0, 11)(rng);
    const std::string n = std::to_string(next_.fetch_add(1));
    switch (op) {
      case 0:
      case 1: {  // create, sometimes with a volume
        json config = {{"image", "busybox"},
                       {"cmd", {"/bin/sleep", "3600"}},
                       {"network_driver", chance(50) ? "ipnet" : "host"}};
        std::string volume;
        if (chance(40)) {
          volume = model_.pick(model_.volumes, {Known::exists}, rng);
          if (volume.empty()) volume = "klccv" + n;
          config["mounts"] =
              json::array({{{"type", "volume"}, {"source", volume}, {"destination", "/data"}}});
        }
        auto r = api("POST", "/containers/create?name=klcc" + n, config.dump());
        if (r.status != 201) return;
        const std::string id = body_of(r).value("id", "");
        std::lock_guard lock(model_.mutex);
        model_.containers[id] = Known::exists;
        model_.ids_ever.insert(id);
        ++model_.answered;
        if (!volume.empty() && model_.volumes[volume] != Known::unknown)
          model_.volumes[volume] = Known::exists;
        return;
      }
      case 2: {  // start
        const auto id = model_.pick(model_.containers, {Known::exists}, rng);
        if (id.empty()) return;
        model_.begin(model_.containers, id);
        auto created = api("POST", "/exec/create",
                           json{{"container_id", id}, {"cmd", {"/bin/sleep", "3600"}}}.dump());
        if (created.status != 201) return model_.end(model_.containers, id, Known::exists);
        auto started = WsClient::run(daemon.socket_path(), "/exec/start",
                                     json{{"exec_id", body_of(created).value("id", "")},
                                          {"attach", false},
                                          {"start_container", true}}
                                         .dump());
        if (started.close_code == 1001 || started.close_code == 1000)
          model_.end(model_.containers, id, Known::running);
        return;
      }
      case 3: {  // exec into a running one
        const auto id = model_.pick(model_.containers, {Known::running}, rng);
        if (id.empty()) return;
        model_.begin(model_.containers, id);
        auto created =
            api("POST", "/exec/create", json{{"container_id", id}, {"cmd", {"/bin/true"}}}.dump());
        if (created.status == 201) {
          (void)WsClient::run(daemon.socket_path(), "/exec/start",
                              json{{"exec_id", body_of(created).value("id", "")},
                                   {"attach", true},
                                   {"start_container", false}}
                                  .dump());
        }
        return model_.end(model_.containers, id, Known::running);
      }
      case 4: {  // stop
        const auto id = model_.pick(model_.containers, {Known::running}, rng);
        if (id.empty()) return;
        model_.begin(model_.containers, id);
        if (api("POST", "/containers/" + id + "/stop").status == 200)
          model_.end(model_.containers, id, Known::exists);
        return;
      }
      case 5: {  // remove
        const auto id = model_.pick(model_.containers, {Known::exists}, rng);
        if (id.empty()) return;
        model_.begin(model_.containers, id);
        if (api("DELETE", "/containers/" + id).status == 200)
          model_.end(model_.containers, id, Known::removed);
        return;
      }
      case 6: {  // volume create / remove
        const auto name = model_.pick(model_.volumes, {Known::exists}, rng);
        if (!name.empty() && chance(50)) {
          model_.begin(model_.volumes, name);
          const auto status = api("DELETE", "/volumes/" + name).status;
          if (status == 200) model_.end(model_.volumes, name, Known::removed);
          if (status == 409) model_.end(model_.volumes, name, Known::exists);  // mounted
          return;
        }
        const std::string made = "klccv" + n;
        model_.begin(model_.volumes, made);
        if (api("POST", "/volumes/create", json{{"name", made}}.dump()).status == 201)
          model_.end(model_.volumes, made, Known::exists);
        return;
      }
      case 7: {  // network create
        const std::string name = "klccn" + n;
        model_.begin(model_.networks, name);
        const auto subnet = "10.77." + std::to_string(next_.load() % 250) + ".0/24";
        auto r = api("POST", "/networks/create",
                     json{{"name", name}, {"type", "bridge"}, {"subnet", subnet}}.dump());
        if (r.status == 201) model_.end(model_.networks, name, Known::exists);
        if (r.status == 409) model_.end(model_.networks, name, Known::removed);  // subnet taken
        return;
      }
      case 8: {  // connect
        const auto network = model_.pick(model_.networks, {Known::exists}, rng);
        const auto id = model_.pick(model_.containers, {Known::exists, Known::running}, rng);
        if (network.empty() || id.empty()) return;
        (void)api("POST", "/networks/connect",
                  json{{"container", id}, {"network", network}}.dump());
        return;
      }
      case 9: {  // disconnect
        const auto network = model_.pick(model_.networks, {Known::exists}, rng);
        const auto id = model_.pick(model_.containers, {Known::exists, Known::running}, rng);
        if (network.empty() || id.empty()) return;
        (void)api("POST", "/networks/" + network + "/disconnect/" + id);
        return;
      }
      case 10: {  // network remove (with its connections, as Kleene does)
        const auto network = model_.pick(model_.networks, {Known::exists}, rng);
        if (network.empty()) return;
        model_.begin(model_.networks, network);
        if (api("DELETE", "/networks/" + network).status == 200)
          model_.end(model_.networks, network, Known::removed);
        return;
      }
      case 11: {  // build an image, or remove one
        const auto built = model_.pick(model_.images, {Known::exists}, rng);
        if (!built.empty() && chance(50)) {
          model_.begin(model_.images, built);
          if (api("DELETE", "/images/" + built).status == 200)
            model_.end(model_.images, built, Known::removed);
          return;
        }
        const std::string tag = "klcci" + n;
        model_.begin(model_.images, tag);
        auto r = WsClient::run(daemon.socket_path(), "/images/build",
                               json{{"context", context_.string()},
                                    {"tag", tag},
                                    {"cleanup", true},
                                    {"container_config", {{"network_driver", "host"}}}}
                                   .dump());
        if (r.close_code == 1000) model_.end(model_.images, tag, Known::exists);
        return;
      }
    }
  }

  // Compares the host with what the restarted kleened lists, and both with the model.
  void check(int& orphans, int& lost) {
    // A failure quotes what kleened logged about the object (both runs: the log is appended).
    const std::string log = read_file(daemon.log_file());
    auto report = [&](int& counter, const std::string& what, const std::string& name) {
      ++counter;
      std::string lines;
      for (std::size_t at = 0; at < log.size();) {
        const auto end = std::min(log.find('\n', at), log.size());
        const std::string_view line(log.data() + at, end - at);
        if (line.find(name) != std::string_view::npos) lines += "\n  " + std::string(line);
        at = end + 1;
      }
      ADD_FAILURE() << what << (lines.empty() ? "\nkleened logged nothing about it" : "") << lines;
    };
    const auto containers = body_of(api("GET", "/containers/list?all=true"));
    const auto images = body_of(api("GET", "/images/list"));
    const auto volumes = body_of(api("GET", "/volumes/list"));
    const auto networks = body_of(api("GET", "/networks/list"));
    ASSERT_TRUE(containers.is_array() && images.is_array() && volumes.is_array() &&
                networks.is_array());

    std::set<std::string> rows, running, listed_volumes, listed_networks, listed_images;
    for (const auto& c : containers) {
      rows.insert(root_ + "/container/" + c.value("id", ""));
      if (c.value("running", false)) running.insert(c.value("id", ""));
    }
    for (const auto& i : images) {
      rows.insert(root_ + "/image/" + i.value("id", ""));
      listed_images.insert(i.value("name", ""));
    }
    for (const auto& v : volumes) {
      rows.insert(root_ + "/volumes/" + v.value("name", ""));
      listed_volumes.insert(v.value("name", ""));
    }
    // Datasets one level below the three parents.
    std::set<std::string> datasets;
    for (const auto& name : pool_->list_all()) {
      for (const char* parent : {"/container/", "/image/", "/volumes/"}) {
        const auto prefix = root_ + parent;
        if (name.starts_with(prefix) &&
            name.find_first_of("/@", prefix.size()) == std::string::npos)
          datasets.insert(name);
      }
    }
    for (const auto& d : datasets)
      if (!rows.contains(d)) report(orphans, "orphan dataset " + d, d);
    for (const auto& r : rows)
      if (!datasets.contains(r)) report(lost, "row without its dataset " + r, r);

    const auto links = host_links();
    for (const auto& n : networks) {
      listed_networks.insert(n.value("name", ""));
      const auto bridge = n.value("interface", "");
      if (n.value("type", "") == "bridge" && !links.contains(bridge))
        report(lost, "network " + n.value("name", "") + " has no bridge " + bridge,
               n.value("name", ""));
    }

    const auto keeper_of = keepers();
    std::set<std::string> ever;
    {
      std::lock_guard lock(model_.mutex);
      ever = model_.ids_ever;
    }
    for (const auto& [id, pid] : keeper_of)
      if (ever.contains(id) && !running.contains(id))
        report(orphans,
               "keeper " + std::to_string(pid) + " of container " + id +
                   ", which is not listed as running",
               id);
    for (const auto& id : ever) {
      if (!running.contains(id) && fs::exists("/sys/fs/cgroup/pids/kleene/" + id))
        report(orphans, "cgroup of container " + id + ", which does not run", id);
    }

    std::lock_guard lock(model_.mutex);
    for (const auto& [id, known] : model_.containers) {
      const bool listed = rows.contains(root_ + "/container/" + id);
      if ((known == Known::exists || known == Known::running) && !listed)
        report(lost, "container " + id + " was created and never removed, but is not listed", id);
      if (known == Known::removed && listed)
        report(orphans, "container " + id + " was removed, but is listed", id);
      if (known == Known::running && !running.contains(id))
        report(lost, "container " + id + " was started and never stopped, but does not run", id);
    }
    for (const auto& [name, known] : model_.volumes) {
      if (known == Known::exists && !listed_volumes.contains(name))
        report(lost, "volume " + name + " is not listed", name);
      if (known == Known::removed && listed_volumes.contains(name))
        report(orphans, "volume " + name + " was removed, but is listed", name);
    }
    for (const auto& [name, known] : model_.networks) {
      if (known == Known::exists && !listed_networks.contains(name))
        report(lost, "network " + name + " is not listed", name);
      if (known == Known::removed && listed_networks.contains(name))
        report(orphans, "network " + name + " was removed, but is listed", name);
    }
    for (const auto& [name, known] : model_.images) {
      if (known == Known::exists && !listed_images.contains(name))
        report(lost, "image " + name + " is not listed", name);
      if (known == Known::removed && listed_images.contains(name))
        report(orphans, "image " + name + " was removed, but is listed", name);
    }
  }

  // Everything the trial made goes, through the API: what a crash left must be removable.
  void clear_trial() {
    for (const auto& c : body_of(api("GET", "/containers/list?all=true"))) {
      const std::string id = c.value("id", "");
      if (c.value("running", false)) {
        EXPECT_EQ(api("POST", "/containers/" + id + "/stop").status, 200) << id;
      }
      EXPECT_EQ(api("DELETE", "/containers/" + id).status, 200) << id;
    }
    EXPECT_EQ(api("POST", "/networks/prune").status, 200);
    EXPECT_EQ(api("POST", "/volumes/prune").status, 200);
    for (const auto& i : body_of(api("GET", "/images/list"))) {
      if (i.value("id", "") != image_id_) {
        EXPECT_EQ(api("DELETE", "/images/" + i.value("id", "")).status, 200) << i.dump();
      }
    }
    std::lock_guard lock(model_.mutex);
    model_.containers.clear();
    model_.volumes.clear();
    model_.networks.clear();
    model_.images.clear();
  }

  int trials_ = 3;
  unsigned seed_ = 0;
  fs::path context_;
  Model model_;
  std::atomic<int> next_{0};
};

TEST_F(CrashConsistencyTest, KilledAtRandomMomentsLeavesNoOrphansAndLosesNothing) {
  std::mt19937 rng(seed_);
  RecordProperty("seed", std::to_string(seed_));
  std::cout << "crash consistency: " << trials_ << " trials, KLEENE_CRASH_SEED=" << seed_
            << std::endl;
  int orphans = 0, lost = 0, repairs = 0, answered = 0;
  std::size_t log_seen = 0;
  for (int trial = 0; trial < trials_; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial) + ", KLEENE_CRASH_SEED=" + std::to_string(seed_));
    std::atomic<bool> stop{false};
    std::vector<std::thread> workers;
    for (int w = 0; w < 3; ++w)
      workers.emplace_back([this, &stop, seed = rng()] { worker(seed, stop); });
    // The fault: SIGKILL after a random part of the workload (the moment is the input, not a
    // synchronisation).
    const auto delay = std::uniform_int_distribution<int>(50, 2500)(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    ASSERT_TRUE(daemon.kill_hard());
    stop = true;
    for (auto& w : workers)
      w.join();
    ASSERT_TRUE(daemon.start());
    const std::string log = read_file(daemon.log_file());
    for (auto at = log_seen; (at = log.find("reconcile: ", at)) != std::string::npos; ++at)
      ++repairs;
    log_seen = log.size();
    check(orphans, lost);
    {
      std::lock_guard lock(model_.mutex);
      answered += model_.answered;
      model_.answered = 0;
    }
    clear_trial();
  }
  std::cout << "crash consistency: " << trials_ << " trials, " << answered
            << " operations answered before the kills, orphans " << orphans << ", lost " << lost
            << ", repairs logged at restart " << repairs << std::endl;
  // The workload did run (a test whose workload never reached kleened proves nothing).
  EXPECT_GT(answered, trials_);
  EXPECT_EQ(orphans, 0);
  EXPECT_EQ(lost, 0);
}

}  // namespace
}  // namespace kleene::it

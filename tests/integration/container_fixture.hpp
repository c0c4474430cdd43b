// What the suites that run kleened on a ZFS pool share (containers, klee's container commands,
// images and volumes, escapes): the busybox rootfs tarball, built once per test binary, and a
// fixture whose kleened has a throw-away pool of its own.
#pragma once

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common.hpp"
#include "support/zfs_pool.hpp"
#include "ws_client.hpp"

namespace kleene::it {

// The busybox rootfs tarball (tests/fixtures/make-busybox-rootfs) in /dev/shm, built on first
// use and removed at exit; empty when it could not be built.
inline const std::string& busybox_tarball() {
  class Tarball {
   public:
    Tarball() {
      char templ[] = "/dev/shm/kl-busybox-it-XXXXXX";
      if (::mkdtemp(templ) == nullptr) return;
      dir_ = templ;
      const std::string out = dir_ + "/busybox.tar.gz";
      auto r = run_command({find_program("bash"), paths::fixtures() + "/make-busybox-rootfs", out},
                           test_environment(), std::chrono::seconds(120));
      if (r.exit_code == 0) path = out;
    }
    ~Tarball() {
      std::error_code ignored;
      if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
    }
    Tarball(const Tarball&) = delete;
    Tarball& operator=(const Tarball&) = delete;

    std::string path;

   private:
    std::string dir_;
  };
  static Tarball tarball;
  return tarball.path;
}

// A KleenedTest whose kleened keeps its datasets under <pool>/kleene on a pool of its own.
class PoolKleenedTest : public KleenedTest {
 protected:
  // Makes the pool, points kleened's config at it and starts kleened (fatal failures: call
  // it in ASSERT_NO_FATAL_FAILURE). Other config settings go in before.
  void start_on_pool(test::TestPoolOptions options = {}) {
    auto pool = test::TestPool::create(std::move(options));
    ASSERT_TRUE(pool) << pool.error().message;
    pool_ = std::move(*pool);
    root_ = pool_->dataset("kleene");
    daemon.config()["kleene_root"] = root_;
    daemon.config()["plugins"] = json{{"zfs", pool_->plugin_config()}};
    ASSERT_TRUE(daemon.start());
  }

  // start_on_pool for the container suites: the busybox tarball built first, a 512M pool (room
  // for an image and its containers) and a 2 s stop_timeout.
  void start_for_containers() {
    ASSERT_FALSE(busybox_tarball().empty()) << "could not build the busybox rootfs";
    daemon.config()["stop_timeout"] = 2;
    ASSERT_NO_FATAL_FAILURE(start_on_pool({.size = "512M"}));
  }

  // Only the root datasets kleened made at start-up are left on the pool.
  void expect_only_root_datasets() const {
    if (!pool_) return;
    EXPECT_EQ(pool_->list_all(), (std::vector<std::string>{root_, root_ + "/container",
                                                           root_ + "/image", root_ + "/volumes"}));
  }

  std::unique_ptr<test::TestPool> pool_;
  std::string root_;
};

// A PoolKleenedTest whose kleened has the busybox rootfs as image `tag` and that removes
// everything the test made (containers, networks, the image) before it stops kleened; with
// helpers for raw API calls.
class ImageKleenedTest : public PoolKleenedTest {
 protected:
  // start_for_containers, then the busybox image (fatal failures: call it in
  // ASSERT_NO_FATAL_FAILURE).
  void start_with_image(const std::string& tag = "busybox") {
    ASSERT_NO_FATAL_FAILURE(start_for_containers());
    auto created = WsClient::run(
        daemon.socket_path(), "/images/create",
        json{{"method", "fetch"}, {"url", "file://" + busybox_tarball()}, {"tag", tag}}.dump());
    ASSERT_EQ(created.close_code, 1000) << created.close_reason << created.output();
    image_id_ = json::parse(created.close_reason)["data"];
  }

  // Stops and removes every container, prunes networks and volumes, removes the image, stops
  // kleened, checks that only kleened's root datasets are left and drops the pool.
  void remove_everything() {
    if (daemon.running()) {
      auto all = api("GET", "/containers/list?all=true");
      for (const auto& c : json::parse(all.body, nullptr, false)) {
        const std::string id = c.value("id", "");
        if (c.value("running", false)) (void)api("POST", "/containers/" + id + "/stop");
        EXPECT_EQ(api("DELETE", "/containers/" + id).status, 200) << id;
      }
      auto pruned = api("POST", "/networks/prune");
      EXPECT_EQ(pruned.status, 200) << pruned.body;
      const auto left = body_of(api("GET", "/networks/list"));
      EXPECT_TRUE(left.empty()) << "networks left: " << left.dump();
      (void)api("POST", "/volumes/prune");
      if (!image_id_.empty()) {
        EXPECT_EQ(api("DELETE", "/images/" + image_id_).status, 200);
      }
      EXPECT_TRUE(daemon.stop());
    }
    expect_only_root_datasets();
    pool_.reset();
  }

  HttpResponse api(const std::string& method, const std::string& target,
                   const std::string& body = "") {
    return http_unix(
        daemon.socket_path(), method, target, body,
        body.empty() ? std::map<std::string, std::string>{}
                     : std::map<std::string, std::string>{{"Content-Type", "application/json"}});
  }
  static json body_of(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }
  static std::string message_of(const HttpResponse& r) {
    auto body = body_of(r);
    if (!body.is_object()) return "<no message: " + r.body + ">";
    return body.value("message", std::string("<no message: ") + r.body + ">");
  }

  std::string image_id_;
};

}  // namespace kleene::it

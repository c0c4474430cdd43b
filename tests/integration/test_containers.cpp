// The container and exec API end to end: a real kleened on a throw-away ZFS pool, a busybox
// image made by kleened itself (image create fetch file://), driven over raw HTTP and
// WebSocket (harness/ws_client) so the daemon's answers are checked, not klee's rendering.
// Tests that need running containers skip while kleened has no container runtime.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "container_fixture.hpp"
#include "util/strings.hpp"
#include "ws_client.hpp"

namespace kleene::it {
namespace {

namespace fs = std::filesystem;

class ContainersApiTest : public ImageKleenedTest {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(start_with_image()); }
  void TearDown() override { remove_everything(); }

  // POST /containers/create; the id (asserting 201).
  std::string create(const std::string& name, json config = json::object()) {
    if (!config.contains("image")) config["image"] = "busybox";
    auto r =
        api("POST", "/containers/create" + (name.empty() ? "" : "?name=" + name), config.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return body_of(r).value("id", "");
  }

  std::string exec_create(const std::string& container, json config = json::object()) {
    config["container_id"] = container;
    auto r = api("POST", "/exec/create", config.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return body_of(r).value("id", "");
  }

  WsClient::Outcome exec_start(const std::string& exec_id, bool attach, bool start_container) {
    return WsClient::run(
        daemon.socket_path(), "/exec/start",
        json{{"exec_id", exec_id}, {"attach", attach}, {"start_container", start_container}}
            .dump());
  }

  static std::string close_message(const WsClient::Outcome& o) {
    return json::parse(o.close_reason, nullptr, false).value("message", o.close_reason);
  }

  // Skips the test while kleened cannot run containers.
  bool runtime_missing(const WsClient::Outcome& o) {
    const auto message = close_message(o);
    return o.close_code == 1011 && message.find("runtime is not") != std::string::npos;
  }

  std::string dataset(const std::string& id) const { return root_ + "/container/" + id; }
  bool exists(const std::string& name) const {
    const auto all = pool_->list_all();
    return std::ranges::find(all, name) != all.end();
  }
};

TEST_F(ContainersApiTest, CreateListInspectRemove) {
  const auto id = create("web", {{"cmd", {"/bin/sh", "-c", "echo hi"}},
                                 {"env", {"A=1"}},
                                 {"jail_param", json::array()},
                                 {"network_driver", "host"}});
  ASSERT_EQ(id.size(), 12u);
  EXPECT_TRUE(exists(dataset(id)));

  auto listed = body_of(api("GET", "/containers/list"));
  EXPECT_TRUE(listed.empty()) << "only running containers without all=true";
  listed = body_of(api("GET", "/containers/list?all=true"));
  ASSERT_EQ(listed.size(), 1u);
  const auto& summary = listed[0];
  EXPECT_EQ(summary["id"], id);
  EXPECT_EQ(summary["name"], "web");
  EXPECT_EQ(summary["image_id"], image_id_);
  EXPECT_EQ(summary["image_name"], "busybox");
  EXPECT_EQ(summary["image_tag"], "latest");
  EXPECT_EQ(summary["running"], false);
  EXPECT_TRUE(summary["jid"].is_null());
  EXPECT_EQ(summary["cmd"], json({"/bin/sh", "-c", "echo hi"}));
  EXPECT_EQ(summary["network_driver"], "host");
  EXPECT_EQ(summary["restart_policy"], "no");
  EXPECT_EQ(summary["persist"], false);
  EXPECT_EQ(summary["dataset"], dataset(id));

  for (const std::string& ident : {id, std::string("web"), id.substr(0, 5)}) {
    auto inspected = api("GET", "/containers/" + ident + "/inspect");
    ASSERT_EQ(inspected.status, 200) << inspected.body;
    auto body = body_of(inspected);
    EXPECT_EQ(body["container"]["id"], id);
    EXPECT_TRUE(body["container_endpoints"].is_array());
    EXPECT_TRUE(body["container_mountpoints"].empty());
  }
  // The image's env is merged under the container's.
  auto env = body_of(api("GET", "/containers/web/inspect"))["container"]["env"];
  EXPECT_NE(std::ranges::find(env, json("A=1")), env.end());

  auto removed = api("DELETE", "/containers/web");
  ASSERT_EQ(removed.status, 200) << removed.body;
  EXPECT_EQ(body_of(removed)["id"], id);
  EXPECT_FALSE(exists(dataset(id)));
  auto gone = api("GET", "/containers/" + id + "/inspect");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(message_of(gone), "no such container: " + id);
  EXPECT_EQ(api("DELETE", "/containers/" + id).status, 404);
}

// Removing asks storage once to destroy the dataset; one that is gone already (destroyed behind
// kleened's back) is what removing wants, not an error.
TEST_F(ContainersApiTest, RemovingAContainerWhoseDatasetIsGoneRemovesIt) {
  const auto id = create("", {{"cmd", {"/bin/true"}}, {"network_driver", "disabled"}});
  ASSERT_TRUE(exists(dataset(id)));
  ASSERT_TRUE(pool_->zfs({"unmount", dataset(id)}));
  // zfs-fuse lets go of an unmounted dataset a moment after the unmount ("dataset is busy"
  // until then) and says nothing when it has: retried with backoff, as the plugin does.
  auto destroyed = pool_->zfs({"destroy", dataset(id)});
  for (int attempt = 1; !destroyed && attempt < 10; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1 << attempt));
    destroyed = pool_->zfs({"destroy", dataset(id)});
  }
  ASSERT_TRUE(destroyed) << destroyed.error().message;
  ASSERT_FALSE(exists(dataset(id)));
  auto removed = api("DELETE", "/containers/" + id);
  ASSERT_EQ(removed.status, 200) << removed.body;
  EXPECT_EQ(api("GET", "/containers/" + id + "/inspect").status, 404);
}

TEST_F(ContainersApiTest, CreateErrorsLeaveNothing) {
  auto r = api("POST", "/containers/create", json{{"image", "nope"}}.dump());
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(message_of(r), "no such image 'nope'");
  r = api("POST", "/containers/create", json{{"image", "busybox@nosnap"}}.dump());
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(message_of(r), "no such snapshot '@nosnap' of image 'busybox@nosnap'");
  r = api("POST", "/containers/create?name=-bad", json{{"image", "busybox"}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(message_of(r), "-bad does not match /?[a-zA-Z0-9][a-zA-Z0-9_.-]+$");
  r = api("POST", "/containers/create", json{{"image", "busybox"}, {"cmd", "ls"}}.dump());
  EXPECT_EQ(r.status, 422);
  r = api("POST", "/containers/create",
          json{{"image", "busybox"},
               {"mounts", {{{"type", "volume"}, {"source", "v"}, {"destination", "rel"}}}}}
              .dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(message_of(r), "mount destination 'rel' is not an absolute path");
  r = api(
      "POST", "/containers/create",
      json{{"image", "busybox"},
           {"mounts", {{{"type", "nullfs"}, {"source", "/nonexistent/kl"}, {"destination", "/x"}}}}}
          .dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(message_of(r), "mount source '/nonexistent/kl' does not exist");
  r = api("POST", "/containers/create",
          json{{"image", "busybox"}, {"network_driver", "klnope"}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(message_of(r).starts_with("unknown network driver 'klnope'; available: "));
  r = api("POST", "/containers/create",
          json{{"image", "busybox"}, {"jail_param", {"kl.nosuchparam"}}}.dump());
  EXPECT_GE(r.status, 400);
  EXPECT_NE(message_of(r).find("kl.nosuchparam"), std::string::npos) << r.body;

  create("taken");
  r = api("POST", "/containers/create?name=taken", json{{"image", "busybox"}}.dump());
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(message_of(r), "container name 'taken' is already in use");
  // Only the one container was made.
  EXPECT_EQ(body_of(api("GET", "/containers/list?all=true")).size(), 1u);
  const auto all = pool_->list_all();
  EXPECT_EQ(std::ranges::count_if(
                all, [&](const std::string& d) { return d.starts_with(root_ + "/container/"); }),
            1);
}

TEST_F(ContainersApiTest, UpdateChangesOnlyWhatIsSentAndRenames) {
  const auto id = create("one", {{"env", {"A=1"}}, {"user", "nobody"}});
  create("two");
  auto r = api("POST", "/containers/one/update", json{{"name", "two"}}.dump());
  EXPECT_EQ(r.status, 409);
  r = api("POST", "/containers/one/update", json{{"name", "!bad"}}.dump());
  EXPECT_EQ(r.status, 400);
  r = api("POST", "/containers/one/update",
          json{{"name", "renamed"}, {"persist", true}, {"env", nullptr}}.dump());
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(body_of(r)["id"], id);
  auto c = body_of(api("GET", "/containers/renamed/inspect"))["container"];
  EXPECT_EQ(c["name"], "renamed");
  EXPECT_EQ(c["persist"], true);
  EXPECT_EQ(c["user"], "nobody");
  EXPECT_NE(std::ranges::find(c["env"], json("A=1")), c["env"].end());
  r = api("POST", "/containers/renamed/update",
          json{{"restart_policy", "on-startup"}, {"cmd", {"/bin/true"}}}.dump());
  ASSERT_EQ(r.status, 201);
  c = body_of(api("GET", "/containers/" + id + "/inspect"))["container"];
  EXPECT_EQ(c["restart_policy"], "on-startup");
  EXPECT_EQ(c["cmd"], json({"/bin/true"}));
  EXPECT_EQ(api("POST", "/containers/nope/update", "{}").status, 404);
}

TEST_F(ContainersApiTest, PruneKeepsPersist) {
  const auto keep = create("keep", {{"persist", true}});
  const auto go = create("go");
  auto r = api("POST", "/containers/prune");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r), json({go}));
  EXPECT_EQ(api("GET", "/containers/" + keep + "/inspect").status, 200);
  EXPECT_FALSE(exists(dataset(go)));
}

TEST_F(ContainersApiTest, VolumeMountIsCreatedAndPopulatedFromTheImage) {
  const std::string host_dir = pool_->dir() / "klhost";
  fs::create_directories(host_dir);
  const auto id =
      create("vol", {{"mounts",
                      {{{"type", "volume"}, {"source", "klvol"}, {"destination", "/etc/"}},
                       {{"type", "nullfs"},
                        {"source", host_dir},
                        {"destination", "/host"},
                        {"read_only", true}}}}});
  auto volume = api("GET", "/volumes/klvol/inspect");
  ASSERT_EQ(volume.status, 200) << volume.body;
  const std::string mountpoint = body_of(volume)["volume"]["mountpoint"];
  EXPECT_TRUE(fs::exists(fs::path(mountpoint) / "passwd"));
  auto mounts = body_of(api("GET", "/containers/vol/inspect"))["container_mountpoints"];
  ASSERT_EQ(mounts.size(), 2u);
  EXPECT_EQ(mounts[0]["destination"], "/etc");
  EXPECT_EQ(mounts[0]["type"], "volume");
  EXPECT_EQ(mounts[1]["read_only"], true);
  // The volume outlives its container but cannot go while mounted.
  EXPECT_EQ(api("DELETE", "/volumes/klvol").status, 409);
  EXPECT_EQ(api("DELETE", "/containers/" + id).status, 200);
  EXPECT_EQ(api("DELETE", "/volumes/klvol").status, 200);
}

// A volume removal racing a create that mounts the volume: whatever each answers, a listed
// volume has its dataset, and a volume that a created container mounts is listed. Destroying
// the dataset before deleting the row let such a create slip in between: the removal answered
// 409 and left the volume without its dataset, and its row went at the next start (found by
// CrashConsistencyTest under ASan).
TEST_F(ContainersApiTest, VolumeRemovalRacingACreateThatMountsItLosesNothing) {
  int refused = 0;
  for (int round = 0; round < 12; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string volume = "klrace" + std::to_string(round);
    const std::string dataset = root_ + "/volumes/" + volume;
    ASSERT_EQ(api("POST", "/volumes/create", json{{"name", volume}}.dump()).status, 201);
    HttpResponse created;
    std::thread creator([&] {
      created =
          api("POST", "/containers/create?name=" + volume,
              json{{"image", "busybox"},
                   {"mounts", {{{"type", "volume"}, {"source", volume}, {"destination", "/etc"}}}}}
                  .dump());
    });
    const int removed = api("DELETE", "/volumes/" + volume).status;
    creator.join();
    EXPECT_TRUE(removed == 200 || removed == 409) << removed;
    refused += removed == 409 ? 1 : 0;
    const bool listed = api("GET", "/volumes/" + volume + "/inspect").status == 200;
    const auto all = pool_->list_all();
    const bool made = std::find(all.begin(), all.end(), dataset) != all.end();
    EXPECT_EQ(listed, made) << "the row and the dataset disagree";
    if (created.status == 201 || removed == 409) {
      EXPECT_TRUE(listed) << "create " << created.status << ", remove " << removed;
      EXPECT_TRUE(made);
    }
    if (created.status == 201) {
      EXPECT_EQ(api("DELETE", "/containers/" + body_of(created).value("id", "")).status, 200);
    }
    if (listed) {
      EXPECT_EQ(api("DELETE", "/volumes/" + volume).status, 200);
    }
  }
  std::cout << "volume removals refused as mounted: " << refused << " of 12" << std::endl;
}

// An image removal racing a create from that image: either the removal comes first (200, and
// the create finds no image) or it sees the container (409). Between the clone and the row it
// failed with zfs's "filesystem has dependent clones" (500).
TEST_F(ContainersApiTest, ImageRemovalRacingACreateFromItIsRefusedOrFirst) {
  int refused = 0;
  for (int round = 0; round < 8; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    auto made = WsClient::run(daemon.socket_path(), "/images/create",
                              json{{"method", "fetch"},
                                   {"url", "file://" + busybox_tarball()},
                                   {"tag", "klracei:" + std::to_string(round)}}
                                  .dump());
    ASSERT_EQ(made.close_code, 1000) << made.close_reason;
    const std::string image = json::parse(made.close_reason)["data"];
    HttpResponse created;
    std::thread creator([&] {
      created = api("POST", "/containers/create?name=klracei" + std::to_string(round),
                    json{{"image", image}}.dump());
    });
    const auto removed = api("DELETE", "/images/" + image);
    creator.join();
    EXPECT_TRUE(removed.status == 200 || removed.status == 409) << removed.body;
    if (created.status == 201) {
      EXPECT_EQ(removed.status, 409) << "a container was created from a removed image";
      EXPECT_EQ(api("DELETE", "/containers/" + body_of(created).value("id", "")).status, 200);
    } else {
      EXPECT_EQ(created.status, 404) << created.body;
    }
    if (removed.status == 409) {
      ++refused;
      EXPECT_EQ(api("DELETE", "/images/" + image).status, 200);
    }
  }
  std::cout << "image removals refused as used: " << refused << " of 8" << std::endl;
}

TEST_F(ContainersApiTest, ExecErrors) {
  auto r = api("POST", "/exec/create", json{{"container_id", "nope"}}.dump());
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(message_of(r), "container not found");
  auto unknown = exec_start("000000000abc", true, true);
  EXPECT_EQ(unknown.close_code, 1011);
  EXPECT_EQ(close_message(unknown), "could not find a execution instance matching '000000000abc'");
  auto invalid = WsClient::run(daemon.socket_path(), "/exec/start", R"({"exec_id":"x"})");
  EXPECT_EQ(invalid.close_code, 1002);

  const auto id = create("stopped");
  const auto exec = exec_create(id);
  auto refused = exec_start(exec, true, false);
  EXPECT_EQ(refused.close_code, 1011);
  EXPECT_EQ(close_message(refused), "cannot start container when 'start_container' is false.");
  r = api("POST", "/containers/" + id + "/stop");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(message_of(r), "container not running");
  // An instance that never ran is removed by stop.
  r = api("POST", "/exec/" + exec + "/stop?force_stop=false&stop_container=false");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(api("POST", "/exec/" + exec + "/stop?force_stop=false&stop_container=false").status,
            404);
}

TEST_F(ContainersApiTest, RunAttachedOutputAndExitCodes) {
  const auto id = create("run", {{"cmd", {"/bin/sh", "-c", "echo hello; exit 3"}}});
  const auto exec = exec_create(id);
  auto outcome = exec_start(exec, true, true);
  if (runtime_missing(outcome)) GTEST_SKIP() << close_message(outcome);
  ASSERT_EQ(outcome.close_code, 1000) << outcome.close_reason;
  ASSERT_FALSE(outcome.frames.empty());
  EXPECT_EQ(json::parse(outcome.frames[0].data)["msg_type"], "starting");
  EXPECT_EQ(outcome.output(), "hello\n");
  auto reason = json::parse(outcome.close_reason);
  EXPECT_EQ(reason["msg_type"], "closing");
  EXPECT_EQ(reason["message"], "executable " + exec + " and its container exited with exit-code 3");
  EXPECT_EQ(reason["data"], "");  // as Kleene: the code is in the message
  EXPECT_FALSE(body_of(api("GET", "/containers/run/inspect"))["container"]["running"]);
  // The instance is gone once it ran.
  EXPECT_EQ(close_message(exec_start(exec, true, true)),
            "could not find a execution instance matching '" + exec + "'");
}

TEST_F(ContainersApiTest, DetachedContainerExecStdinStopAndRemove) {
  const auto id = create("bg", {{"cmd", {"/bin/sleep", "100"}}, {"env", {"KL=container"}}});
  const auto first = exec_create(id);
  auto detached = exec_start(first, false, true);
  if (runtime_missing(detached)) GTEST_SKIP() << close_message(detached);
  ASSERT_EQ(detached.close_code, 1001) << detached.close_reason;
  EXPECT_EQ(close_message(detached), "succesfully started execution instance in detached mode");
  auto again = exec_start(first, false, true);
  EXPECT_EQ(close_message(again), "executable already started");

  auto listed = body_of(api("GET", "/containers/list"));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["running"], true);
  EXPECT_GT(listed[0]["jid"].get<int>(), 1);
  auto busy = api("DELETE", "/containers/bg");
  EXPECT_EQ(busy.status, 409);
  EXPECT_EQ(message_of(busy), "you cannot remove a running container");

  // env: image < container < exec; the exit of an exec leaves the container running.
  const auto env_exec =
      exec_create(id, {{"cmd", {"/bin/sh", "-c", "echo $KL $KX"}}, {"env", {"KX=exec"}}});
  auto env_out = exec_start(env_exec, true, false);
  ASSERT_EQ(env_out.close_code, 1000) << env_out.close_reason;
  EXPECT_EQ(env_out.output(), "container exec\n");
  EXPECT_EQ(close_message(env_out), env_exec + " has exited with exit-code 0");

  // stdin: a text frame, then end of stdin (binary frame 0x02).
  const auto cat = exec_create(id, {{"cmd", {"/bin/cat"}}});
  {
    WsClient client(daemon.socket_path(), "/exec/start");
    client.send_text(json{{"exec_id", cat}, {"attach", true}, {"start_container", false}}.dump());
    auto starting = client.next();
    ASSERT_TRUE(starting);
    EXPECT_EQ(json::parse(starting->data)["msg_type"], "starting");
    client.send_text("abc\n");
    client.send_binary(std::string("\x02", 1));
    auto rest = client.finish();
    EXPECT_EQ(rest.close_code, 1000);
    std::string out;
    for (const auto& f : rest.frames)
      out += f.data;
    EXPECT_EQ(out, "abc\n");
    EXPECT_EQ(close_message(rest), cat + " has exited with exit-code 0");
  }

  // exec stop with force: 137.
  const auto sleeper = exec_create(id, {{"cmd", {"/bin/sleep", "100"}}});
  {
    WsClient client(daemon.socket_path(), "/exec/start");
    client.send_text(
        json{{"exec_id", sleeper}, {"attach", true}, {"start_container", false}}.dump());
    ASSERT_TRUE(client.next());  // starting
    auto stopped = api("POST", "/exec/" + sleeper + "/stop?force_stop=true&stop_container=false");
    EXPECT_EQ(stopped.status, 200) << stopped.body;
    auto rest = client.finish();
    EXPECT_EQ(close_message(rest), sleeper + " has exited with exit-code 137");
  }

  auto stopped = api("POST", "/containers/bg/stop");
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_EQ(body_of(stopped)["id"], id);
  EXPECT_FALSE(body_of(api("GET", "/containers/bg/inspect"))["container"]["running"]);
  EXPECT_EQ(api("DELETE", "/containers/bg").status, 200);
}

// kleened restarted: a running container is re-adopted untouched (same JID); a stopped one
// with restart policy on-startup is started before kleened reports ready.
TEST_F(ContainersApiTest, RestartedKleenedReadoptsAndStartsOnStartup) {
  const auto running = create("running", {{"cmd", {"/bin/sleep", "100"}}});
  auto detached = exec_start(exec_create(running), false, true);
  if (runtime_missing(detached)) GTEST_SKIP() << close_message(detached);
  ASSERT_EQ(detached.close_code, 1001) << detached.close_reason;
  const auto autostart =
      create("autostart", {{"cmd", {"/bin/sleep", "100"}}, {"restart_policy", "on-startup"}});
  const auto jid = body_of(api("GET", "/containers/list"))[0]["jid"];
  ASSERT_TRUE(jid.is_number());

  ASSERT_TRUE(daemon.stop());
  ASSERT_TRUE(daemon.start());
  auto listed = body_of(api("GET", "/containers/list"));
  ASSERT_EQ(listed.size(), 2u) << listed.dump();
  for (const auto& c : listed) {
    EXPECT_EQ(c["running"], true);
    if (c["id"] == running) {
      EXPECT_EQ(c["jid"], jid);
    }
  }
  EXPECT_EQ(api("POST", "/containers/" + autostart + "/stop").status, 200);
  EXPECT_EQ(api("POST", "/containers/" + running + "/stop").status, 200);
}

TEST_F(ContainersApiTest, UpdateJailParamsOfARunningContainerAndStopItThroughAnExec) {
  const auto id = create("live", {{"cmd", {"/bin/sleep", "100"}}});
  const auto exec = exec_create(id);
  {
    WsClient client(daemon.socket_path(), "/exec/start");
    client.send_text(json{{"exec_id", exec}, {"attach", true}, {"start_container", true}}.dump());
    auto starting = client.next();
    ASSERT_TRUE(starting);
    if (starting->opcode == 8) GTEST_SKIP() << starting->data;
    auto updated = api("POST", "/containers/live/update",
                       json{{"jail_param", {"exec.jail_user=nobody", "mount.nodevfs"}}}.dump());
    ASSERT_EQ(updated.status, 201) << updated.body;
    auto body = body_of(updated);
    EXPECT_EQ(body["id"], id);
    ASSERT_TRUE(body.contains("warning")) << body.dump();
    EXPECT_NE(body["warning"].get<std::string>().find("mount.devfs"), std::string::npos)
        << body.dump();
    EXPECT_EQ(body["warning"].get<std::string>().find("exec.jail_user"), std::string::npos);
    auto stopped = api("POST", "/exec/" + exec + "/stop?force_stop=false&stop_container=true");
    EXPECT_EQ(stopped.status, 200) << stopped.body;
    auto rest = client.finish();
    EXPECT_EQ(rest.close_code, 1000);
    EXPECT_EQ(close_message(rest),
              "executable " + exec + " and its container exited with exit-code 143");
  }
  EXPECT_FALSE(body_of(api("GET", "/containers/live/inspect"))["container"]["running"]);
  auto bad = api("POST", "/containers/live/update", json{{"jail_param", {"kl.nope"}}}.dump());
  EXPECT_GE(bad.status, 400);
}

// A tty execution gets the window size sent in a 0x01 control frame; malformed ones before it
// are ignored (a string for "rows" used to throw on the input thread and end kleened).
TEST_F(ContainersApiTest, TtyResizeControlFrame) {
  const auto id = create("tty");
  const auto exec =
      exec_create(id, {{"cmd", {"/bin/sh", "-c", "read line; stty size"}}, {"tty", true}});
  WsClient client(daemon.socket_path(), "/exec/start");
  client.send_text(json{{"exec_id", exec}, {"attach", true}, {"start_container", true}}.dump());
  auto starting = client.next();
  ASSERT_TRUE(starting);
  if (starting->opcode == 8) GTEST_SKIP() << starting->data;
  for (const std::string& hostile : std::vector<std::string>{
           R"({"rows":"x","cols":1})", R"({"rows":-1,"cols":5})", R"({"rows":70000,"cols":5})",
           R"({"rows":1e400,"cols":5})", R"({"rows":18446744073709551615,"cols":5})", "[1]",
           "not json", std::string(100, '[') + std::string(100, ']')})
    client.send_binary(std::string("\x01", 1) + hostile);
  client.send_binary(std::string("\x01", 1) + R"({"rows":41,"cols":101})");
  client.send_text("go\r");
  auto rest = client.finish();
  std::string out;
  for (const auto& f : rest.frames)
    out += f.data;
  EXPECT_NE(out.find("41 101"), std::string::npos) << out;
  EXPECT_EQ(close_message(rest),
            "executable " + exec + " and its container exited with exit-code 0");
}

// exec.prestart and exec.poststop run on the host (sh -c), around the container's life.
TEST_F(ContainersApiTest, HostHooksRunAroundTheContainer) {
  const std::string log = (pool_->dir() / "klhooks.log").string();
  const auto id = create(
      "hooks",
      {{"cmd", {"/bin/true"}},
       {"jail_param", {"exec.prestart=echo pre >> " + log, "exec.poststop=echo post >> " + log}}});
  auto outcome = exec_start(exec_create(id), true, true);
  if (runtime_missing(outcome)) GTEST_SKIP() << close_message(outcome);
  ASSERT_EQ(outcome.close_code, 1000) << outcome.close_reason;
  std::ifstream in(log);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "pre\npost\n");
}

// A container from IMAGE@SNAPSHOT; a read-only volume; a missing binary.
TEST_F(ContainersApiTest, SnapshotReadOnlyAndMissingBinary) {
  const std::string snapshot = root_ + "/image/" + image_id_ + "@klsnap";
  ASSERT_TRUE(pool_->zfs({"snapshot", snapshot}));
  const auto id = create(
      "snap",
      {{"image", "busybox@klsnap"},
       {"mounts",
        {{{"type", "volume"}, {"source", "klro"}, {"destination", "/ro"}, {"read_only", true}}}}});
  auto touch = exec_start(exec_create(id, {{"cmd", {"/bin/touch", "/ro/x"}}}), true, true);
  if (!runtime_missing(touch)) {
    ASSERT_EQ(touch.close_code, 1000) << touch.close_reason;
    EXPECT_NE(touch.output().find("Read-only file system"), std::string::npos) << touch.output();
    EXPECT_NE(json::parse(touch.close_reason)["message"].get<std::string>().find("exit-code 1"),
              std::string::npos);

    auto missing = exec_start(exec_create(id, {{"cmd", {"/bin/klnope"}}}), true, true);
    EXPECT_NE(close_message(missing).find("127"), std::string::npos)
        << missing.close_reason << missing.output();
  }
  auto r = api("POST", "/containers/snap/stop");  // running or not: both fine here
  EXPECT_TRUE(r.status == 200 || r.status == 409) << r.body;
  EXPECT_EQ(api("DELETE", "/containers/snap").status, 200);
  EXPECT_TRUE(pool_->zfs({"destroy", snapshot}));
}

// A client that goes away stops its attached execution (Kleene); the container lives on.
TEST_F(ContainersApiTest, ClientGoneStopsItsExecution) {
  const auto id = create("gone", {{"cmd", {"/bin/sleep", "100"}}});
  auto keep = exec_start(exec_create(id), false, true);
  if (runtime_missing(keep)) GTEST_SKIP() << close_message(keep);
  ASSERT_EQ(keep.close_code, 1001) << keep.close_reason;
  {
    WsClient client(daemon.socket_path(), "/exec/start");
    client.send_text(json{
        {"exec_id", exec_create(id, {{"cmd", {"/bin/sleep", "200"}}})},
        {"attach", true},
        {"start_container",
         false}}.dump());
    ASSERT_TRUE(client.next());  // starting
    client.send_close();
    (void)client.finish();
  }
  // Waits inside the container until `sleep 200` is gone (bounded by the client's timeout).
  auto check = exec_start(
      exec_create(id,
                  {{"cmd",
                    {"/bin/sh", "-c",
                     "while ps -o args | grep -q '[s]leep 200'; do sleep 0.1; done; echo gone"}}}),
      true, false);
  EXPECT_EQ(check.output(), "gone\n");
  EXPECT_EQ(check.close_code, 1000) << check.close_reason;
  EXPECT_TRUE(body_of(api("GET", "/containers/gone/inspect"))["container"]["running"]);
  EXPECT_EQ(api("POST", "/containers/gone/stop").status, 200);
}

// exec.stop runs in the container before it stops; one that hangs is killed after the stop
// timeout (2 s here) instead of holding the stop forever.
TEST_F(ContainersApiTest, ExecStopHookRunsAndIsBounded) {
  const auto id = create(
      "stophook", {{"cmd", {"/bin/sleep", "100"}},
                   {"jail_param", {"exec.stop=echo bye > /stopped", "exec.stop=sleep 1000"}}});
  auto started = exec_start(exec_create(id), false, true);
  if (runtime_missing(started)) GTEST_SKIP() << close_message(started);
  ASSERT_EQ(started.close_code, 1001) << started.close_reason;
  const auto before = std::chrono::steady_clock::now();
  auto stopped = api("POST", "/containers/stophook/stop");
  EXPECT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(30));
  auto mountpoint = pool_->zfs({"get", "-H", "-o", "value", "mountpoint", dataset(id)});
  ASSERT_TRUE(mountpoint) << mountpoint.error().message;
  std::ifstream in(fs::path(std::string(trim(*mountpoint))) / "stopped");
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "bye\n");
}

}  // namespace
}  // namespace kleene::it

// The build executor against a fake engine: which engine operations a build makes (lazy build
// containers, cache hits, commits), what it copies into a container root (a tmpfs directory)
// and that no build container outlives a build, whatever fails.
#include "builder/executor.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>

#include <gtest/gtest.h>

namespace kleene::builder {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class FakeEngine {
 public:
  explicit FakeEngine(fs::path dir) : dir_(std::move(dir)) {}

  json operator()(const std::string& op, const json& request) {
    calls.emplace_back(op, request);
    if (op == fail_on) throw std::runtime_error("build cancelled");
    if (op == "emit") {
      output += request.at("data").get<std::string>() + "\n";
      return json::object();
    }
    if (op == "image_inspect") {
      const std::string ref = request.at("image");
      if (ref.rfind("base", 0) != 0 && ref.rfind("img", 0) != 0)
        throw std::runtime_error("no such image '" + ref + "'");
      const auto at = ref.find('@');
      const std::string id = ref.substr(0, at);
      return json{
          {"image", {{"id", id}, {"cmd", {"/bin/sh"}}, {"env", {"PATH=/bin"}}, {"user", "root"}}},
          {"snapshot", "pool/image/" + id + (at == std::string::npos ? "@image" : ref.substr(at))}};
    }
    if (op == "container_create") {
      const std::string id = "c" + std::to_string(++containers_);
      const fs::path root = dir_ / id;
      fs::create_directories(root);
      live.insert(id);
      return json{{"id", id}, {"root", root.string()}};
    }
    if (op == "exec") return json{{"exit_code", exit_code}};
    if (op == "snapshot") return json{{"snapshot", "@s" + std::to_string(++snapshots_)}};
    if (op == "cache_lookup") {
      auto it = cache.find(request.at("key").get<std::string>());
      return it == cache.end() ? json::object() : it->second;
    }
    if (op == "commit") {
      live.erase(request.at("container").get<std::string>());
      commits.push_back(request);
      return json{{"id", "img" + std::to_string(commits.size())}};
    }
    if (op == "container_remove") {
      live.erase(request.at("container").get<std::string>());
      return json::object();
    }
    if (op == "unpack") {
      if (unpack == "unsupported") throw EngineUnsupported("unknown engine operation 'unpack'");
      if (unpack == "fail") throw std::runtime_error("boom");
      return json{{"entries", 1}};
    }
    throw std::runtime_error("unknown op " + op);
  }

  std::vector<json> requests(const std::string& op) const {
    std::vector<json> out;
    for (const auto& [name, request] : calls)
      if (name == op) out.push_back(request);
    return out;
  }
  // What a kept image's cache entries make available to the next build.
  void remember(const json& commit, const std::string& image) {
    for (const auto& entry : commit.at("cache"))
      cache[entry[0].get<std::string>()] = json{{"image", image}, {"snapshot", entry[1]}};
  }

  std::vector<std::pair<std::string, json>> calls;
  std::vector<json> commits;
  std::set<std::string> live;
  std::map<std::string, json> cache;
  std::string output;
  std::string fail_on;
  std::string unpack = "unsupported";  // or "done", "fail"
  int exit_code = 0;

 private:
  fs::path dir_;
  int containers_ = 0;
  int snapshots_ = 0;
};

class ExecutorTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path("/dev/shm") / ("kl-executor-" + std::to_string(::getpid()) + "-" +
                                   testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "ctx");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& path, const std::string& text) {
    fs::create_directories((dir_ / "ctx" / path).parent_path());
    std::ofstream(dir_ / "ctx" / path) << text;
  }
  json build(FakeEngine& engine, json overrides = json::object()) {
    json request{{"build", "b1"},
                 {"context", (dir_ / "ctx").string()},
                 {"name", "web"},
                 {"tag", "1"},
                 {"cleanup", true}};
    request.update(overrides);
    return run_build([&](const std::string& op, json body) { return engine(op, body); }, request);
  }
  FakeEngine engine() { return FakeEngine(dir_ / "roots"); }

  fs::path dir_;
};

TEST_F(ExecutorTest, ABuildCommitsItsContainerAndCopiesIntoItsRoot) {
  write("Dockerfile", "FROM base\nRUN make\nCOPY a.txt /srv/\nWORKDIR /work/dir\nCMD [\"x\"]\n");
  write("a.txt", "a\n");
  auto e = engine();
  const auto result = build(e);
  ASSERT_EQ(result.value("status", ""), "ok") << result.dump() << e.output;
  EXPECT_EQ(result["id"], "img1");
  ASSERT_EQ(e.requests("container_create").size(), 1u);
  EXPECT_EQ(e.requests("container_create")[0]["image"], "base");
  ASSERT_EQ(e.commits.size(), 1u);
  const auto& commit = e.commits[0];
  EXPECT_EQ(commit["name"], "web");
  EXPECT_EQ(commit["tag"], "1");
  EXPECT_EQ(commit["origin"], "pool/image/base@image");
  EXPECT_EQ(commit["image"]["cmd"], json({"x"}));
  EXPECT_EQ(commit["image"]["workdir"], "/work/dir");
  EXPECT_EQ(commit["cache"].size(), 2u);  // RUN and COPY
  const auto exec = e.requests("exec").at(0);
  EXPECT_EQ(exec["argv"], json({"/bin/sh", "-c", "make"}));
  EXPECT_EQ(exec["workdir"], "/");
  std::ifstream copied(dir_ / "roots" / "c1" / "srv" / "a.txt");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(copied), {}), "a\n");
  EXPECT_TRUE(fs::is_directory(dir_ / "roots" / "c1" / "work" / "dir"));
  EXPECT_TRUE(e.live.empty());
  EXPECT_NE(e.output.find("Step 2/5 : RUN make\n--> Snapshot created: @s1\n"), std::string::npos)
      << e.output;
}

// ADD's archives go to the engine (kleened unpacks them in its confined helper); an engine
// without `unpack` leaves them to the executor, with the same rules.
TEST_F(ExecutorTest, AddHandsArchivesToTheEngineOrUnpacksThemItself) {
  write("Dockerfile", "FROM base\nADD payload.tar /opt/\n");
  write("src/inner/file.txt", "unpacked\n");
  const std::string tar = "/bin/tar -C '" + (dir_ / "ctx" / "src").string() + "' -cf '" +
                          (dir_ / "ctx" / "payload.tar").string() + "' inner";
  ASSERT_EQ(std::system(tar.c_str()), 0);

  auto e = engine();
  auto result = build(e, {{"no_cache", true}});
  ASSERT_EQ(result.value("status", ""), "ok") << result.dump() << e.output;
  std::ifstream unpacked(dir_ / "roots" / "c1" / "opt" / "inner" / "file.txt");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(unpacked), {}), "unpacked\n");

  auto by_engine = engine();
  by_engine.unpack = "done";
  result = build(by_engine, {{"no_cache", true}});
  ASSERT_EQ(result.value("status", ""), "ok") << result.dump() << by_engine.output;
  ASSERT_EQ(by_engine.requests("unpack").size(), 1u);
  const json request = by_engine.requests("unpack")[0];
  EXPECT_TRUE(request["archive_fd"].is_number_integer()) << request.dump();
  EXPECT_TRUE(request["root_fd"].is_number_integer()) << request.dump();
  EXPECT_FALSE(fs::exists(dir_ / "roots" / "c2" / "opt" / "inner"));  // the engine's job

  auto failing = engine();
  failing.unpack = "fail";
  result = build(failing, {{"no_cache", true}});
  EXPECT_EQ(result.value("status", ""), "failed") << result.dump();
  EXPECT_NE(failing.output.find("ADD failed: payload.tar: boom"), std::string::npos)
      << failing.output;
}

TEST_F(ExecutorTest, AllStepsCachedMakeOneContainerFromTheLastSnapshot) {
  write("Dockerfile", "FROM base\nRUN one\nCOPY a.txt /a\nRUN three\nWORKDIR /late\n");
  write("a.txt", "a\n");
  auto first = engine();
  ASSERT_EQ(build(first).value("status", ""), "ok") << first.output;
  auto second = engine();
  second.remember(first.commits.at(0), "img1");
  const auto result = build(second);
  ASSERT_EQ(result.value("status", ""), "ok") << result.dump() << second.output;
  EXPECT_TRUE(second.requests("exec").empty());
  const auto created = second.requests("container_create");
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0]["image"], "img1@s3");  // the last RUN's snapshot, reused
  EXPECT_EQ(second.commits.at(0)["origin"], "pool/image/img1@s3");
  EXPECT_TRUE(second.commits.at(0)["cache"].empty());             // nothing new was made
  EXPECT_TRUE(fs::is_directory(dir_ / "roots" / "c1" / "late"));  // the WORKDIR it still owed
  std::size_t hits = 0;
  for (auto at = second.output.find("---> Using cache"); at != std::string::npos;
       at = second.output.find("---> Using cache", at + 1))
    ++hits;
  EXPECT_EQ(hits, 3u) << second.output;

  // A changed file rebuilds the COPY and everything after it from the cached RUN before it.
  write("a.txt", "changed\n");
  auto third = engine();
  third.remember(first.commits.at(0), "img1");
  ASSERT_EQ(build(third).value("status", ""), "ok") << third.output;
  EXPECT_EQ(third.requests("container_create").at(0)["image"], "img1@s1");
  EXPECT_EQ(third.requests("exec").size(), 1u);
  // --no-cache never asks.
  auto fourth = engine();
  fourth.remember(first.commits.at(0), "img1");
  ASSERT_EQ(build(fourth, {{"no_cache", true}}).value("status", ""), "ok");
  EXPECT_TRUE(fourth.requests("cache_lookup").empty());
  EXPECT_EQ(fourth.requests("exec").size(), 2u);
  // ... but records what it ran, for the next build: one entry per RUN and COPY.
  EXPECT_EQ(fourth.commits.at(0)["cache"].size(), 3u) << fourth.commits.at(0).dump();
}

TEST_F(ExecutorTest, UserAndEnvOfTheBuildContainerApplyUntilUserAndKeyTheCache) {
  write("Dockerfile", "FROM base\nRUN first\nUSER root\nRUN second\n");
  auto e = engine();
  ASSERT_EQ(build(e, {{"user", "4321"}, {"env", {"A=1"}}}).value("status", ""), "ok") << e.output;
  const auto execs = e.requests("exec");
  ASSERT_EQ(execs.size(), 2u);
  EXPECT_EQ(execs[0]["user"], "4321");
  EXPECT_EQ(execs[1]["user"], "root");  // an explicit USER root wins over -u
  EXPECT_NE(std::find(execs[0]["env"].begin(), execs[0]["env"].end(), "A=1"),
            execs[0]["env"].end());
  // Another -e is another step: no cache hit.
  auto other = engine();
  other.remember(e.commits.at(0), "img1");
  ASSERT_EQ(build(other, {{"user", "4321"}, {"env", {"A=2"}}}).value("status", ""), "ok");
  EXPECT_EQ(other.requests("exec").size(), 2u);
  auto same = engine();
  same.remember(e.commits.at(0), "img1");
  ASSERT_EQ(build(same, {{"user", "4321"}, {"env", {"A=1"}}}).value("status", ""), "ok");
  EXPECT_TRUE(same.requests("exec").empty());
}

TEST_F(ExecutorTest, AFailedStepWithCleanupLeavesNothing) {
  write("Dockerfile", "FROM base\nRUN ok\nRUN false\n");
  auto e = engine();
  e.exit_code = 1;
  const auto result = build(e);
  EXPECT_EQ(result.value("status", ""), "failed");
  EXPECT_EQ(result.value("message", ""), "image build failed");
  EXPECT_EQ(result.value("snapshot", "x"), "");
  EXPECT_TRUE(e.commits.empty());
  EXPECT_TRUE(e.live.empty());
  EXPECT_NE(e.output.find("The command '/bin/sh -c ok' returned a non-zero code: 1"),
            std::string::npos)
      << e.output;
}

TEST_F(ExecutorTest, WithoutCleanupTheFailedStageBecomesNameFailed) {
  write("Dockerfile", "FROM base\nCOPY a.txt /a\nRUN false\n");
  write("a.txt", "a\n");
  auto e = engine();
  e.exit_code = 2;
  const auto result = build(e, {{"cleanup", false}});
  EXPECT_EQ(result.value("status", ""), "failed");
  EXPECT_EQ(result.value("snapshot", ""), "@s1");
  ASSERT_EQ(e.commits.size(), 1u);
  EXPECT_EQ(e.commits[0]["name"], "web");
  EXPECT_EQ(e.commits[0]["tag"], "failed");
  EXPECT_EQ(e.commits[0]["image"]["instructions"].back()[0], "RUN false");
  EXPECT_TRUE(e.live.empty());
}

TEST_F(ExecutorTest, AnEngineFailureMidBuildRemovesEveryContainer) {
  write("Dockerfile",
        "FROM base AS one\nRUN a\nFROM base AS two\nRUN b\nFROM base\n"
        "COPY --from=one /x /x\nCOPY --from=two /y /y\n");
  auto e = engine();
  int execs = 0;
  // The second RUN's exec fails as a cancelled build does.
  auto engine_call = [&](const std::string& op, json body) {
    if (op == "exec" && ++execs == 2) throw std::runtime_error("build cancelled");
    return e(op, body);
  };
  json request{{"build", "b1"}, {"context", (dir_ / "ctx").string()}, {"cleanup", false}};
  const auto result = run_build(engine_call, request);
  EXPECT_EQ(result.value("status", ""), "failed");
  EXPECT_TRUE(e.commits.empty());  // a cancelled build is never kept
  EXPECT_EQ(e.requests("container_create").size(), 2u);
  EXPECT_TRUE(e.live.empty()) << e.live.size();
}

TEST_F(ExecutorTest, AStageFromAStageStartsFromACopyOfItsSnapshot) {
  write("Dockerfile", "FROM base AS first\nRUN a\nFROM first\nRUN b\n");
  auto e = engine();
  const auto result = build(e);
  ASSERT_EQ(result.value("status", ""), "ok") << e.output;
  const auto created = e.requests("container_create");
  ASSERT_EQ(created.size(), 2u);
  EXPECT_EQ(created[1]["container"], "c1");
  EXPECT_EQ(created[1]["snapshot"], "@s2");
  EXPECT_EQ(e.commits.at(0)["container"], "c2");
  EXPECT_EQ(e.commits.at(0)["origin"], "");
  EXPECT_TRUE(e.live.empty());
}

TEST_F(ExecutorTest, ErrorsBeforeTheFirstStepTouchNoEngine) {
  write("Dockerfile", "FROM base\nBOGUS x\n");
  auto e = engine();
  auto result = build(e);
  EXPECT_EQ(result.value("status", ""), "failed");
  EXPECT_EQ(result.value("message", ""), "invalid instruction: BOGUS x");
  EXPECT_TRUE(e.calls.empty());

  fs::remove(dir_ / "ctx" / "Dockerfile");
  result = build(e);
  EXPECT_NE(result.value("message", "").find("cannot read the Dockerfile"), std::string::npos)
      << result.dump();
  // A FIFO for a Dockerfile never blocks the build.
  ASSERT_EQ(::mkfifo((dir_ / "ctx" / "Dockerfile").c_str(), 0644), 0);
  result = build(e);
  EXPECT_NE(result.value("message", "").find("Dockerfile is not a regular file"), std::string::npos)
      << result.dump();
  fs::remove(dir_ / "ctx" / "Dockerfile");
  result = build(e, {{"context", "relative/path"}});
  EXPECT_NE(result.value("message", "").find("absolute path"), std::string::npos);
  EXPECT_TRUE(e.calls.empty());
}

TEST_F(ExecutorTest, AMissingParentImageFailsTheBuild) {
  write("Dockerfile", "FROM nosuch\nRUN a\n");
  auto e = engine();
  const auto result = build(e);
  EXPECT_EQ(result.value("status", ""), "failed");
  EXPECT_NE(e.output.find("no such image 'nosuch'"), std::string::npos) << e.output;
  EXPECT_TRUE(e.requests("container_create").empty());
}

}  // namespace
}  // namespace kleene::builder

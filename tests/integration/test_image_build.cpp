// Image builds through a real kleened, its builder plugin and klee: Kleene's build scenarios
// (instructions, ARG/ENV, USER, WORKDIR, quiet, snapshots, failed builds with and without
// cleanup, invalid Dockerfiles), the build cache, multi-stage builds, COPY traversal attempts
// and a client that goes away. Every test ends with no build container, no image but the base
// one and (checked by the fixture) no dataset left.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "container_fixture.hpp"
#include "harness/process.hpp"
#include "harness/ws_client.hpp"

namespace kleene::it {
namespace {

namespace fs = std::filesystem;

class ImageBuildTest : public ImageKleenedTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(start_with_image("base"));
    context_ = fs::path("/dev/shm") /
               ("kl-build-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(context_);
    fs::create_directories(context_);
  }

  void TearDown() override {
    if (daemon.running()) {
      // Build containers must be gone by now; what a test built is removed here, children
      // before the images they were built on.
      EXPECT_TRUE(containers().empty()) << "containers left: " << containers().dump();
      for (int round = 0; round < 10; ++round) {
        bool removed = false;
        for (const auto& image : body_of(api("GET", "/images/list"))) {
          const std::string id = image.value("id", "");
          if (id == image_id_) continue;
          removed |= api("DELETE", "/images/" + id).status == 200;
        }
        if (!removed) break;
      }
    }
    remove_everything();
    fs::remove_all(context_);
  }

  void write(const std::string& path, const std::string& text) {
    const fs::path file = context_ / path;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
  }

  ProcessResult klee(std::vector<std::string> args,
                     std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
    args.insert(args.begin(), {paths::klee(), "--host", unix_host(), "--theme", "simple"});
    return run_command(args, test_environment(), timeout);
  }

  ProcessResult build(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"build"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(context_.string());
    return klee(args);
  }

  json containers() { return body_of(api("GET", "/containers/list?all=true")); }
  json images() { return body_of(api("GET", "/images/list")); }
  json inspect(const std::string& image) {
    return body_of(api("GET", "/images/" + image + "/inspect"));
  }

  // `klee run <image> <cmd>`, the container removed afterwards.
  ProcessResult run(const std::string& image, std::vector<std::string> cmd) {
    const std::string name = "kl-run-" + std::to_string(runs_++);
    std::vector<std::string> args{"run", "--name", name, image};
    args.insert(args.end(), cmd.begin(), cmd.end());
    auto r = klee(args);
    (void)klee({"rmc", "-f", name});
    return r;
  }
  // Its output without Kleene's closing line.
  std::string run_in(const std::string& image, std::vector<std::string> cmd) {
    auto r = run(image, std::move(cmd));
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    // "<container id>\ncreated execution instance <id>\n<output>\nexecutable ..."
    std::size_t begin = 0;
    for (int line = 0; line < 2 && begin != std::string::npos; ++line)
      begin = r.out.find('\n', begin == 0 && line == 0 ? 0 : begin + 1);
    if (begin == std::string::npos) return r.out;
    const auto end = r.out.rfind("\nexecutable ");
    if (end == std::string::npos || end < begin) return r.out;
    return r.out.substr(begin + 1, end - begin - 1);
  }

  static int count(const std::string& text, const std::string& what) {
    int n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
      ++n;
    return n;
  }

  fs::path context_;
  int runs_ = 0;
  static inline int counter_ = 0;
};

TEST_F(ImageBuildTest, BuildsAnImageWithKleenesOutputAndRunsIt) {
  write("Dockerfile",
        "FROM base\n"
        "# a comment\n"
        "ENV GREETING=hello \\\n"
        "    WHO=world\n"
        "RUN echo \"$GREETING $WHO\" > /greeting.txt\n"
        "COPY files/ /app/\n"
        "WORKDIR /app\n"
        "RUN cat a.txt >> /greeting.txt\n"
        "CMD [\"cat\", \"/greeting.txt\"]\n");
  write("files/a.txt", "from the context\n");
  const auto r = build({"-t", "kltest:1"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("Started to build image with ID "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Step 1/7 : FROM base"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Step 7/7 : CMD [\"cat\", \"/greeting.txt\"]"), std::string::npos) << r.out;
  EXPECT_EQ(count(r.out, "--> Snapshot created: @"), 3) << r.out;  // RUN, COPY, RUN
  EXPECT_NE(r.out.find("image created"), std::string::npos) << r.out;

  const auto image = inspect("kltest:1");
  ASSERT_TRUE(image.is_object()) << image.dump();
  EXPECT_EQ(image["cmd"], json({"cat", "/greeting.txt"}));
  EXPECT_EQ(image["workdir"], "/app");
  EXPECT_NE(std::find(image["env"].begin(), image["env"].end(), "WHO=world"), image["env"].end());
  const auto& instructions = image["instructions"];
  ASSERT_EQ(instructions.size(), 7u) << image.dump();
  EXPECT_EQ(instructions[0][1], "");
  const std::string run_snapshot = instructions[3][1];
  EXPECT_EQ(run_snapshot.front(), '@') << image.dump();

  EXPECT_EQ(run_in("kltest:1", {}), "hello world\nfrom the context\n");
  // WORKDIR is the working directory of what runs in the image's containers.
  EXPECT_EQ(run_in("kltest:1", {"pwd"}), "/app\n");
  // A container from a build snapshot: the state right after that RUN.
  EXPECT_EQ(run_in("kltest:1" + run_snapshot, {"cat", "/greeting.txt"}), "hello world\n");
}

TEST_F(ImageBuildTest, RebuildUsesTheCacheAndAChangeRebuildsFromThere) {
  write("Dockerfile",
        "FROM base\n"
        "RUN echo one > /one\n"
        "COPY a.txt /a.txt\n"
        "RUN echo three > /three\n");
  write("a.txt", "a\n");
  auto first = build({"-t", "klcache"});
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  EXPECT_EQ(count(first.out, "---> Using cache"), 0) << first.out;

  auto again = build({"-t", "klcache:again"});
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_EQ(count(again.out, "---> Using cache"), 3) << again.out;
  EXPECT_EQ(run_in("klcache:again", {"cat", "/one", "/a.txt", "/three"}), "one\na\nthree\n");

  // The COPY's content changed: the RUN before it still comes from the cache.
  write("a.txt", "changed\n");
  auto changed = build({"-t", "klcache:changed"});
  ASSERT_EQ(changed.exit_code, 0) << describe(changed);
  EXPECT_EQ(count(changed.out, "---> Using cache"), 1) << changed.out;
  EXPECT_EQ(run_in("klcache:changed", {"cat", "/a.txt"}), "changed\n");

  auto uncached = build({"--no-cache", "-t", "klcache:nocache"});
  ASSERT_EQ(uncached.exit_code, 0) << describe(uncached);
  EXPECT_EQ(count(uncached.out, "---> Using cache"), 0) << uncached.out;
}

TEST_F(ImageBuildTest, FailedRunWithCleanupLeavesNothing) {
  write("Dockerfile", "FROM base\nRUN echo before > /before\nRUN exit 3\nCMD [\"true\"]\n");
  const auto before = images().size();
  const auto r = build({"--rm", "-t", "klfail"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.out.find("The command '/bin/sh -c exit 3' returned a non-zero code: 3"),
            std::string::npos)
      << describe(r);
  EXPECT_NE(r.err.find("image build failed"), std::string::npos) << describe(r);
  EXPECT_EQ(images().size(), before);
  EXPECT_TRUE(containers().empty()) << containers().dump();
}

TEST_F(ImageBuildTest, FailedRunWithoutCleanupKeepsNameFailedAndItsSnapshots) {
  write("Dockerfile", "FROM base\nRUN echo before > /before\nRUN exit 5\n");
  const auto r = build({"-t", "klkeep"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.err, m, std::regex("Most recent snapshot is (@[0-9a-f]+)")))
      << describe(r);
  const auto image = inspect("klkeep:failed");
  ASSERT_TRUE(image.is_object() && image.contains("id")) << image.dump();
  EXPECT_EQ(run_in("klkeep:failed" + m[1].str(), {"cat", "/before"}), "before\n");
  EXPECT_TRUE(containers().empty()) << containers().dump();
}

TEST_F(ImageBuildTest, InvalidDockerfilesAreRefusedWithKleenesMessages) {
  write("Dockerfile", "FROM base\nNOTANINSTRUCTION x\n");
  auto r = build();
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("invalid instruction: NOTANINSTRUCTION x"), std::string::npos)
      << describe(r);

  write("Dockerfile", "FROM nosuchimage:latest\nRUN true\n");
  r = build();
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE((r.out + r.err).find("nosuchimage"), std::string::npos) << describe(r);

  fs::remove(context_ / "Dockerfile");
  r = build();
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("Dockerfile"), std::string::npos) << describe(r);
  EXPECT_TRUE(containers().empty()) << containers().dump();
  EXPECT_EQ(images().size(), 1u);
}

TEST_F(ImageBuildTest, ArgEnvAndBuildArgsFollowDockersScoping) {
  write("Dockerfile",
        "ARG BASE=base\n"
        "FROM $BASE\n"
        "ARG NAME=default\n"
        "ARG UNSET\n"
        "ENV FROM_ENV=env-$NAME\n"
        "RUN echo \"$NAME $FROM_ENV ${UNSET:-none}\" > /values\n"
        "USER nobody\n"
        "RUN id -un > /tmp/who\n");
  auto r = build({"--build-arg", "NAME=given", "--build-arg", "NEVER=x", "-t", "klargs"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("[Warning] One or more build-args [NEVER] were not consumed"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(run_in("klargs", {"cat", "/values", "/tmp/who"}), "given env-given none\nnobody\n");
  const auto image = inspect("klargs");
  EXPECT_EQ(image["user"], "nobody");
  EXPECT_EQ(image["buildargs"], json({{"NAME", "given"}}));
}

TEST_F(ImageBuildTest, QuietPrintsOnlyTheImageId) {
  write("Dockerfile", "FROM base\nRUN echo noisy\n");
  const auto r = build({"-q", "-t", "klquiet"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.out, inspect("klquiet")["id"].get<std::string>() + "\n");
}

TEST_F(ImageBuildTest, MultiStageCopiesFromAnEarlierStage) {
  write("Dockerfile",
        "FROM base AS builder\n"
        "RUN mkdir -p /out && echo artefact > /out/result\n"
        "FROM base\n"
        "COPY --from=builder /out/result /result\n"
        "LABEL kind=test\n"
        "EXPOSE 8080\n"
        "ENTRYPOINT [\"cat\"]\n"
        "CMD [\"/result\"]\n");
  const auto r = build({"-t", "klmulti"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(run_in("klmulti", {}), "artefact\n");
  const auto image = inspect("klmulti");
  EXPECT_EQ(image["labels"], json({{"kind", "test"}}));
  EXPECT_EQ(image["exposed_ports"], json({"8080/tcp"}));
  EXPECT_EQ(image["entrypoint"], json({"cat"}));
  // The builder stage's output is not in the image.
  const auto missing = run("klmulti", {"/out/result"});
  EXPECT_NE(missing.out.find("can't open '/out/result'"), std::string::npos) << describe(missing);
}

TEST_F(ImageBuildTest, CopyNeverReadsOutsideTheContext) {
  write("Dockerfile", "FROM base\nCOPY ../../etc/passwd /stolen\n");
  auto r = build({"--rm"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE((r.out + r.err).find("forbidden path outside the build context"), std::string::npos)
      << describe(r);

  fs::create_directory_symlink("/etc", context_ / "hostetc");
  write("Dockerfile", "FROM base\nCOPY hostetc/passwd /stolen\n");
  r = build({"--rm"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE((r.out + r.err).find("forbidden path outside the build context"), std::string::npos)
      << describe(r);
  EXPECT_TRUE(containers().empty()) << containers().dump();
  EXPECT_EQ(images().size(), 1u);
}

TEST_F(ImageBuildTest, CopyNeverWritesOutsideTheContainerRoot) {
  // The first build makes /escape in the image a symlink to the host's /dev/shm/<x>; the COPY
  // through it must land inside the container.
  const fs::path outside = "/tmp/kl-build-outside-" + std::to_string(::getpid());
  fs::create_directories(outside);
  write("Dockerfile",
        "FROM base\nRUN ln -s " + outside.string() + " /escape\nCOPY a.txt /escape/a.txt\n");
  write("a.txt", "inside\n");
  auto r = build({"-t", "klroot"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_FALSE(fs::exists(outside / "a.txt"));
  EXPECT_EQ(run_in("klroot", {"cat", outside.string() + "/a.txt"}), "inside\n");
  fs::remove_all(outside);
}

TEST_F(ImageBuildTest, AClientThatGoesAwayLeavesNothingBehind) {
  write("Dockerfile", "FROM base\nRUN echo started && sleep 600\n");
  const json config = {{"context", context_.string()},
                       {"container_config", {{"network_driver", "host"}}},
                       {"cleanup", false},
                       {"tag", "klgone"}};
  {
    WsClient ws(daemon.socket_path(), "/images/build");
    ws.send_text(config.dump());
    bool running = false;
    while (auto frame = ws.next(std::chrono::seconds(60))) {
      if (frame->data == "started\n") {  // the RUN's own output: its process runs
        running = true;
        break;
      }
    }
    ASSERT_TRUE(running);
  }  // the client disconnects while RUN sleeps
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!containers().empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(containers().empty()) << containers().dump();
  EXPECT_EQ(images().size(), 1u) << images().dump();
}

TEST_F(ImageBuildTest, UserFromAnArgAndTheBuildContainersOptions) {
  write("Dockerfile",
        "FROM base\n"
        "ARG WHO=nobody\n"
        "RUN id -u > /tmp/as-default\n"
        "USER $WHO\n"
        "RUN id -un > /tmp/as-user && echo \"$FROM_CLI\" > /tmp/env\n");
  // -u is the build container's default user until USER; -e its environment.
  auto r = build({"-u", "4321", "-e", "FROM_CLI=cli-value", "-t", "kluser"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(run_in("kluser", {"cat", "/tmp/as-default", "/tmp/as-user", "/tmp/env"}),
            "4321\nnobody\ncli-value\n");
  // The image records USER, not the build container's -u or -e.
  const auto image = inspect("kluser");
  EXPECT_EQ(image["user"], "nobody");
  for (const auto& var : image["env"])
    EXPECT_EQ(var.get<std::string>().rfind("FROM_CLI=", 0), std::string::npos) << var;
}

TEST_F(ImageBuildTest, FromReplacesTheParentAndSnapshotsAreParents) {
  write("Dockerfile", "FROM base\nRUN echo first > /first\nRUN echo second > /second\n");
  auto r = build({"-t", "klparent"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto parent = inspect("klparent");
  const std::string first_snapshot = parent["instructions"][1][1];

  // FROM IMAGE@SNAPSHOT: the state after the first RUN, without the second.
  write("Dockerfile", "FROM klparent" + first_snapshot + "\nRUN ls / > /listing\n");
  r = build({"-t", "klchild"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto listing = run_in("klchild", {"cat", "/listing"});
  EXPECT_NE(listing.find("first"), std::string::npos) << listing;
  EXPECT_EQ(listing.find("second"), std::string::npos) << listing;

  // --from overrides the Dockerfile's FROM, with Kleene's message.
  write("Dockerfile", "FROM nosuchimage\nRUN cat /second\n");
  r = build({"--from", "klparent", "-t", "klfrom"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("Using user-supplied parent image: 'klparent'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("second"), std::string::npos) << r.out;

  // An image others are built on stays until they are gone; prune removes children first
  // (the base image too: it has no container).
  auto removed = api("DELETE", "/images/klparent");
  EXPECT_EQ(removed.status, 409) << removed.body;
  auto pruned = api("POST", "/images/prune?all=true");
  EXPECT_EQ(pruned.status, 200) << pruned.body;
  EXPECT_EQ(body_of(pruned).size(), 4u) << pruned.body;
  EXPECT_TRUE(images().empty()) << images().dump();
  image_id_.clear();
}

TEST_F(ImageBuildTest, WorkdirAppliesToRunCopyAndCmd) {
  write("Dockerfile",
        "FROM base\n"
        "WORKDIR /srv\n"
        "WORKDIR app\n"
        "COPY a.txt .\n"
        "COPY a.txt sub/\n"
        "RUN pwd > where && ls sub > sub-listing\n"
        "CMD [\"cat\", \"where\", \"a.txt\", \"sub-listing\"]\n");
  write("a.txt", "a\n");
  auto r = build({"-t", "klworkdir"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(run_in("klworkdir", {}), "/srv/app\na\na.txt\n");
}

TEST_F(ImageBuildTest, AddUnpacksLocalArchivesAndRefusesUrls) {
  // An archive made with the busybox tar of the base image itself, in a first build.
  write("payload/inner/file.txt", "unpacked\n");
  write("Dockerfile", "FROM base\nADD payload.tar /opt/\nADD plain.txt /opt/plain.txt\n");
  write("plain.txt", "plain\n");
  ASSERT_EQ(run_command({"/bin/tar", "-C", (context_ / "payload").string(), "-cf",
                         (context_ / "payload.tar").string(), "inner"},
                        test_environment())
                .exit_code,
            0);
  auto r = build({"-t", "kladd"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(run_in("kladd", {"cat", "/opt/inner/file.txt", "/opt/plain.txt"}), "unpacked\nplain\n");

  write("Dockerfile", "FROM base\nADD http://127.0.0.1:1/x /x\n");
  r = build({"--rm"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.out.find("only local files and archives"), std::string::npos) << describe(r);

  // A member leading out of the destination fails the step, as in image creation.
  ASSERT_EQ(run_command({"/bin/tar", "-C", (context_ / "payload").string(), "-P", "-cf",
                         (context_ / "evil.tar").string(), "../plain.txt"},
                        test_environment())
                .exit_code,
            0);
  write("Dockerfile", "FROM base\nADD evil.tar /opt/\n");
  r = build({"--rm"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.out.find("ADD failed: evil.tar: "), std::string::npos) << describe(r);
  // kleened unpacked both archives in its extract helper: libarchive never loaded into it.
  std::ifstream maps("/proc/" + std::to_string(daemon.pid()) + "/maps");
  const std::string mapped((std::istreambuf_iterator<char>(maps)), {});
  ASSERT_FALSE(mapped.empty());
  EXPECT_EQ(mapped.find("libarchive"), std::string::npos);
}

TEST_F(ImageBuildTest, TheBuildContainerTakesNetworkDriverAndJailParameters) {
  // -l disabled: the steps run in a network namespace of their own with only lo.
  write("Dockerfile",
        "FROM base\n"
        "RUN tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' > /interfaces\n");
  auto r = build({"-l", "disabled", "-t", "klnet"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(run_in("klnet", {"cat", "/interfaces"}), "lo\n");
  // -m: a host directory mounted into the build container (not into the image).
  const fs::path shared = context_.string() + "-mount";
  fs::create_directories(shared);
  std::ofstream(shared / "input.txt") << "from the host\n";
  write("Dockerfile", "FROM base\nRUN cat /mnt/in/input.txt > /copied\n");
  r = build({"-m", shared.string() + ":/mnt/in:ro", "-t", "klmount"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(run_in("klmount", {"cat", "/copied"}), "from the host\n");
  fs::remove_all(shared);
  // An unknown jail parameter fails the build before any step runs, with the container's
  // message.
  r = build({"--rm", "-J", "no.such.param"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE((r.out + r.err).find("no.such.param"), std::string::npos) << describe(r);
  EXPECT_TRUE(containers().empty()) << containers().dump();
}

TEST_F(ImageBuildTest, AnUploadedContextBuildsTheSame) {
  // --upload sends PATH as a tar in the WebSocket (what klee does over TCP); .dockerignore
  // keeps files out of it.
  write("Dockerfile", "FROM base\nCOPY . /ctx/\nRUN ls -a /ctx | sort > /listing\n");
  write(".dockerignore", "secret*\n");
  write("kept.txt", "kept\n");
  write("secret.txt", "secret\n");
  auto r = build({"--upload", "-t", "klupload"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(run_in("klupload", {"cat", "/listing"}),
            ".\n..\n.dockerignore\nDockerfile\nkept.txt\n");
  // Nothing of the upload is left next to kleened's metadata store.
  const fs::path uploads = fs::path(dir.file("kleened-db")) / "build-contexts";
  EXPECT_TRUE(!fs::exists(uploads) || fs::is_empty(uploads));
}

}  // namespace
}  // namespace kleene::it

// pack_context: the context directory as klee uploads it, read back with libarchive, and
// unpacked by kleened's receive_context.
#include "commands/build_context.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <vector>

#include "api/build_context.hpp"
#include "fake_ws_session.hpp"

namespace klee {
namespace {

namespace fs = std::filesystem;

struct Member {
  unsigned type = 0;
  mode_t perm = 0;
  int64_t uid = 0;
  int64_t gid = 0;
  time_t mtime = 0;
  std::string content;  // file data or symlink target
};

// The members of a tar, by path.
std::map<std::string, Member> read_tar(const std::string& bytes) {
  std::map<std::string, Member> members;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, bytes.data(), bytes.size()), ARCHIVE_OK);
  archive_entry* entry = nullptr;
  int r = 0;
  while ((r = archive_read_next_header(a, &entry)) == ARCHIVE_OK) {
    Member m{static_cast<unsigned>(archive_entry_filetype(entry)),
             static_cast<mode_t>(archive_entry_perm(entry)),
             archive_entry_uid(entry),
             archive_entry_gid(entry),
             archive_entry_mtime(entry),
             {}};
    if (m.type == AE_IFLNK) {
      m.content = archive_entry_symlink(entry);
    } else {
      char buffer[65536];
      la_ssize_t n = 0;
      while ((n = archive_read_data(a, buffer, sizeof buffer)) > 0)
        m.content.append(buffer, static_cast<std::size_t>(n));
    }
    std::string path = archive_entry_pathname(entry);
    if (path.ends_with('/')) path.pop_back();
    members[path] = std::move(m);
  }
  EXPECT_EQ(r, ARCHIVE_EOF) << archive_error_string(a);
  archive_read_free(a);
  return members;
}

class PackContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/dev/shm/kl-pack-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ctx_ = dir_ / "ctx";
    fs::create_directories(ctx_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void write(const std::string& path, const std::string& content, mode_t mode = 0644) {
    fs::create_directories((ctx_ / path).parent_path());
    std::ofstream(ctx_ / path, std::ios::binary) << content;
    ASSERT_EQ(::chmod((ctx_ / path).c_str(), mode), 0);
  }

  // The tar and the chunks it came in.
  std::string pack(const std::string& dockerfile = "Dockerfile",
                   std::vector<std::size_t>* chunks = nullptr) {
    std::string tar;
    auto written = pack_context(ctx_.string(), dockerfile, [&](std::string_view chunk) {
      EXPECT_FALSE(chunk.empty());
      EXPECT_LE(chunk.size(), kContextChunkSize);
      if (chunks) chunks->push_back(chunk.size());
      tar.append(chunk);
      return kleene::Result<void>();
    });
    EXPECT_TRUE(written) << written.error().message;
    if (written) {
      EXPECT_EQ(*written, tar.size());
    }
    return tar;
  }

  std::set<std::string> paths(const std::string& tar) {
    std::set<std::string> result;
    for (const auto& [path, member] : read_tar(tar))
      result.insert(path);
    return result;
  }

  fs::path dir_;
  fs::path ctx_;
};

TEST_F(PackContextTest, FilesDirectoriesAndSymlinksKeepTheirMetadata) {
  write("Dockerfile", "FROM scratch\n");
  write("app/run.sh", "#!/bin/sh\n", 0750);
  write("app/data/blob", std::string(3000, 'b'), 0600);
  ASSERT_EQ(::chmod((ctx_ / "app").c_str(), 0711), 0);
  ASSERT_EQ(::chown((ctx_ / "app" / "run.sh").c_str(), 1234, 5678), 0);
  fs::create_symlink("run.sh", ctx_ / "app" / "current");
  fs::create_symlink("/etc", ctx_ / "etc");  // stays a symlink: /etc is not packed
  const timespec times[2] = {{1600000000, 0}, {1600000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (ctx_ / "app" / "run.sh").c_str(), times, 0), 0);

  const auto members = read_tar(pack());
  EXPECT_EQ(members.size(), 7u);
  const auto& run = members.at("app/run.sh");
  EXPECT_EQ(run.type, AE_IFREG);
  EXPECT_EQ(run.perm, 0750u);
  EXPECT_EQ(run.uid, 1234);
  EXPECT_EQ(run.gid, 5678);
  EXPECT_EQ(run.mtime, 1600000000);
  EXPECT_EQ(run.content, "#!/bin/sh\n");
  EXPECT_EQ(members.at("app").type, AE_IFDIR);
  EXPECT_EQ(members.at("app").perm, 0711u);
  EXPECT_EQ(members.at("app/data").type, AE_IFDIR);
  EXPECT_EQ(members.at("app/data/blob").content, std::string(3000, 'b'));
  EXPECT_EQ(members.at("app/data/blob").perm, 0600u);
  EXPECT_EQ(members.at("app/current").type, AE_IFLNK);
  EXPECT_EQ(members.at("app/current").content, "run.sh");
  EXPECT_EQ(members.at("etc").type, AE_IFLNK);
  EXPECT_EQ(members.at("etc").content, "/etc");
  EXPECT_EQ(members.at("Dockerfile").content, "FROM scratch\n");
}

TEST_F(PackContextTest, DockerignoreExcludesWithExceptionsButNeverTheDockerfile) {
  write(".dockerignore",
        "# build output\nbuild\n*.log\n!keep.log\nDockerfile\n.dockerignore\n"
        "cache\n!cache/wanted\n");
  write("Dockerfile", "FROM scratch\n");
  write("src/main.c", "int main;\n");
  write("build/out.o", "o");
  write("build/deep/x", "x");
  write("debug.log", "d");
  write("keep.log", "k");
  write("cache/wanted", "w");
  write("cache/unwanted", "u");
  const std::set<std::string> expected = {".dockerignore", "Dockerfile", "src",
                                          "src/main.c",    "keep.log",   "cache/wanted"};
  EXPECT_EQ(paths(pack()), expected);
}

TEST_F(PackContextTest, ADockerfileInAnIgnoredDirectoryStillGoes) {
  write(".dockerignore", "docker\n");
  write("docker/Dockerfile.dev", "FROM scratch\n");
  write("docker/other", "o");
  const std::set<std::string> expected = {".dockerignore", "docker/Dockerfile.dev"};
  EXPECT_EQ(paths(pack("./docker//Dockerfile.dev")), expected);
  EXPECT_EQ(paths(pack("../elsewhere/Dockerfile")), std::set<std::string>{".dockerignore"});
}

TEST_F(PackContextTest, SocketsAndFifosAreLeftOut) {
  write("f", "x");
  ASSERT_EQ(::mkfifo((ctx_ / "fifo").c_str(), 0644), 0);
  const int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(sock, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const auto sock_path = (ctx_ / "sock").string();
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock_path.c_str());
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(sock);
  EXPECT_EQ(paths(pack()), std::set<std::string>{"f"});  // and the fifo did not block
}

TEST_F(PackContextTest, ChunksAreAtMostOneMebibyteAndTheSameTreeGivesTheSameTar) {
  write("big", std::string(3 * kContextChunkSize + 100, 'z'));
  write("small", "s");
  std::vector<std::size_t> chunks;
  const auto tar = pack("Dockerfile", &chunks);
  ASSERT_GE(chunks.size(), 4u);
  for (std::size_t i = 0; i + 1 < chunks.size(); ++i)
    EXPECT_EQ(chunks[i], kContextChunkSize);
  EXPECT_EQ(read_tar(tar).at("big").content.size(), 3 * kContextChunkSize + 100);
  EXPECT_EQ(pack(), tar);
}

TEST_F(PackContextTest, TheSinksErrorStopsThePacking) {
  write("big", std::string(3 * kContextChunkSize, 'z'));
  int calls = 0;
  auto written = pack_context(ctx_.string(), "Dockerfile", [&](std::string_view) {
    ++calls;
    return kleene::Result<void>(kleene::make_error(EPIPE, "websocket write: broken pipe"));
  });
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, EPIPE);
  EXPECT_EQ(written.error().message, "websocket write: broken pipe");
  EXPECT_EQ(calls, 1);
}

TEST_F(PackContextTest, AMissingContextOrABadDockerignoreIsAnError) {
  auto missing = pack_context((dir_ / "nope").string(), "Dockerfile",
                              [](std::string_view) { return kleene::Result<void>(); });
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos);

  write(".dockerignore", "[z-a\n");
  auto bad = pack_context(ctx_.string(), "Dockerfile",
                          [](std::string_view) { return kleene::Result<void>(); });
  EXPECT_FALSE(bad);
}

TEST_F(PackContextTest, APathLongerThanPathMaxStopsThePackingWithoutATarEnd) {
  // Sorted first: most of three chunks of data before the failing member.
  write("a-big", std::string(3 * kContextChunkSize - 1024, 'b'));
  int dir = ::open(ctx_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const std::string name(250, 'z');
  for (int level = 0; level < 17; ++level) {  // 17 * 251 > PATH_MAX
    ASSERT_EQ(::mkdirat(dir, name.c_str(), 0755), 0);
    const int next = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ::close(dir);
    dir = next;
    ASSERT_GE(dir, 0);
  }
  ::close(dir);
  std::string sent;
  auto written = pack_context(ctx_.string(), "Dockerfile", [&](std::string_view chunk) {
    sent.append(chunk);
    return kleene::Result<void>();
  });
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, ENAMETOOLONG) << written.error().message;
  EXPECT_NE(written.error().message.find("path too long"), std::string::npos);
  // Only the full chunks before the error: no buffered rest, no end of the archive.
  EXPECT_GE(sent.size(), 2 * kContextChunkSize);
  EXPECT_EQ(sent.size() % kContextChunkSize, 0u);
  // std::filesystem cannot remove it (the path is too long): from the deepest level up.
  std::vector<int> levels{::open(ctx_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  for (int level = 0; level < 16; ++level)
    levels.push_back(::openat(levels.back(), name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  for (auto fd = levels.rbegin(); fd != levels.rend(); ++fd) {
    EXPECT_EQ(::unlinkat(*fd, name.c_str(), AT_REMOVEDIR), 0);
    ::close(*fd);
  }
}

TEST_F(PackContextTest, RoundTripThroughKleenedsReceiveContext) {
  write(".dockerignore", "node_modules\n");
  write("Dockerfile", "FROM scratch\nCOPY . /app\n");
  write("bin/tool", std::string(2 * kContextChunkSize + 7, 't'), 0755);
  write("node_modules/huge", "h");
  ASSERT_EQ(::chmod((ctx_ / "bin").c_str(), 0750), 0);
  fs::create_symlink("bin/tool", ctx_ / "tool");

  kleene::api::test::FakeWsSession ws;
  auto written = pack_context(ctx_.string(), "Dockerfile", [&](std::string_view chunk) {
    ws.binary(chunk);
    return kleene::Result<void>();
  });
  ASSERT_TRUE(written) << written.error().message;
  ws.binary("");
  auto context = kleene::api::receive_context(ws, (dir_ / "uploads").string());
  ASSERT_TRUE(context) << context.error().message;
  const fs::path root = context->path();
  std::ifstream in(root / "bin" / "tool", std::ios::binary);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), {}),
            std::string(2 * kContextChunkSize + 7, 't'));
  EXPECT_EQ(fs::status(root / "bin" / "tool").permissions(), fs::perms(0755));
  EXPECT_EQ(fs::symlink_status(root / "bin").permissions(), fs::perms(0750));
  EXPECT_EQ(fs::read_symlink(root / "tool"), "bin/tool");
  EXPECT_TRUE(fs::exists(root / "Dockerfile"));
  EXPECT_FALSE(fs::exists(root / "node_modules"));
}

}  // namespace
}  // namespace klee

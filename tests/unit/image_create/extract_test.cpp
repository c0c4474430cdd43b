// Extraction of crafted, partly hostile tarballs into a temp dir.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fstream>
#include <tuple>

#include "archive_builder.hpp"
#include "image/create/extract.hpp"
#include "image/create/file_source.hpp"
#include "temp_tree.hpp"
#include "util/process.hpp"

namespace kleene::image::test {
namespace {

// The PIDs of this process's children, space-separated ("" when it has none).
std::string child_processes() {
  std::string pids;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "children");
    for (std::string pid; in >> pid;)
      pids += (pids.empty() ? "" : " ") + pid;
  }
  return pids;
}

// Where the archive is unpacked: in this process, or by kleened's extract helper in a child.
enum class Where { here, child };

void PrintTo(Where where, std::ostream* out) {
  *out << (where == Where::here ? "here" : "in a child");
}

std::string where_name(const ::testing::TestParamInfo<Where>& info) {
  return info.param == Where::here ? "Here" : "InChild";
}

class ExtractBase : public ::testing::Test {
 protected:
  virtual Where where() const = 0;

  Result<ExtractStats> unpack(ByteSource& source, int root, const ExtractLimits& limits,
                              const ExtractCallbacks& callbacks) {
    if (where() == Where::here) return extract_archive(source, root, limits, callbacks);
    return extract_in_child(source, root, limits, callbacks, KLEENED_PATH);
  }

  Result<ExtractStats> extract(const std::string& bytes, const ExtractLimits& limits = {}) {
    const auto file = tree_.dir() / "archive";
    write_file(file, bytes);
    auto source = open_file(file);
    if (!source) return std::unexpected(source.error());
    auto root = tree_.root_fd();
    ExtractCallbacks callbacks;
    callbacks.warning = [this](const std::string& w) { warnings_.push_back(w); };
    auto result = unpack(**source, root.get(), limits, callbacks);
    std::filesystem::remove(file);
    return result;
  }

  std::string read(const std::string& rel) {
    std::ifstream in(tree_.root() / rel);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }

  TempTree tree_;
  std::set<std::string> before_ = tree_.outside_state();
  std::vector<std::string> warnings_;
};

class ExtractTest : public ExtractBase, public ::testing::WithParamInterface<Where> {
 protected:
  Where where() const override { return GetParam(); }
};

class ExtractFormats : public ExtractBase,
                       public ::testing::WithParamInterface<std::tuple<Compression, Where>> {
 protected:
  Where where() const override { return std::get<1>(GetParam()); }
};

TEST_P(ExtractFormats, UnpacksFilesDirectoriesAndLinks) {
  ArchiveBuilder b(std::get<0>(GetParam()));
  b.dir("./").dir("./etc").file("./etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  b.dir("bin").file("bin/busybox", "ELF", 04755).symlink("bin/sh", "busybox");
  b.hardlink("bin/ash", "bin/busybox").dir("ro", 0555).file("ro/inside", "x", 0444);
  b.file("deep/missing/parents/f", "auto");
  auto stats = extract(b.finish());
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(read("etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
  EXPECT_EQ(read("deep/missing/parents/f"), "auto");
  EXPECT_EQ(std::filesystem::read_symlink(tree_.root() / "bin/sh"), "busybox");
  struct stat a {
  }, c{};
  ASSERT_EQ(::stat((tree_.root() / "bin/busybox").c_str(), &a), 0);
  ASSERT_EQ(::stat((tree_.root() / "bin/ash").c_str(), &c), 0);
  EXPECT_EQ(a.st_ino, c.st_ino);
  EXPECT_EQ(a.st_mode & 07777, 04755);
  ASSERT_EQ(::stat((tree_.root() / "ro").c_str(), &a), 0);
  EXPECT_EQ(a.st_mode & 07777, 0555);
  EXPECT_EQ(a.st_mtime, 1700000000);
  EXPECT_EQ(stats->entries, 9u);  // "." is the root itself
  EXPECT_EQ(tree_.outside_state(), before_);
}

INSTANTIATE_TEST_SUITE_P(Compressions, ExtractFormats,
                         ::testing::Combine(::testing::Values(Compression::none, Compression::gzip,
                                                              Compression::xz, Compression::zstd,
                                                              Compression::bzip2),
                                            ::testing::Values(Where::here, Where::child)));

TEST_P(ExtractTest, RejectsDotDotEscape) {
  ArchiveBuilder b;
  b.file("ok", "1").file("a/../../outside/pwned", "x");
  auto r = extract(b.finish());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EPERM);
  EXPECT_NE(r.error().message.find(".."), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(tree_.outside() / "pwned"));
  EXPECT_EQ(tree_.outside_state(), before_);
}

TEST_P(ExtractTest, RejectsAbsolutePath) {
  ArchiveBuilder b;
  b.file((tree_.outside() / "pwned").string(), "x");
  auto r = extract(b.finish());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EPERM);
  EXPECT_NE(r.error().message.find("absolute path"), std::string::npos);
  EXPECT_EQ(tree_.outside_state(), before_);
}

TEST_P(ExtractTest, RefusesFileThroughAbsoluteSymlink) {
  ArchiveBuilder b;
  b.symlink("evil", tree_.outside().string()).file("evil/pwned", "x");
  auto r = extract(b.finish());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ELOOP) << r.error().message;
  EXPECT_EQ(tree_.outside_state(), before_);
}

TEST_P(ExtractTest, RefusesFileThroughRelativeSymlink) {
  ArchiveBuilder b;
  b.dir("d").symlink("d/up", "../../outside").file("d/up/pwned", "x");
  auto r = extract(b.finish());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ELOOP) << r.error().message;
  EXPECT_EQ(tree_.outside_state(), before_);
}

TEST_P(ExtractTest, ReplacesALeafSymlinkInsteadOfWritingThroughIt) {
  ArchiveBuilder b;
  b.symlink("target", (tree_.outside() / "secret").string()).file("target", "new");
  auto r = extract(b.finish());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(std::filesystem::is_symlink(tree_.root() / "target"));
  EXPECT_EQ(read("target"), "new");
  EXPECT_EQ(tree_.outside_state(), before_);
}

TEST_P(ExtractTest, RefusesHardlinkOutOfTheTree) {
  for (const std::string& target :
       {std::string("../outside/secret"), (tree_.outside() / "secret").string()}) {
    ArchiveBuilder b;
    b.hardlink("h", target);
    auto r = extract(b.finish());
    ASSERT_FALSE(r) << target;
    EXPECT_EQ(r.error().code, EPERM) << r.error().message;
  }
  ArchiveBuilder through;
  through.symlink("s", tree_.outside().string()).hardlink("h", "s/secret");
  auto r = extract(through.finish());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ELOOP) << r.error().message;
  EXPECT_FALSE(std::filesystem::exists(tree_.root() / "h"));
  EXPECT_EQ(tree_.outside_state(), before_);
}

TEST_P(ExtractTest, HardlinkToAMissingMemberFails) {
  ArchiveBuilder b;
  b.hardlink("h", "nowhere");
  auto r = extract(b.finish());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOENT) << r.error().message;
}

TEST_P(ExtractTest, CreatesOnlySafeDeviceNodes) {
  ArchiveBuilder b;
  b.dir("dev").device("dev/null", AE_IFCHR, 1, 3).device("dev/sda", AE_IFBLK, 8, 0);
  b.device("dev/mem", AE_IFCHR, 1, 1).device("dev/fifo", AE_IFIFO, 0, 0);
  auto r = extract(b.finish());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(std::filesystem::exists(tree_.root() / "dev/sda"));
  EXPECT_FALSE(std::filesystem::exists(tree_.root() / "dev/mem"));
  EXPECT_TRUE(std::filesystem::is_fifo(tree_.root() / "dev/fifo"));
  if (::geteuid() == 0) {
    struct stat st {};
    ASSERT_EQ(::lstat((tree_.root() / "dev/null").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(1, 3));
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(warnings_.size(), 2u);
  }
  ASSERT_FALSE(warnings_.empty());
  EXPECT_NE(warnings_[0].find("skipping block device 'dev/sda' (8:0)"), std::string::npos);
}

TEST_P(ExtractTest, NoDevicesWhenDisallowed) {
  ArchiveBuilder b;
  b.device("null", AE_IFCHR, 1, 3);
  ExtractLimits limits;
  limits.allow_safe_devices = false;
  auto r = extract(b.finish(), limits);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(std::filesystem::exists(tree_.root() / "null"));
  EXPECT_EQ(r->skipped, 1u);
}

TEST_P(ExtractTest, EnforcesTheSizeCap) {
  ArchiveBuilder b;
  b.file("small", "ok").zeros("big", 2 << 20);
  ExtractLimits limits;
  limits.max_total_size = 1 << 20;
  auto r = extract(b.finish(), limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EFBIG);
  EXPECT_NE(r.error().message.find("size limit"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(tree_.root() / "big"));
  EXPECT_EQ(tree_.outside_state(), before_);
}

TEST_P(ExtractTest, StopsACompressionBomb) {
  ArchiveBuilder b(Compression::xz);
  b.zeros("bomb", 64 << 20);
  ExtractLimits limits;
  limits.ratio_grace = 4 << 20;
  auto r = extract(b.finish(), limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EFBIG);
  EXPECT_NE(r.error().message.find("compression ratio exceeds 100:1"), std::string::npos);
}

TEST_P(ExtractTest, CapsTheNumberOfMembers) {
  ArchiveBuilder b;
  for (int i = 0; i < 5; ++i)
    b.file("f" + std::to_string(i), "");
  ExtractLimits limits;
  limits.max_entries = 3;
  auto r = extract(b.finish(), limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EFBIG);
}

TEST_P(ExtractTest, RejectsGarbageAndTruncatedArchives) {
  auto garbage = extract(std::string(4096, 'x'));
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, EILSEQ);
  EXPECT_NE(garbage.error().message.find("corrupt archive"), std::string::npos);

  ArchiveBuilder b;
  b.file("a", std::string(100000, 'a')).file("b", "b");
  std::string bytes = b.finish();
  auto truncated = extract(bytes.substr(0, bytes.size() / 2));
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, EILSEQ) << truncated.error().message;

  auto empty = extract("");
  ASSERT_FALSE(empty);
  EXPECT_EQ(tree_.outside_state(), before_);
}

TEST_P(ExtractTest, ReportsProgressAndCanBeCancelled) {
  ArchiveBuilder b;
  for (int i = 0; i < 20; ++i)
    b.file("f" + std::to_string(i), "data");
  const auto file = tree_.dir() / "archive";
  write_file(file, b.finish());
  auto source = open_file(file);
  ASSERT_TRUE(source);
  auto root = tree_.root_fd();
  std::vector<Progress> seen;
  ExtractLimits limits;
  limits.progress_interval = std::chrono::milliseconds(0);
  ExtractCallbacks callbacks;
  callbacks.progress = [&](const Progress& p) {
    seen.push_back(p);
    return seen.size() < 5;
  };
  auto r = unpack(**source, root.get(), limits, callbacks);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ECANCELED);
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_LE(seen.front().files, seen.back().files);
  ASSERT_TRUE(seen.back().total);
  EXPECT_EQ(*seen.back().total, std::filesystem::file_size(file));
  if (where() == Where::here) {
    // Stopped where it was; a child is told by its end, so it may have got further.
    EXPECT_LT(seen.back().files, 20u);
    EXPECT_FALSE(std::filesystem::exists(tree_.root() / "f19"));
  }
  EXPECT_EQ(child_processes(), "") << "the helper was not reaped";
}

INSTANTIATE_TEST_SUITE_P(Where, ExtractTest, ::testing::Values(Where::here, Where::child),
                         where_name);

// --- the helper child ---------------------------------------------------------------------

// A bare ExtractBase for the child-only tests.
class ExtractInChild : public ExtractBase {
 protected:
  Where where() const override { return Where::child; }

  // A fake helper: a shell script at a path of its own.
  std::string fake_helper(const std::string& body) {
    const auto path = tree_.dir() / "helper";
    write_file(path, "#!/bin/sh\n" + body + "\n");
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    return path;
  }

  Result<ExtractStats> with_helper(const std::string& program) {
    ArchiveBuilder b;
    b.file("a", "1");
    const auto file = tree_.dir() / "archive";
    write_file(file, b.finish());
    auto source = open_file(file);
    if (!source) return std::unexpected(source.error());
    auto root = tree_.root_fd();
    return extract_in_child(**source, root.get(), {}, {}, program);
  }
};

TEST_F(ExtractInChild, AHelperThatEndsWithoutAResultIsAnError) {
  auto exited = with_helper(fake_helper("exit 3"));
  ASSERT_FALSE(exited);
  EXPECT_EQ(exited.error().code, EIO);
  EXPECT_EQ(exited.error().message, "the archive extractor exited with status 3 and no result");

  auto killed = with_helper(fake_helper("kill -KILL $$"));
  ASSERT_FALSE(killed);
  EXPECT_EQ(killed.error().code, EIO);
  EXPECT_EQ(killed.error().message, "the archive extractor was killed by signal 9 (Killed)");

  auto garbage = with_helper(fake_helper("echo '{\"nonsense\": 1}'; cat >/dev/null"));
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, EIO);
  EXPECT_EQ(garbage.error().message, "the archive extractor sent an unknown message");

  auto missing = with_helper((tree_.dir() / "no-such-helper").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);
  EXPECT_EQ(child_processes(), "");
}

TEST_F(ExtractInChild, TheHelpersErrorAndResultArePassedOn) {
  auto failed = with_helper(
      fake_helper("echo '{\"warning\": \"w\"}'; echo '{\"error\": 1, \"message\": \"no way\"}'"));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, EPERM);
  EXPECT_EQ(failed.error().message, "no way");

  auto done = with_helper(
      fake_helper("cat >/dev/null; echo '{\"entries\": 7, \"bytes\": 8, \"skipped\": 9}'"));
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->entries, 7u);
  EXPECT_EQ(done->bytes, 8u);
  EXPECT_EQ(done->skipped, 9u);
}

// The helper dies with its parent (PR_SET_PDEATHSIG); one whose parent is already gone, or
// that was not started by kleened, refuses to run.
TEST_F(ExtractInChild, TheHelperRunsOnlyForTheProcessThatStartedIt) {
  ProcessSpec spec;
  spec.argv = {KLEENED_PATH, "extract-archive", "{}", "1"};
  auto r = run_process(spec);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_EQ(r->out, "{\"error\":" + std::to_string(ECHILD) +
                        ",\"message\":\"extract-archive: kleened is gone\"}\n");
  spec.argv.pop_back();
  r = run_process(spec);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_NE(r->out.find("usage: kleened extract-archive LIMITS PARENT_PID"), std::string::npos)
      << r->out;
}

// The real helper (kleened extract-archive) while it unpacks: only extraction's capabilities,
// no_new_privs, and (unless sanitized) the extraction root as its root directory. It is looked
// at on its first progress message, after the first member: the 4 MiB member behind it cannot
// have gone through the socket yet (the parent reads messages before it writes on), so the
// helper is still running, not a zombie whose root can no longer be read.
TEST_F(ExtractInChild, TheHelperIsConfined) {
  ArchiveBuilder b(Compression::none);
  b.file("f0", "data").zeros("big", 4u << 20);
  const auto file = tree_.dir() / "archive";
  write_file(file, b.finish());
  auto source = open_file(file);
  ASSERT_TRUE(source);
  auto root = tree_.root_fd();
  ExtractLimits limits;
  limits.progress_interval = std::chrono::milliseconds(0);
  std::string status, helper_root, seccomp;
  ExtractCallbacks callbacks;
  callbacks.progress = [&](const Progress&) {
    if (!status.empty()) return true;
    const std::string pid = child_processes();
    std::ifstream in("/proc/" + pid + "/status");
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with("CapEff:") || line.starts_with("CapPrm:") ||
          line.starts_with("CapBnd:") || line.starts_with("CapInh:") ||
          line.starts_with("CapAmb:") || line.starts_with("NoNewPrivs:"))
        status += line + "\n";
      if (line.starts_with("Seccomp:") || line.starts_with("Seccomp_filters:"))
        seccomp += line + "\n";
    }
    std::error_code ec;
    helper_root = std::filesystem::read_symlink("/proc/" + pid + "/root", ec).string();
    return true;
  };
  auto r = extract_in_child(**source, root.get(), limits, callbacks, KLEENED_PATH);
  ASSERT_TRUE(r) << r.error().message;
  // CHOWN, DAC_OVERRIDE, FOWNER, FSETID, MKNOD
  EXPECT_EQ(status,
            "CapInh:\t0000000000000000\nCapPrm:\t000000000800001b\n"
            "CapEff:\t000000000800001b\nCapBnd:\t000000000800001b\n"
            "CapAmb:\t0000000000000000\nNoNewPrivs:\t1\n");
  EXPECT_EQ(helper_root, extract_helper_chroots() ? tree_.root().string() : "/");
  // The extractor's seccomp filter: one more than this process has (mode 2); not in sanitized
  // builds, like the chroot.
  const auto filters_of_this_process = [] {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
      if (line.starts_with("Seccomp_filters:")) return std::stoi(line.substr(16));
    return 0;
  };
  const int filters = filters_of_this_process() + (extract_helper_chroots() ? 1 : 0);
  EXPECT_EQ(seccomp, "Seccomp:\t" + std::string(filters > 0 ? "2" : "0") + "\nSeccomp_filters:\t" +
                         std::to_string(filters) + "\n");
}
}  // namespace
}  // namespace kleene::image::test

// The build context: globs, .dockerignore, COPY resolution and its errors, copying into a
// root without leaving it, and the content digest. Data on a tmpfs under /dev/shm.
#include "builder/context.hpp"
#include "builder/digest.hpp"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace kleene::builder {
namespace {

namespace fs = std::filesystem;

bool glob(std::string_view pattern, std::string_view name) {
  auto matched = glob_match(pattern, name);
  EXPECT_TRUE(matched.has_value()) << pattern;
  return matched.value_or(false);
}

TEST(Glob, StarQuestionClassAndEscape) {
  EXPECT_TRUE(glob("*.txt", "a.txt"));
  EXPECT_TRUE(glob("*.txt", ".txt"));
  EXPECT_FALSE(glob("*.txt", "a.txc"));
  EXPECT_TRUE(glob("a*b*c", "aXXbYYbc"));
  EXPECT_TRUE(glob("?.c", "x.c"));
  EXPECT_FALSE(glob("?.c", "xy.c"));
  EXPECT_TRUE(glob("[a-c]x", "bx"));
  EXPECT_FALSE(glob("[a-c]x", "dx"));
  EXPECT_TRUE(glob("[!a]x", "bx"));
  EXPECT_FALSE(glob("[^a]x", "ax"));
  EXPECT_TRUE(glob("a\\*", "a*"));
  EXPECT_FALSE(glob("a\\*", "ab"));
  EXPECT_FALSE(glob_match("[]", "]").has_value());
  EXPECT_FALSE(glob_match("[a", "a").has_value());
  EXPECT_FALSE(glob_match("a\\", "a").has_value());
  EXPECT_TRUE(has_glob("a*"));
  EXPECT_FALSE(has_glob("plain.txt"));
}

IgnoreRules rules(std::string_view text) {
  auto parsed = IgnoreRules::parse(text);
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().message);
  return parsed.value_or(IgnoreRules{});
}

TEST(DockerIgnore, CommentsBlankLinesAndRootRelativePatterns) {
  const auto r = rules("# a comment\n\n  /secret.txt  \n*.log\r\n./tmp/../cache\n");
  EXPECT_TRUE(r.ignored("secret.txt"));
  EXPECT_FALSE(r.ignored("sub/secret.txt"));
  EXPECT_TRUE(r.ignored("a.log"));
  EXPECT_FALSE(r.ignored("sub/a.log"));  // `*` is one level, like Docker
  EXPECT_TRUE(r.ignored("cache"));
  EXPECT_FALSE(r.ignored("# a comment"));
  EXPECT_FALSE(r.ignored(""));
}

TEST(DockerIgnore, DirectoryPatternCoversEverythingBelow) {
  const auto r = rules("build\n");
  EXPECT_TRUE(r.ignored("build"));
  EXPECT_TRUE(r.ignored("build/x/y.o"));
  EXPECT_FALSE(r.ignored("builder"));
}

TEST(DockerIgnore, DoubleStar) {
  const auto r = rules("**/*.o\na/**/b\n");
  EXPECT_TRUE(r.ignored("x.o"));
  EXPECT_TRUE(r.ignored("x/y/z.o"));
  EXPECT_TRUE(r.ignored("a/b"));
  EXPECT_TRUE(r.ignored("a/x/y/b"));
  EXPECT_TRUE(r.ignored("a/x/b/c"));
  EXPECT_FALSE(r.ignored("a/x/c"));
}

TEST(DockerIgnore, ExceptionsAndLastMatchWins) {
  const auto r = rules("*.md\n!README.md\n");
  EXPECT_TRUE(r.ignored("a.md"));
  EXPECT_FALSE(r.ignored("README.md"));
  EXPECT_TRUE(r.has_exceptions());
  const auto reversed = rules("!README.md\n*.md\n");
  EXPECT_TRUE(reversed.ignored("README.md"));
  const auto nested = rules("docs\n!docs/keep\n");
  EXPECT_TRUE(nested.ignored("docs/x"));
  EXPECT_FALSE(nested.ignored("docs/keep"));
  EXPECT_FALSE(nested.ignored("docs/keep/inner"));
}

TEST(DockerIgnore, WhichIgnoredDirectoriesMustStillBeSearched) {
  const auto r = rules("node_modules\ndocs\n!docs/keep\n!s*/x/*.txt\n");
  EXPECT_FALSE(r.may_include_below("node_modules"));
  EXPECT_TRUE(r.may_include_below("docs"));
  EXPECT_FALSE(r.may_include_below("docs/keep"));  // nothing left below it to match
  EXPECT_TRUE(r.may_include_below("src"));
  EXPECT_TRUE(r.may_include_below("src/x"));
  EXPECT_FALSE(r.may_include_below("src/y"));
  EXPECT_TRUE(rules("a\n!**/keep\n").may_include_below("a/b/c"));
  EXPECT_FALSE(rules("a\n").may_include_below("a"));
}

TEST(DockerIgnore, Errors) {
  auto bare = IgnoreRules::parse("!\n");
  ASSERT_FALSE(bare.has_value());
  EXPECT_EQ(bare.error().message, "illegal exclusion pattern: \"!\"");
  EXPECT_FALSE(IgnoreRules::parse("a[b\n").has_value());
}

TEST(DockerIgnore, HostilePatternsStayCheap) {
  std::string stars;
  for (int i = 0; i < 40; ++i)
    stars += "**/";
  const auto r = rules(stars + "x\n" + std::string(200, '*') + "y\n");
  std::string deep;
  for (int i = 0; i < 200; ++i)
    deep += "d/";
  EXPECT_FALSE(r.ignored(deep + "z"));
  EXPECT_TRUE(r.ignored(deep + "x"));
  EXPECT_FALSE(r.ignored(std::string(300, 'a')));
  EXPECT_TRUE(r.ignored(std::string(300, 'a') + "y"));
}

// Thousands of `**` and deep paths decide at once (the matcher once took 16 s for 200 `**` on
// one path; the ctest timeout catches a return of that).
TEST(DockerIgnore, ThousandsOfDoubleStarsAgainstADeepPath) {
  std::string stars;
  for (int i = 0; i < 10'000; ++i)
    stars += "**/";
  std::string deep;
  for (int i = 0; i < 999; ++i)
    deep += "d/";
  const auto r = rules(stars + "x\n" + stars + "\n");
  EXPECT_TRUE(r.ignored(deep + "x"));
  EXPECT_TRUE(r.ignored(deep + "z"));  // the second rule, `**` alone, matches everything
  const auto only_x = rules(stars + "x\n");
  EXPECT_FALSE(only_x.ignored(deep + "z"));
  EXPECT_TRUE(only_x.ignored(deep + "x/below"));

  // `**` between components that each take one: every split of the path is a candidate.
  std::string alternating;
  for (int i = 0; i < 500; ++i)
    alternating += "**/d/";
  const auto alt = rules(alternating + "x\n");
  EXPECT_TRUE(alt.ignored(deep + "x"));
  EXPECT_FALSE(alt.ignored(deep + "y"));
  EXPECT_FALSE(alt.ignored("d/d/x"));  // fewer components than the rule needs
  // With an exception after it: the last matching rule still wins.
  const auto keep = rules(alternating + "x\n!**/d/x\n");
  EXPECT_FALSE(keep.ignored(deep + "x"));
}

TEST(DockerIgnore, DoubleStarRunsAreOneDoubleStar) {
  const auto r = rules("a/**/**/**/b\n**/**/c\nd/**/**\ne/**/**/..\n");
  EXPECT_TRUE(r.ignored("a/b"));
  EXPECT_TRUE(r.ignored("a/x/y/b"));
  EXPECT_FALSE(r.ignored("a/x/y/z"));
  EXPECT_TRUE(r.ignored("c"));
  EXPECT_TRUE(r.ignored("x/y/c"));
  EXPECT_TRUE(r.ignored("d/x"));
  EXPECT_TRUE(r.ignored("e/x"));  // filepath.Clean: e/**/**/.. is e/**
}

TEST(DockerIgnore, SizeAndPatternCountAreBounded) {
  std::string big(kMaxDockerignoreSize + 1, '#');
  auto too_big = IgnoreRules::parse(big);
  ASSERT_FALSE(too_big.has_value());
  EXPECT_EQ(too_big.error().code, EFBIG);
  EXPECT_EQ(too_big.error().message, ".dockerignore is larger than 1 MiB");

  std::string many;
  for (std::size_t i = 0; i < kMaxIgnorePatterns; ++i)
    many += "p" + std::to_string(i) + "\n";
  auto at_limit = IgnoreRules::parse(many + "# comments and blank lines do not count\n\n");
  ASSERT_TRUE(at_limit.has_value());
  EXPECT_TRUE(at_limit->ignored("p9999"));
  auto over = IgnoreRules::parse(many + "one-more\n");
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().code, E2BIG);
  EXPECT_EQ(over.error().message, ".dockerignore has more than 10000 patterns");
}

// Arbitrary patterns and names: errors or answers, never a crash (run under ASan in CI).
TEST(Glob, ArbitraryInputNeverCrashes) {
  const std::string alphabet = "ab*?[]!^-\\/.#";
  unsigned seed = 12345;
  const auto next = [&] {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 16) & 0x7fff;
  };
  const auto random_text = [&] {
    std::string text;
    for (unsigned n = next() % 12; n > 0; --n)
      text += alphabet[next() % alphabet.size()];
    return text;
  };
  for (int i = 0; i < 5000; ++i) {
    const std::string pattern = random_text(), name = random_text();
    (void)glob_match(pattern, name);
    if (auto parsed = IgnoreRules::parse(pattern + "\n!" + random_text())) {
      (void)parsed->ignored(name);
    }
  }
}

// A context and a container root on tmpfs.
class ContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/dev/shm/kleene-ctx-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    fs::create_directories(base_ / "ctx");
    fs::create_directories(base_ / "root");
    fs::create_directories(base_ / "outside");
    ctx_.reset(::open((base_ / "ctx").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    root_.reset(::open((base_ / "root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(ctx_ && root_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  fs::path ctx(std::string_view rel) const { return base_ / "ctx" / rel; }
  fs::path root(std::string_view rel) const { return base_ / "root" / rel; }

  static void write(const fs::path& path, std::string_view content, mode_t mode = 0644) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << content;
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
  }
  static std::string read(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  static mode_t mode_of(const fs::path& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st.st_mode;
  }

  Result<CopyPlan> plan(std::vector<std::string> sources, std::string_view dest,
                        std::string_view workdir = "/", const IgnoreRules& ignore = {}) {
    return plan_copy(ctx_.get(), sources, dest, workdir, ignore);
  }

  // plan + copy, asserting both succeed.
  void copy(std::vector<std::string> sources, std::string_view dest, const IgnoreRules& ignore = {},
            CopyOwner owner = {}) {
    auto p = plan(std::move(sources), dest, "/", ignore);
    ASSERT_TRUE(p.has_value()) << p.error().message;
    auto copied = copy_into_root(ctx_.get(), *p, root_.get(), ignore, owner);
    ASSERT_TRUE(copied.has_value()) << copied.error().message;
  }

  std::string digest(std::vector<std::string> sources, const IgnoreRules& ignore = {}) {
    auto p = plan(std::move(sources), "/x/", "/", ignore);
    EXPECT_TRUE(p.has_value());
    auto d = content_digest(ctx_.get(), *p, ignore);
    EXPECT_TRUE(d.has_value());
    return d.value_or("");
  }

  fs::path base_;
  UniqueFd ctx_;
  UniqueFd root_;
};

TEST_F(ContextTest, SingleFileDestinationRelativeToWorkdir) {
  write(ctx("a.txt"), "a");
  auto p = plan({"a.txt"}, "dst", "/app");
  ASSERT_TRUE(p.has_value());
  ASSERT_EQ(p->sources.size(), 1u);
  EXPECT_EQ(p->sources[0].path, "a.txt");
  EXPECT_FALSE(p->sources[0].directory);
  EXPECT_EQ(p->destination, "/app/dst");
  EXPECT_FALSE(p->into_directory);
  auto dot = plan({"a.txt"}, ".", "/app");
  ASSERT_TRUE(dot.has_value());
  EXPECT_EQ(dot->destination, "/app");
  EXPECT_TRUE(dot->into_directory);
  auto up = plan({"/a.txt"}, "../../../x/", "/app");  // `..` in the destination stops at `/`
  ASSERT_TRUE(up.has_value());
  EXPECT_EQ(up->destination, "/x");
}

TEST_F(ContextTest, GlobsResolveSortedAndNeedADirectoryDestination) {
  write(ctx("b.txt"), "b");
  write(ctx("a.txt"), "a");
  write(ctx("c.md"), "c");
  write(ctx("sub/d.txt"), "d");
  auto p = plan({"*.txt", "s?b/[a-d].txt"}, "/out/");
  ASSERT_TRUE(p.has_value()) << p.error().message;
  ASSERT_EQ(p->sources.size(), 3u);
  EXPECT_EQ(p->sources[0].path, "a.txt");
  EXPECT_EQ(p->sources[1].path, "b.txt");
  EXPECT_EQ(p->sources[2].path, "sub/d.txt");

  auto no_slash = plan({"*.txt"}, "/out");
  ASSERT_FALSE(no_slash.has_value());
  EXPECT_EQ(no_slash.error().code, EINVAL);
  EXPECT_EQ(no_slash.error().message,
            "When using COPY with more than one source file, the destination must be a directory "
            "and end with a /");
  EXPECT_FALSE(plan({"a.txt", "c.md"}, "/out").has_value());
  // One match is one source: Docker copies it to the named file.
  auto single = plan({"*.md"}, "/out");
  ASSERT_TRUE(single.has_value());
  EXPECT_EQ(single->sources.size(), 1u);
}

TEST_F(ContextTest, MissingSourcesAndIgnoredFiles) {
  write(ctx("a.txt"), "a");
  write(ctx("secret.key"), "k");
  auto missing = plan({"nope.txt"}, "/x");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ENOENT);
  EXPECT_EQ(missing.error().message,
            "COPY failed: file not found in build context or excluded by .dockerignore: stat "
            "nope.txt: file does not exist");
  auto none = plan({"*.c"}, "/x/");
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().message, "COPY failed: no source files were specified");

  const auto ignore = rules("*.key\n");
  auto ignored = plan({"secret.key"}, "/x", "/", ignore);
  ASSERT_FALSE(ignored.has_value());
  EXPECT_EQ(ignored.error().code, ENOENT);
  auto all = plan({"*"}, "/x/", "/", ignore);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->sources.size(), 1u);
  EXPECT_EQ(all->sources[0].path, "a.txt");
}

// A Dockerfile may be 4 MiB: a source of a million literal components before a glob once
// recursed per component (and kept each prefix) and overflowed the stack of the thread
// planning the build, in kleened. The literal components are walked in a loop; a path beyond
// PATH_MAX is refused by name before any file system access.
TEST_F(ContextTest, HugeSourcePathsAreRefusedNotRecursed) {
  write(ctx("a/a/b.txt"), "b");
  std::string deep;
  for (int i = 0; i < 1'000'000; ++i)
    deep += "a/";
  for (const std::string& src : {deep + "*", deep + "b.txt"}) {
    auto p = plan({src}, "/x/");
    ASSERT_FALSE(p.has_value());
    EXPECT_EQ(p.error().code, ENAMETOOLONG);
    EXPECT_EQ(p.error().message, "COPY failed: file name too long: " + src.substr(0, 64) + "...");
  }
  // Up to PATH_MAX, globs after literal components still resolve.
  auto found = plan({"a/a/*"}, "/x/");
  ASSERT_TRUE(found.has_value()) << found.error().message;
  ASSERT_EQ(found->sources.size(), 1u);
  EXPECT_EQ(found->sources[0].path, "a/a/b.txt");
}

// Symlinks to their own directory make `d/*/*/...` reach links^stars paths (the kernel's
// 40-link limit bounds the depth, not the fan-out): the walk stops at kMaxCopyMatches. Three
// links and 12 stars (531 441 paths) stay well below that limit, which the kernel sometimes
// reports early on deep paths of links (ELOOP at 20-30 links, seen in CI).
TEST_F(ContextTest, GlobThroughSymlinkLoopsIsBounded) {
  fs::create_directories(ctx("d"));
  fs::create_directory_symlink(".", ctx("d/a"));
  fs::create_directory_symlink(".", ctx("d/b"));
  fs::create_directory_symlink(".", ctx("d/c"));
  std::string src = "d";
  for (int i = 0; i < 12; ++i)
    src += "/*";
  auto p = plan({src}, "/x/");
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().code, E2BIG);
  EXPECT_EQ(p.error().message, "COPY failed: " + src + " reaches more than 100000 paths");
  auto few = plan({"d/*/*"}, "/x/");  // a/a a/b a/c b/a ... c/c
  ASSERT_TRUE(few.has_value()) << few.error().message;
  EXPECT_EQ(few->sources.size(), 9u);
}

// Matching a .dockerignore is budgeted over a build: thousands of `**` rules that never match
// cost (rules x components) per path, CPU-hours over a large context. An honest file spends a
// few matches per path; a hostile one fails the walk with E2BIG once the budget is spent.
TEST_F(ContextTest, IgnoreMatchingIsBudgeted) {
  for (int i = 0; i < 50; ++i)
    write(ctx("d/e/f/file" + std::to_string(i)), "x");
  write(ctx("d/e/f/app.log"), "log");

  auto honest = IgnoreRules::parse("*.log\n**/*.log\nnode_modules\n!keep\n");
  ASSERT_TRUE(honest.has_value());
  EXPECT_FALSE(digest({"d"}, *honest).empty());
  EXPECT_LT(honest->spent(), 54u * 100);  // 54 paths, tens of steps each

  std::string text;
  for (int i = 0; i < 2000; ++i)
    text += "**/never" + std::to_string(i) + "/**/x\n";
  auto hostile = IgnoreRules::parse(text);
  ASSERT_TRUE(hostile.has_value());
  EXPECT_FALSE(digest({"d"}, *hostile).empty());  // the default budget: decided
  const auto per_walk = hostile->spent();
  EXPECT_GT(per_walk, 1'000'000u);

  const std::string spent =
      ".dockerignore costs more than 1000000 matching steps to apply (fewer `**` rules help)";
  auto p = plan({"d"}, "/x/", "/", *hostile);
  ASSERT_TRUE(p.has_value()) << p.error().message;
  hostile->set_budget(1'000'000);
  auto d = content_digest(ctx_.get(), *p, *hostile);
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, E2BIG);
  EXPECT_EQ(d.error().message, spent);
  auto copied = copy_into_root(ctx_.get(), *p, root_.get(), *hostile, {});
  ASSERT_FALSE(copied.has_value());
  EXPECT_EQ(copied.error().message, spent);
  EXPECT_FALSE(fs::exists(root("x/e/f/file49")));
  auto globbed = plan({"d/e/f/*"}, "/x/", "/", *hostile);
  ASSERT_FALSE(globbed.has_value());
  EXPECT_EQ(globbed.error().message, "COPY failed: " + spent);
  auto literal = plan({"d/e/f/file1"}, "/x/", "/", *hostile);
  ASSERT_FALSE(literal.has_value());
  EXPECT_EQ(literal.error().message, "COPY failed: " + spent);
}

TEST_F(ContextTest, DotDotLeavingTheContextIsRefused) {
  write(base_ / "outside/x", "host");
  write(ctx("a/b.txt"), "b");
  for (const std::string src : {"../outside/x", "a/../../outside/x", "/../outside/x"}) {
    auto p = plan({src}, "/x");
    ASSERT_FALSE(p.has_value()) << src;
    EXPECT_EQ(p.error().code, EPERM);
    EXPECT_EQ(p.error().message, "COPY failed: forbidden path outside the build context: " + src);
  }
  auto inside = plan({"a/../a/b.txt"}, "/x");
  ASSERT_TRUE(inside.has_value());
  EXPECT_EQ(inside->sources[0].path, "a/b.txt");
}

TEST_F(ContextTest, SymlinksLeadingOutOfTheContextAreRefused) {
  write(base_ / "outside/x", "host");
  write(ctx("a.txt"), "a");
  fs::create_symlink("../outside/x", ctx("rel"));
  fs::create_symlink("/etc/passwd", ctx("abs"));
  fs::create_symlink("/", ctx("slash"));
  fs::create_symlink("a.txt", ctx("ok"));
  for (const std::string src : {"rel", "abs", "slash/etc/passwd", "slash/*", "[r]el"}) {
    auto p = plan({src}, "/x/");
    ASSERT_FALSE(p.has_value()) << src;
    EXPECT_EQ(p.error().code, EPERM) << src << ": " << p.error().message;
  }
  auto ok = plan({"ok"}, "/x");
  ASSERT_TRUE(ok.has_value());
  EXPECT_FALSE(ok->sources[0].directory);
  copy({"ok"}, "/x");
  EXPECT_EQ(read(root("x")), "a");  // a source symlink inside the context is followed
}

TEST_F(ContextTest, FileModesAndOwnership) {
  write(ctx("plain"), "p", 0640);
  write(ctx("suid"), "s", 04755);
  write(ctx("sgid"), "g", 02711);
  copy({"plain", "suid", "sgid"}, "/bin/", {}, CopyOwner{1234, 5678});
  EXPECT_EQ(read(root("bin/plain")), "p");
  EXPECT_EQ(mode_of(root("bin/plain")) & 07777, 0640u);
  EXPECT_EQ(mode_of(root("bin/suid")) & 07777, 0755u);
  EXPECT_EQ(mode_of(root("bin/sgid")) & 07777, 0711u);
  struct stat st {};
  ASSERT_EQ(::stat(root("bin/plain").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  ASSERT_EQ(::stat(root("bin").c_str(), &st), 0);  // created parent
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST_F(ContextTest, DirectorySourceCopiesItsContents) {
  write(ctx("d/f1"), "1");
  write(ctx("d/sub/f2"), "2", 0600);
  fs::create_directories(ctx("d/tmp"));
  ASSERT_EQ(::chmod(ctx("d/tmp").c_str(), 01777), 0);
  fs::create_symlink("../f1", ctx("d/sub/link"));
  fs::create_symlink("/etc/shadow", ctx("d/abs"));
  copy({"d"}, "/out");
  EXPECT_FALSE(fs::exists(root("out/d")));
  EXPECT_EQ(read(root("out/f1")), "1");
  EXPECT_EQ(read(root("out/sub/f2")), "2");
  EXPECT_EQ(mode_of(root("out/sub/f2")) & 07777, 0600u);
  EXPECT_EQ(mode_of(root("out/tmp")) & 07777, 01777u);
  EXPECT_TRUE(S_ISLNK(mode_of(root("out/sub/link"))));
  EXPECT_EQ(fs::read_symlink(root("out/sub/link")), "../f1");
  EXPECT_EQ(fs::read_symlink(root("out/abs")), "/etc/shadow");  // copied, not followed
}

TEST_F(ContextTest, WholeContextWithDotAndSlash) {
  write(ctx("a"), "a");
  write(ctx("d/b"), "b");
  copy({"."}, "/c1/");
  copy({"/"}, "/c2");
  EXPECT_EQ(read(root("c1/d/b")), "b");
  EXPECT_EQ(read(root("c2/a")), "a");
}

TEST_F(ContextTest, FileIntoExistingDirectoryOrNamedFile) {
  write(ctx("a.txt"), "a");
  fs::create_directories(root("etc"));
  copy({"a.txt"}, "/etc");  // an existing directory: inside it
  EXPECT_EQ(read(root("etc/a.txt")), "a");
  copy({"a.txt"}, "/opt/renamed");
  EXPECT_EQ(read(root("opt/renamed")), "a");
  copy({"a.txt"}, "/new/");
  EXPECT_EQ(read(root("new/a.txt")), "a");
}

TEST_F(ContextTest, DockerignoreInsideDirectoriesWithExceptions) {
  write(ctx("d/x.log"), "x");
  write(ctx("d/keep.log"), "k");
  write(ctx("d/src.c"), "c");
  write(ctx("d/cache/blob"), "b");
  write(ctx("d/cache/keep"), "kk");
  const auto ignore = rules("d/*.log\n!d/keep.log\nd/cache\n!d/cache/keep\n");
  copy({"d"}, "/o/", ignore);
  EXPECT_FALSE(fs::exists(root("o/x.log")));
  EXPECT_EQ(read(root("o/keep.log")), "k");
  EXPECT_EQ(read(root("o/src.c")), "c");
  EXPECT_FALSE(fs::exists(root("o/cache/blob")));
  EXPECT_EQ(read(root("o/cache/keep")), "kk");
}

TEST_F(ContextTest, SymlinksInTheRootStayInsideIt) {
  write(ctx("a.txt"), "a");
  write(ctx("d/f"), "f");
  fs::create_directories(root("etc"));
  fs::create_directories(root("proc"));
  fs::create_symlink("/etc", root("data"));
  fs::create_symlink("../../../../../..", root("up"));
  fs::create_symlink("/proc", root("p"));
  fs::create_symlink("/proc/self/root", root("magic"));
  const std::string unique = "kleene-ctx-test-" + std::to_string(::getpid());

  copy({"a.txt"}, "/data/");
  EXPECT_EQ(read(root("etc/a.txt")), "a");
  copy({"a.txt"}, "/up/" + unique);
  EXPECT_EQ(read(root(unique)), "a");
  copy({"d"}, "/up/up/" + unique + "-d/");
  EXPECT_EQ(read(root(unique + "-d/f")), "f");
  copy({"a.txt"}, "/p/" + unique);
  EXPECT_EQ(read(root("proc/" + unique)), "a");
  // A magic link chain: either refused or inside the root, never the host's /.
  auto p = plan({"a.txt"}, "/magic/" + unique);
  ASSERT_TRUE(p.has_value());
  (void)copy_into_root(ctx_.get(), *p, root_.get(), {});
  EXPECT_FALSE(fs::exists(fs::path("/") / unique));
  EXPECT_FALSE(fs::exists(fs::path("/proc") / unique));
  EXPECT_FALSE(fs::exists(base_ / unique));
}

TEST_F(ContextTest, DanglingAndLoopingSymlinksInTheRoot) {
  write(ctx("a.txt"), "a");
  fs::create_symlink("/srv/data", root("data"));
  fs::create_symlink("../../../elsewhere", root("rel"));
  fs::create_symlink("/loop", root("loop"));
  copy({"a.txt"}, "/data/");  // the dangling target is created, in the root
  EXPECT_EQ(read(root("srv/data/a.txt")), "a");
  copy({"a.txt"}, "/rel/sub/");
  EXPECT_EQ(read(root("elsewhere/sub/a.txt")), "a");
  EXPECT_FALSE(fs::exists(base_ / "elsewhere"));
  auto p = plan({"a.txt"}, "/loop/");
  ASSERT_TRUE(p.has_value());
  auto looped = copy_into_root(ctx_.get(), *p, root_.get(), {});
  ASSERT_FALSE(looped.has_value());
  EXPECT_EQ(looped.error().code, ELOOP);
}

TEST_F(ContextTest, MessagesNameTheInstruction) {
  write(ctx("a"), "a");
  const std::vector<std::string> two{"a", "a"};
  auto add = plan_copy(ctx_.get(), two, "/x", "/", {}, "ADD");
  ASSERT_FALSE(add.has_value());
  EXPECT_EQ(add.error().message,
            "When using ADD with more than one source file, the destination must be a directory "
            "and end with a /");
  const std::vector<std::string> missing{"b"};
  auto add_missing = plan_copy(ctx_.get(), missing, "/x", "/", {}, "ADD");
  ASSERT_FALSE(add_missing.has_value());
  EXPECT_TRUE(add_missing.error().message.starts_with("ADD failed: file not found"));
  auto no_dest = plan_copy(ctx_.get(), missing, "", "/", {});
  ASSERT_FALSE(no_dest.has_value());
  EXPECT_EQ(no_dest.error().code, EINVAL);
}

TEST_F(ContextTest, HostileSymlinkAtTheDestinationIsReplacedNotFollowed) {
  write(ctx("a.txt"), "evil");
  write(ctx("d/sub/f"), "evil");
  write(ctx("d/link"), "evil");
  write(base_ / "outside/victim", "precious");
  fs::create_directories(base_ / "outside/dir");
  fs::create_directories(root("etc"));
  fs::create_directories(root("out"));
  fs::create_symlink(base_ / "outside/victim", root("etc/target"));
  fs::create_symlink(base_ / "outside/dir", root("out/sub"));
  fs::create_symlink(base_ / "outside/victim", root("out/link"));

  copy({"a.txt"}, "/etc/target");
  EXPECT_EQ(read(base_ / "outside/victim"), "precious");
  EXPECT_FALSE(S_ISLNK(mode_of(root("etc/target"))));
  EXPECT_EQ(read(root("etc/target")), "evil");

  copy({"d"}, "/out/");
  EXPECT_EQ(read(base_ / "outside/victim"), "precious");
  EXPECT_TRUE(fs::is_empty(base_ / "outside/dir"));
  EXPECT_TRUE(S_ISDIR(mode_of(root("out/sub"))));
  EXPECT_EQ(read(root("out/sub/f")), "evil");
  EXPECT_TRUE(S_ISREG(mode_of(root("out/link"))));
}

TEST_F(ContextTest, FileOverADirectoryIsAnError) {
  write(ctx("a"), "a");
  fs::create_directories(root("x/a/inner"));
  auto p = plan({"a"}, "/x/");
  ASSERT_TRUE(p.has_value());
  auto copied = copy_into_root(ctx_.get(), *p, root_.get(), {});
  ASSERT_FALSE(copied.has_value());
  EXPECT_EQ(copied.error().code, EISDIR);
  // No temporary file is left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(root("x")), fs::directory_iterator{}), 1);
}

TEST_F(ContextTest, LoadDockerignoreFromTheContext) {
  auto none = load_dockerignore(ctx_.get());
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  write(ctx(".dockerignore"), "*.tmp\n");
  auto loaded = load_dockerignore(ctx_.get());
  ASSERT_TRUE(loaded.has_value());
  EXPECT_TRUE(loaded->ignored("x.tmp"));
  fs::remove(ctx(".dockerignore"));
  fs::create_symlink("/etc/passwd", ctx(".dockerignore"));
  EXPECT_FALSE(load_dockerignore(ctx_.get()).has_value());
  fs::remove(ctx(".dockerignore"));
  write(ctx(".dockerignore"), std::string(kMaxDockerignoreSize, '#'));
  EXPECT_TRUE(load_dockerignore(ctx_.get()).has_value());
  write(ctx(".dockerignore"), std::string(kMaxDockerignoreSize + 1, '#'));
  auto big = load_dockerignore(ctx_.get());
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().message, ".dockerignore is larger than 1 MiB");
}

TEST_F(ContextTest, DigestIsStableAndFollowsContentModeNamesAndLinks) {
  write(ctx("d/a"), "a");
  write(ctx("d/b"), "b");
  fs::create_symlink("a", ctx("d/l"));
  const std::string first = digest({"d"});
  EXPECT_TRUE(first.starts_with("sha256:"));
  EXPECT_EQ(first.size(), 7u + 64u);
  EXPECT_EQ(digest({"d"}), first);
  fs::last_write_time(ctx("d/a"), fs::file_time_type::clock::now() - std::chrono::hours(5));
  EXPECT_EQ(digest({"d"}), first);  // timestamps do not matter

  write(ctx("d/a"), "A");
  const std::string content = digest({"d"});
  EXPECT_NE(content, first);
  write(ctx("d/a"), "a");
  EXPECT_EQ(digest({"d"}), first);

  ASSERT_EQ(::chmod(ctx("d/a").c_str(), 0755), 0);
  EXPECT_NE(digest({"d"}), first);
  ASSERT_EQ(::chmod(ctx("d/a").c_str(), 0644), 0);
  EXPECT_EQ(digest({"d"}), first);

  fs::rename(ctx("d/b"), ctx("d/c"));
  EXPECT_NE(digest({"d"}), first);
  fs::rename(ctx("d/c"), ctx("d/b"));
  EXPECT_EQ(digest({"d"}), first);

  fs::remove(ctx("d/l"));
  fs::create_symlink("b", ctx("d/l"));
  EXPECT_NE(digest({"d"}), first);
  fs::remove(ctx("d/l"));
  fs::create_symlink("a", ctx("d/l"));
  EXPECT_EQ(digest({"d"}), first);

  EXPECT_NE(digest({"d/a"}), digest({"d/b"}));
  EXPECT_NE(digest({"d"}, rules("d/b\n")), first);  // ignored files are not part of it
}

// The digest keys the build cache: a format change must be deliberate (it invalidates every
// cached COPY step), so a known tree has a known digest.
TEST_F(ContextTest, DigestOfAKnownTreeIsFixed) {
  write(ctx("d/a"), "a", 0644);
  write(ctx("d/sub/b"), "b", 0600);
  fs::create_symlink("a", ctx("d/l"));
  ASSERT_EQ(::chmod(ctx("d").c_str(), 0755), 0);
  ASSERT_EQ(::chmod(ctx("d/sub").c_str(), 0750), 0);
  EXPECT_EQ(digest({"d"}),
            "sha256:ab66e8c21703d5330ae8acf7d223aac18c0806722b08ca3a0f5bc2670c5170ec");
}

// SHA-256 known answers (FIPS 180-2), and the field framing: lengths as 8 little-endian bytes.
TEST(FieldDigest, IsSha256OverLengthPrefixedFields) {
  FieldDigest empty;
  EXPECT_EQ(*empty.finish(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  FieldDigest abc;
  abc.bytes("abc", 3);
  EXPECT_EQ(*abc.finish(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  FieldDigest framed, by_hand;
  framed.field("abc");
  by_hand.bytes("\x03\0\0\0\0\0\0\0abc", 11);
  EXPECT_EQ(*framed.finish(), *by_hand.finish());
  FieldDigest ab_c, a_bc;
  ab_c.list({"ab", "c"});
  a_bc.list({"a", "bc"});
  EXPECT_NE(*ab_c.finish(), *a_bc.finish());
}

}  // namespace
}  // namespace kleene::builder

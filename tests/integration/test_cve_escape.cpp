// Known container escapes, each replayed against the real stack: a real kleened on a throw-away
// ZFS pool, klee, and a hostile image made from the busybox rootfs plus kl-cve
// (tests/integration/cve_probe.c, a static program that performs the attack from inside and
// says what it got). A test named after a CVE replays that CVE's attack; the others cover a
// class of escape that existing tests only partly covered (docs/security.md lists which).
// Every test checks both that the attack ran (the probe raced, the host binary did run inside,
// the trick reached the kernel) and that its effect is absent. Synchronisation is on output
// lines, files and process exits, never on sleeps.
#include <elf.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "container_fixture.hpp"

namespace kleene::it {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kImage = "kl-cve";

// sha256sum of a host file ("" if it cannot be read).
std::string sha256(const std::string& path) {
  auto r = run_command({find_program("sha256sum"), path}, test_environment());
  if (r.exit_code != 0) return "";
  return r.out.substr(0, r.out.find(' '));
}

// Whether the ELF file at `path` names a program interpreter (is dynamically linked).
bool has_program_interpreter(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  Elf64_Ehdr header{};
  if (!in.read(reinterpret_cast<char*>(&header), sizeof(header))) return false;
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr segment{};
    in.seekg(static_cast<std::streamoff>(header.e_phoff + i * sizeof(Elf64_Phdr)));
    if (!in.read(reinterpret_cast<char*>(&segment), sizeof(segment))) return false;
    if (segment.p_type == PT_INTERP) return true;
  }
  return false;
}

std::string mountinfo() {
  std::ifstream in("/proc/self/mountinfo");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The number after `key ` in `text` (-1 if absent).
long number_after(const std::string& text, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("(^|\\s)" + key + " (-?[0-9]+)"))) return -1;
  return std::stol(m[2].str());
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

// A ustar member; type '0' file, '1' hard link, '2' symlink, '3'/'4' char/block device,
// '5' directory. Enough to write archives GNU tar refuses to make (absolute and ../ names).
std::string tar_member(const std::string& name, char type, const std::string& link = "",
                       const std::string& data = "", unsigned mode = 0644) {
  std::string h(512, '\0');
  auto put = [&](size_t at, size_t width, const std::string& value) {
    std::memcpy(h.data() + at, value.data(), std::min(width, value.size()));
  };
  auto octal = [&](size_t at, size_t width, unsigned long value) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*lo", static_cast<int>(width - 1), value);
    put(at, width - 1, buf);
  };
  put(0, 100, name);
  octal(100, 8, mode);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, data.size());
  octal(136, 12, 1700000000);
  h[156] = type;
  put(157, 100, link);
  put(257, 6, std::string("ustar\0", 6));
  put(263, 2, "00");
  put(265, 32, "root");
  put(297, 32, "root");
  put(148, 8, "        ");
  unsigned sum = 0;
  for (unsigned char c : h)
    sum += c;
  char chk[8];
  std::snprintf(chk, sizeof chk, "%06o", sum);
  std::memcpy(h.data() + 148, chk, 7);  // six digits and a NUL, then the space left there
  std::string out = h + data;
  out.resize((out.size() + 511) / 512 * 512, '\0');
  return out;
}

// A klee process left running (an attached `klee run` whose container races the test): its
// stdout and stderr are read as they come.
class Attached {
 public:
  explicit Attached(std::vector<std::string> args) {
    args.insert(args.begin(), paths::klee());
    Pipe out = make_pipe();
    SpawnSpec spec;
    spec.argv = std::move(args);
    spec.env = test_environment();
    spec.stdout_fd = out.write.get();
    spec.stderr_fd = out.write.get();
    pid_ = spawn(spec);
    read_ = std::move(out.read);
  }
  ~Attached() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      (void)wait_for_exit(pid_, 10s);
    }
  }
  Attached(const Attached&) = delete;
  Attached& operator=(const Attached&) = delete;

  // Reads until a line equal to `line` arrived (true) or the output ended or timed out.
  bool wait_for_line(const std::string& line, std::chrono::milliseconds timeout = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (contains("\n" + text_, "\n" + line + "\n")) return true;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !read_some(static_cast<int>(left.count()))) return false;
    }
  }

  // Reads to the end of the output and reaps the process: its exit code, -1 on timeout.
  int finish(std::chrono::milliseconds timeout = 60s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !read_some(static_cast<int>(left.count()))) break;
    }
    auto code = wait_for_exit(pid_, 10s);
    if (code) pid_ = -1;
    return code.value_or(-1);
  }

  const std::string& text() const { return text_; }

 private:
  bool read_some(int timeout_ms) {
    pollfd p{read_.get(), POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return false;
    char buf[4096];
    const ssize_t n = ::read(read_.get(), buf, sizeof buf);
    if (n <= 0) return false;
    text_.append(buf, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  UniqueFd read_;
  std::string text_;
};

class CveEscape : public PoolKleenedTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(start_for_containers());
    ASSERT_NO_FATAL_FAILURE(make_hostile_image());
  }

  void TearDown() override {
    if (daemon.running()) {
      for (const auto& name : containers_)
        (void)klee({"rmc", "-f", name});
      EXPECT_TRUE(daemon.stop());
    }
    pool_.reset();
  }

  // The busybox rootfs plus: /kl-cve (the probe), /kl-suid (the probe, set-uid root),
  // /kl-shebang (`#!/proc/self/exe`, CVE-2019-5736's entry point), /devs with host device
  // nodes (mem, kmsg, a disk; null as the one allowed), all owned by root.
  void make_hostile_image() {
    const std::string tree = dir.file("image");
    const std::string tarball = dir.file("hostile.tar.gz");
    const std::string probe = KLEENE_IT_CVE_PROBE;
    const std::string script =
        "set -e; mkdir '" + tree + "'; tar -xzf '" + busybox_tarball() + "' -C '" + tree +
        "'; cp '" + probe + "' '" + tree + "/kl-cve'; cp '" + probe + "' '" + tree +
        "/kl-suid'; chmod 4755 '" + tree + "/kl-suid'; printf '#!/proc/self/exe\\n' > '" + tree +
        "/kl-shebang'; chmod 755 '" + tree + "/kl-shebang'; mkdir '" + tree + "/devs'; mknod '" +
        tree + "/devs/mem' c 1 1; mknod '" + tree + "/devs/kmsg' c 1 11; mknod '" + tree +
        "/devs/disk' b 8 0; mknod '" + tree + "/devs/null' c 1 3; tar --owner=0 --group=0 -C '" +
        tree + "' -czf '" + tarball + "' .; rm -rf '" + tree + "'";
    auto made = run_command({"/bin/sh", "-c", script}, test_environment());
    ASSERT_EQ(made.exit_code, 0) << describe(made);
    auto created = klee({"image", "create", "-t", kImage, "fetch", "file://" + tarball});
    ASSERT_EQ(created.exit_code, 0) << describe(created);
  }

  ProcessResult klee(std::vector<std::string> args,
                     std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    args.insert(args.begin(), {paths::klee(), "--host", unix_host(), "--theme", "simple"});
    return run_command(args, test_environment(), timeout);
  }
  std::vector<std::string> klee_args(std::vector<std::string> args) {
    args.insert(args.begin(), {"--host", unix_host(), "--theme", "simple"});
    return args;
  }

  // `klee run --name N [options] IMAGE CMD...`, attached; the container is removed afterwards.
  ProcessResult run(std::vector<std::string> options, std::vector<std::string> command,
                    const std::string& image = kImage) {
    const std::string name = "kl-cve-" + std::to_string(runs_++);
    std::vector<std::string> args{"run", "--name", name};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back(image);
    args.insert(args.end(), command.begin(), command.end());
    auto r = klee(args);
    (void)klee({"rmc", "-f", name});
    return r;
  }

  // A name for a container the test keeps running; removed in TearDown if still there.
  std::string keep(const std::string& name) {
    containers_.push_back(name);
    return name;
  }

  std::vector<std::string> containers_;
  int runs_ = 0;
};

// CVE-2019-5736 (runc): a process in the container reaches the runtime's own binary through
// /proc/<pid>/exe -- of a runtime process that joined the container, or of a process made to
// execute /proc/self/exe -- and overwrites it on the host. Here the keeper binary runs in the
// container as the init (pid 1, a fork of the keeper) and, through `#!/proc/self/exe`, as the
// interpreter of an execution. The scanner freezes every process it sees and tries to open its
// exe for writing, then once more after it exited.
TEST_F(CveEscape, CVE_2019_5736_ProcSelfExeCannotReachTheHostRuntime) {
  const std::string keeper_before = sha256(paths::keeper());
  const std::string kleened_before = sha256(paths::kleened());
  ASSERT_FALSE(keeper_before.empty());
  const std::string ctl = dir.file("ctl");
  fs::create_directories(ctl);

  const std::string name = keep("kl-cve-5736");
  Attached scanner(klee_args(
      {"run", "--name", name, "-m", ctl + ":/ctl", kImage, "/kl-cve", "exescan", "/ctl"}));
  ASSERT_TRUE(scanner.wait_for_line("scanning")) << scanner.text();

  // The trick: /bin/sh replaced by a script whose interpreter is /proc/self/exe, i.e. the
  // binary of the process calling execve -- the keeper's child. The kernel runs the host's
  // kleene-keeper inside the container; it prints its usage and exits (its argv is wrong).
  // At least 15 rounds, and on until the scanner has looked more than 10 times (it counts its
  // passes in ctl/passes; a pass takes longer than an exec), at most 100.
  const auto scanner_passes = [&] {
    const std::string count = read_file(ctl + "/passes");
    return count.empty() ? 0L : std::strtol(count.c_str(), nullptr, 10);
  };
  int host_binary_ran = 0;
  for (int i = 0; i < 100 && (i < 15 || scanner_passes() <= 10); ++i) {
    for (const char* cmd : {"/kl-shebang", "/proc/self/exe"}) {
      auto r = klee({"exec", name, cmd});
      if (contains(r.out + r.err, "(started by kleened, not by hand)")) ++host_binary_ran;
    }
  }
  // And directly, in one shot each: pid 1's exe, our own exe.
  auto direct = klee({"exec", name, "/bin/sh", "-c",
                      "(: >> /proc/1/exe) 2>/dev/null && echo written || echo refused; "
                      "(: >> /proc/self/exe) 2>/dev/null && echo written || echo refused"});
  EXPECT_TRUE(contains(direct.out, "refused\nrefused\n")) << describe(direct);

  write_file(ctl + "/stop", "");
  const int code = scanner.finish();
  const std::string& out = scanner.text();
  EXPECT_EQ(code, 0) << out;

  // The attack ran: the host binary did execute in the container, the scanner looked many
  // times and tried pid 1 (the keeper binary all along). Not in sanitized builds: their keeper
  // is linked dynamically (the sanitizer runtimes), and the image has no dynamic loader for it,
  // so the trick's execve fails inside the container (ENOENT) before anything runs.
  EXPECT_GT(number_after(out, "passes"), 10) << out;
  if (has_program_interpreter(paths::keeper())) {
    std::printf(
        "[ info ] dynamic keeper (sanitized build): the host binary cannot run in the "
        "container; ran %d times\n",
        host_binary_ran);
  } else {
    EXPECT_GT(host_binary_ran, 0) << "the #!/proc/self/exe trick never ran the host binary";
    // ...and got hold of it: a frozen execution's /proc/PID/exe opened (O_PATH) on the host's
    // kleene-keeper. From here only the kernel's ETXTBSY stands between it and the host.
    EXPECT_GT(number_after(out, "caught"), 0) << out;
  }
  // Its effect is absent: pid 1 cannot even be opened (non-dumpable), no open for writing
  // succeeded, and a caught keeper binary stays busy (ETXTBSY) while any keeper runs it.
  EXPECT_EQ(number_after(out, "pid1_path_errno"), EACCES) << out;
  EXPECT_EQ(number_after(out, "writes_ok"), 0) << out;
  EXPECT_EQ(number_after(out, "late_writes_ok"), 0) << out;
  const std::regex caught(
      "caught pid [0-9]+ exe (\\S*) write errno ([0-9]+) direct errno ([0-9]+)");
  for (auto it = std::sregex_iterator(out.begin(), out.end(), caught); it != std::sregex_iterator();
       ++it) {
    EXPECT_EQ(std::stoi((*it)[2].str()), ETXTBSY) << it->str();
    // What it got hold of is kleened's sealed copy of the keeper, never the host's file.
    EXPECT_EQ((*it)[1].str(), "/memfd:kleene-keeper") << it->str();
    // By path: ETXTBSY too, or ENOENT/EACCES when the process moved on in between.
    EXPECT_NE(std::stoi((*it)[3].str()), 0) << it->str();
  }
  for (auto at = out.find("late write errno "); at != std::string::npos;
       at = out.find("late write errno ", at + 1)) {
    EXPECT_EQ(std::atoi(out.c_str() + at + 17), ETXTBSY) << out;
  }
  RecordProperty("host_binary_ran", host_binary_ran);
  RecordProperty("caught", static_cast<int>(number_after(out, "caught")));
  std::cout << "[ info ] host binary ran " << host_binary_ran << " times in the container; "
            << "the scanner caught it " << number_after(out, "caught") << " times\n";

  EXPECT_EQ(sha256(paths::keeper()), keeper_before);
  EXPECT_EQ(sha256(paths::kleened()), kleened_before);
  EXPECT_EQ(klee({"rmc", "-f", name}).exit_code, 0);
}

// CVE-2021-30465 (runc): a container swaps a directory of a shared volume with a symlink while
// another container is being started with a mount on that path, so that the mount follows the
// symlink on the host. Container A exchanges /data/x with `l1 -> /` and `l2 -> ../../../..`
// (renameat2 RENAME_EXCHANGE, a tight loop); container B, with the same directory on /data and
// a second directory mounted at /data/x, is started 30 times meanwhile.
TEST_F(CveEscape, CVE_2021_30465_SymlinkSwapDuringMountStaysInside) {
  const std::string shared = dir.file("shared");
  const std::string src = dir.file("src");
  fs::create_directories(shared);
  fs::create_directories(src);
  write_file(src + "/kl-sentinel", "kl-sentinel\n");
  const std::string mounts_before = mountinfo();

  const std::string a = keep("kl-cve-30465-a");
  Attached racer(
      klee_args({"run", "--name", a, "-m", shared + ":/data", kImage, "/kl-cve", "swap", "/data"}));
  ASSERT_TRUE(racer.wait_for_line("racing")) << racer.text();

  // B prints where, in its own view, the source directory is mounted (its mountinfo shows
  // only mounts under its root) and whether the sentinel is on /data/x right then (A may
  // already have swapped the mounted directory away).
  const std::string tail =
      (fs::path(src).parent_path().filename() / fs::path(src).filename()).string();
  const std::string b_cmd = "grep '" + tail +
                            " ' /proc/self/mountinfo | cut -d' ' -f5 | sed 's/^/at: /'; "
                            "cat /data/x/kl-sentinel 2>/dev/null || echo 'x: swapped'";
  std::map<std::string, int> where;  // B's mount point of src -> runs
  int started = 0, refused = 0;
  std::string failure;  // the first failed start, for the log
  for (int i = 0; i < 30; ++i) {
    auto r = run({"-m", shared + ":/data", "-m", src + ":/data/x"}, {"/bin/sh", "-c", b_cmd});
    if (r.exit_code == 0) {
      ++started;
      std::smatch m;
      if (std::regex_search(r.out, m, std::regex("at: (\\S*)\n"))) {
        ++where[m[1].str()];
      } else {
        ++where["<not visible>"];
        ADD_FAILURE() << "B's mount of the source is not under its root\n" << describe(r);
      }
    } else {
      // The start failed (the mount followed the symlink onto B's own root, say): with a
      // message, and with nothing on the host.
      ++refused;
      EXPECT_FALSE(r.out.empty() && r.err.empty()) << describe(r);
      // Not because the racing renames made a lookup fail (EAGAIN): openat2 is retried. Nor
      // with the source mounted over B's root (a swapped-in symlink leading back to it): that
      // mount is refused before anything runs.
      EXPECT_FALSE(contains(r.out + r.err, "Resource temporarily unavailable")) << describe(r);
      EXPECT_FALSE(contains(r.out + r.err, "No such file or directory")) << describe(r);
      if (failure.empty()) failure = describe(r);
    }
    // Nothing of B's is mounted in the host's namespace, on / or anywhere.
    EXPECT_FALSE(contains(mountinfo(), tail + " ")) << "host mount of " << src;
    EXPECT_FALSE(fs::exists("/kl-sentinel"));
  }
  write_file(shared + "/stop", "");
  EXPECT_EQ(racer.finish(), 0) << racer.text();
  EXPECT_EQ(klee({"rmc", "-f", a}).exit_code, 0);

  // The race ran all along: the loop only ends on the stop file, after the 30 starts.
  EXPECT_GT(number_after(racer.text(), "swaps"), 1000) << racer.text();
  EXPECT_EQ(started + refused, 30);
  std::cout << "[ info ] " << number_after(racer.text(), "swaps") << " swaps; B started " << started
            << " times (its mount of the source at:";
  for (const auto& [at, n] : where)
    std::cout << " " << at << " x" << n;
  std::cout << "), failed to start " << refused << " times\n";
  if (!failure.empty()) std::cout << "first failed start:\n" << failure << "\n";
  // The host is as before: same mounts, the sentinel only where it was, / unshadowed.
  EXPECT_EQ(mountinfo(), mounts_before);
  EXPECT_EQ(read_file(src + "/kl-sentinel"), "kl-sentinel\n");
  EXPECT_FALSE(fs::exists("/kl-sentinel"));
  EXPECT_TRUE(fs::exists("/etc/passwd"));
  std::set<std::string> left;
  for (const auto& e : fs::directory_iterator(src))
    left.insert(e.path().filename());
  EXPECT_EQ(left, (std::set<std::string>{"kl-sentinel"}));
}

// CVE-2024-21626 (runc): a working directory of /proc/self/fd/N, where N is a descriptor the
// runtime leaked into the process, puts the process's cwd on the host. kleene has no -w; a
// working directory comes from the image's WORKDIR, for the build's RUN and for every
// execution of the image.
TEST_F(CveEscape, CVE_2024_21626_WorkdirProcSelfFdIsRefusedOrInside) {
  const fs::path context = dir.file("context");
  fs::create_directories(context);
  // The first line of what happened, for each N, printed at the end.
  auto first_error = [](const std::string& text, const std::string& workdir) {
    const auto at = text.find("chdir " + workdir);
    if (at == std::string::npos) return std::string("ran");
    return text.substr(at, text.find('\n', at) - at);
  };
  std::string outcomes;
  for (int n = 3; n <= 10; ++n) {
    const std::string workdir = "/proc/self/fd/" + std::to_string(n);
    const std::string tag = "kl-cve-wd" + std::to_string(n);
    // The build's own RUN under that WORKDIR (the builder's execution path)...
    std::ofstream(context / "Dockerfile")
        << "FROM " << kImage << "\nWORKDIR " << workdir << "\nRUN readlink /proc/self/cwd\n";
    auto built = klee({"build", "--rm", "-t", tag + "-run", context.string()}, 120s);
    const std::string text = built.out + built.err;
    if (built.exit_code == 0) {
      // Ran: then its cwd was inside (the image's own /proc/self/fd/N directory, no fd).
      EXPECT_TRUE(contains(text, "\n" + workdir + "\n")) << describe(built);
      (void)klee({"rmi", tag + "-run"});
    } else {
      EXPECT_TRUE(contains(text, "chdir " + workdir)) << describe(built);
    }
    // ...and an image whose config says WORKDIR /proc/self/fd/N, run with klee.
    std::ofstream(context / "Dockerfile") << "FROM " << kImage << "\nWORKDIR " << workdir << "\n";
    built = klee({"build", "--rm", "-t", tag, context.string()}, 120s);
    ASSERT_EQ(built.exit_code, 0) << describe(built);
    auto r = run({}, {"/bin/sh", "-c", "readlink /proc/self/cwd; ls -a .."}, tag);
    const std::string seen = r.out + r.err;
    if (r.exit_code == 0) {
      EXPECT_FALSE(contains(seen, "kleene-it-")) << describe(r);
      EXPECT_TRUE(contains(seen, workdir)) << describe(r);
    } else {
      // The attempt reached the chdir and failed there, cleanly.
      EXPECT_TRUE(contains(seen, "chdir " + workdir)) << describe(r);
      EXPECT_TRUE(contains(seen, "No such file or directory") || contains(seen, "Not a directory"))
          << describe(r);
    }
    // Never a host directory: the host's own entries are not in what the process listed.
    for (const char* host_only : {"kleene-it-", "build-cve", "home\n"})
      EXPECT_FALSE(contains(seen, host_only)) << host_only << "\n" << describe(r);
    EXPECT_EQ(klee({"rmi", tag}).exit_code, 0);
    outcomes += "  N=" + std::to_string(n) + ": RUN: " + first_error(text, workdir) +
                "; klee run: " + first_error(seen, workdir) + " (exit " +
                std::to_string(r.exit_code) + ")\n";
  }
  std::cout << "[ info ] working directory /proc/self/fd/N:\n" << outcomes;
}

// COPY into a destination that a process of the build container keeps swapping with a symlink
// to / (and ../../../..): the write must land in the container's root. A RUN leaves the
// racer running in the background (the build container stays up between steps), the COPYs
// follow, a last RUN stops it and prints how many swaps it made. COPY ../x and a context
// symlink leading out are refused by ImageBuildTest.CopyNeverReadsOutsideTheContext and
// ContextTest.SymlinksLeadingOutOfTheContextAreRefused; a fixed symlink at the destination by
// ImageBuildTest.CopyNeverWritesOutsideTheContainerRoot.
TEST_F(CveEscape, BuildCopyIntoARacingSymlinkStaysInside) {
  const fs::path context = dir.file("context");
  fs::create_directories(context);
  const std::string payload = "kl-cve-payload-" + std::to_string(::getpid());
  write_file(context / payload, "payload\n");
  std::ostringstream dockerfile;
  dockerfile << "FROM " << kImage << "\n"
             << "RUN mkdir /race && (/kl-cve swap /race > /race.log 2>&1 < /dev/null &) && "
                "until grep -q -e racing -e cannot /race.log; do :; done && cat /race.log\n";
  for (int i = 0; i < 20; ++i)
    dockerfile << "COPY " << payload << " /race/x/" << payload << "-" << i << "\n";
  dockerfile << "RUN touch /race/stop && until grep -q -e swaps -e cannot /race.log; do :; done && "
                "cat /race.log && find / -name '" +
                    payload +
                    "-*' 2>/dev/null | "
                    "sed 's/^/found: /'\n";
  write_file(context / "Dockerfile", dockerfile.str());
  // Where the file system has no RENAME_EXCHANGE (ZFS before 2.2) the racer renames three
  // times and x is missing for an instant: a COPY that meets that fails the build cleanly
  // ("/race/x: No such file or directory", or "<step> /race/x...: ..." when x is swapped
  // between two steps of the copy: mkdir, open, create, rename...). Up to three builds, until
  // one goes through, none started after 50 s and each given 60 s, so a sanitized kleened
  // beside other tests on two cores stays within the test's limit (120 s).
  bool built_once = false;
  const auto started = std::chrono::steady_clock::now();
  for (int attempt = 0;
       attempt < 3 && !built_once && std::chrono::steady_clock::now() - started < 50s; ++attempt) {
    auto built = klee({"build", "--rm", "-t", "kl-cve-race", context.string()}, 60s);
    const std::string text = built.out + built.err;
    // The racer was running before the first COPY.
    EXPECT_TRUE(contains(text, "\nracing\n")) << describe(built);
    if (built.exit_code != 0) {
      EXPECT_TRUE(contains(text, "image build failed")) << describe(built);
      std::smatch m;
      EXPECT_TRUE(
          std::regex_search(text, m, std::regex("\n(([a-z]+ )?/race/x[^\n]*: [A-Z][^\n]*)")))
          << describe(built);
      std::cout << "[ info ] build " << attempt << " failed cleanly: " << m[1].str() << "\n";
    } else {
      built_once = true;
      // The racer swapped all through the COPYs.
      EXPECT_GT(number_after(text, "swaps"), 100) << text;
      // Every copy is somewhere in the container: in /race/x or, through the symlink, in its
      // / (find does not follow symlinks; a copy can also be in a directory the racer renamed
      // away afterwards).
      const int found = count(text, "\nfound: /");
      const int in_root = count(text, "\nfound: /" + payload + "-");
      EXPECT_EQ(found, 20) << text;
      std::cout << "[ info ] " << number_after(text, "swaps") << " swaps; of 20 COPYs " << in_root
                << " went through the symlink into the container's /, " << found - in_root
                << " into directories under /race\n";
      EXPECT_EQ(klee({"rmi", "kl-cve-race"}).exit_code, 0);
    }
    // ...and never anything on the host.
    for (const fs::path where : {"/", "/race", "/tmp", "/etc"})
      for (int i = 0; i < 20; ++i)
        EXPECT_FALSE(fs::exists(where / (payload + "-" + std::to_string(i)))) << where;
    EXPECT_FALSE(fs::exists("/race"));
  }
  RecordProperty("built", built_once ? 1 : 0);
}

// Image archives that try to write outside the image: `..` and absolute names, a file through
// an absolute or a relative symlink, hard links to the host's /etc/shadow. Each is refused as a
// whole; nothing appears on the host and /etc/shadow keeps its content and link count. The
// extractor's unit tests (ExtractTest.*, CreateTest.HostileArchivesLeaveNothing) cover the
// same members in-process; this is the path through klee and kleened.
TEST_F(CveEscape, HostileImageArchivesWriteNothingOutside) {
  const std::string tag = std::to_string(::getpid());
  const std::string shadow_before = sha256("/etc/shadow");
  struct stat shadow_st {};
  ASSERT_EQ(::stat("/etc/shadow", &shadow_st), 0);
  const std::vector<std::pair<std::string, std::string>> archives{
      {"dotdot", tar_member("ok", '0', "", "ok\n") +
                     tar_member("../../../../../../tmp/kl-cve-dotdot-" + tag, '0', "", "x\n")},
      {"absolute", tar_member("/tmp/kl-cve-abs-" + tag, '0', "", "x\n")},
      {"abslink",
       tar_member("etc", '2', "/etc") + tar_member("etc/kl-cve-pwned-" + tag, '0', "", "x\n")},
      {"rellink", tar_member("up", '2', "../../../../../../etc") +
                      tar_member("up/kl-cve-pwned-" + tag, '0', "", "x\n")},
      {"hardlink", tar_member("shadow", '1', "/etc/shadow")},
      {"relhardlink", tar_member("shadow", '1', "../../../../../../etc/shadow")},
  };
  for (const auto& [what, members] : archives) {
    const std::string path = dir.file(what + ".tar");
    write_file(path, members + std::string(1024, '\0'));
    auto r = klee({"image", "create", "-t", "kl-hostile-" + what, "fetch", "file://" + path});
    EXPECT_NE(r.exit_code, 0) << what << "\n" << describe(r);
    EXPECT_TRUE(contains(r.out + r.err, "could not extract tar archive")) << what << describe(r);
  }
  auto images = klee({"image", "ls"});
  EXPECT_FALSE(contains(images.out, "kl-hostile")) << describe(images);
  for (const std::string& path :
       {"/tmp/kl-cve-dotdot-" + tag, "/tmp/kl-cve-abs-" + tag, "/etc/kl-cve-pwned-" + tag})
    EXPECT_FALSE(fs::exists(path)) << path;
  struct stat after {};
  ASSERT_EQ(::stat("/etc/shadow", &after), 0);
  EXPECT_EQ(after.st_nlink, shadow_st.st_nlink);
  EXPECT_EQ(sha256("/etc/shadow"), shadow_before);
  // The archives (the image's and these) were parsed by kleened's extract helper, a confined
  // child: libarchive never loaded into the daemon.
  std::ifstream maps("/proc/" + std::to_string(daemon.pid()) + "/maps");
  const std::string mapped((std::istreambuf_iterator<char>(maps)), {});
  ASSERT_FALSE(mapped.empty());
  EXPECT_FALSE(contains(mapped, "libarchive")) << mapped;
}

// What an image may carry and still be created: device nodes (only the harmless character
// devices are made, others skipped) and a set-uid root binary, which keeps its bit but raises
// no privilege (no_new_privs).
TEST_F(CveEscape, ImageDevicesAreSkippedAndSetuidRaisesNoPrivilege) {
  auto r = run({}, {"/bin/sh", "-c", "ls /devs; stat -c '%a %u' /kl-suid"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "null\n4755 0\n")) << describe(r);
  for (const char* device : {"mem", "kmsg", "disk"})
    EXPECT_FALSE(contains(r.out, device)) << device << "\n" << describe(r);

  // The set-uid bit is there (the ingredient); run by nobody it gives nobody.
  r = run({"-u", "nobody"}, {"/kl-suid", "ids"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "uid 65534 65534 65534 gid 65534 65534 65534")) << describe(r);
  // The same binary outside any container does raise the uid: the test can tell.
  const std::string suid = dir.file("kl-suid");
  fs::copy_file(KLEENE_IT_CVE_PROBE, suid);
  ASSERT_EQ(::chmod(suid.c_str(), 04755), 0);
  ASSERT_EQ(::chmod(dir.path().c_str(), 0711), 0);
  auto host = run_command({find_program("setpriv"), "--reuid", "65534", "--regid", "65534",
                           "--clear-groups", "--", suid, "ids"},
                          test_environment());
  ::chmod(dir.path().c_str(), 0700);
  if (host.exit_code == 0 && !contains(host.out, "uid 65534 0 0")) {
    // A nosuid /tmp: the host cannot show the difference, the container result still stands.
    std::cout << "[ info ] set-uid not honoured on the host either: " << host.out;
  }
}

// mknod from inside (no CAP_MKNOD), and /dev holding only what the runtime puts there.
TEST_F(CveEscape, MknodFailsAndDevIsMinimal) {
  auto r = run({}, {"/bin/sh", "-c",
                    "/kl-cve mknod /tmp/kl-c c 1 1; /kl-cve mknod /tmp/kl-b b 8 0; "
                    "/kl-cve mknod /dev/shm/kl-k c 1 11; ls -A /dev"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(count(r.out, "errno 1\n"), 3) << describe(r);
  EXPECT_TRUE(contains(r.out,
                       "fd\nfull\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\n"
                       "urandom\nzero\n"))
      << describe(r);
  // Busybox's own mknod, as a user would try it.
  r = run({}, {"mknod", "/tmp/kl-mem", "c", "1", "1"});
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out + r.err, "Operation not permitted")) << describe(r);
}

// Raw IPv4 and AF_PACKET sockets need allow.raw_sockets (CAP_NET_RAW); with it both open.
TEST_F(CveEscape, RawSocketsNeedAllowRawSockets) {
  auto r = run({}, {"/bin/sh", "-c", "/kl-cve socket raw; /kl-cve socket packet"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_FALSE(contains(r.out, "ok\n")) << describe(r);
  EXPECT_EQ(count(r.out, "errno "), 2) << describe(r);
  r = run({"-J", "allow.raw_sockets"},
          {"/bin/sh", "-c", "/kl-cve socket raw; /kl-cve socket packet"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(count(r.out, "ok\n"), 2) << describe(r);
}

// A 64-bit process entering the kernel through the 32-bit gate (int $0x80) or with the x32 bit
// set bypasses a filter written for x86_64 numbers unless the filter checks the architecture.
// The container's filter kills the process (SIGSYS, 159); on the host the same probe works.
TEST_F(CveEscape, ThirtyTwoBitAndX32SyscallsAreRefused) {
  auto host = run_command({KLEENE_IT_CVE_PROBE, "int80"}, test_environment());
  ASSERT_EQ(host.exit_code, 0) << describe(host);
  ASSERT_GT(number_after(host.out, "returned"), 0)
      << "no IA32 emulation on this host: " << describe(host);
  auto r = run({}, {"/bin/sh", "-c", "/kl-cve int80; echo rc=$?; /kl-cve x32; echo rc=$?"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_FALSE(std::regex_search(r.out, std::regex("returned [1-9]"))) << describe(r);
  // int $0x80: killed ("Bad system call" from the shell); x32: killed too, or at most ENOSYS.
  EXPECT_TRUE(std::regex_search(
      r.out, std::regex("rc=159\n(Bad system call\n)?(rc=159|returned -1\nrc=0)\n")))
      << describe(r);
}

// /proc and /sys files that are classic escape routes: core_pattern and uevent_helper run a
// host program as root, sysrq-trigger and kernel.sysrq act on the host kernel, timer_list and
// keys leak it. Each write fails and the host's value is unchanged; masked files read empty.
// (ContainerEscapeTest.NoWayToTheHostsMountsOrKernel has domainname, /proc/keys and
// /sys/firmware.)
TEST_F(CveEscape, ProcAndSysEscapeFilesAreMaskedOrReadOnly) {
  const std::string core_pattern = read_file("/proc/sys/kernel/core_pattern");
  const std::string uevent_helper = read_file("/sys/kernel/uevent_helper");
  const std::string sysrq = read_file("/proc/sys/kernel/sysrq");
  // `(: > F) && echo written || echo refused`: one line per attempt, whatever the shell's
  // exit status for a failed redirection.
  auto attempt = [](const std::string& text, const std::string& file) {
    return "(echo '" + text + "' > " + file + ") 2>/dev/null && echo written || echo refused; ";
  };
  auto r = run({}, {"/bin/sh", "-c",
                    attempt("|/kl-cve ids", "/proc/sys/kernel/core_pattern") +
                        attempt("/kl-cve", "/sys/kernel/uevent_helper") +
                        attempt("h", "/proc/sysrq-trigger") + attempt("x", "/sys/kl-x") +
                        attempt("1", "/proc/sys/kernel/sysrq") +
                        "wc -c < /proc/timer_list; wc -c < /proc/keys; ls /sys/firmware | wc -l"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(count(r.out, "refused\n"), 5) << describe(r);
  EXPECT_FALSE(contains(r.out, "written")) << describe(r);
  EXPECT_TRUE(contains(r.out, "\n0\n0\n0\n")) << describe(r);
  EXPECT_EQ(read_file("/proc/sys/kernel/core_pattern"), core_pattern);
  EXPECT_EQ(read_file("/sys/kernel/uevent_helper"), uevent_helper);
  EXPECT_EQ(read_file("/proc/sys/kernel/sysrq"), sysrq);
}

// The API socket is the host's root: mode 0600, owned by root, and a user who can reach the
// path (the directory is opened to others for the test) still cannot connect. TLS without a
// client certificate or with one of another CA: TlsTest.MutualTlsRefusesClientWithoutCert,
// .MutualTlsRefusesClientCertFromAnotherCa (test_transport.cpp) and tests/unit/api/tls_test.cpp.
TEST_F(CveEscape, ApiSocketRefusesNonRootUsers) {
  struct stat st {};
  ASSERT_EQ(::stat(daemon.socket_path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, 0u);
  const std::string setpriv = find_program("setpriv");
  ASSERT_FALSE(setpriv.empty());
  ASSERT_EQ(::chmod(dir.path().c_str(), 0711), 0);
  const std::vector<std::string> as_nobody{setpriv, "--reuid",        "65534", "--regid",
                                           "65534", "--clear-groups", "--"};
  auto args = as_nobody;
  args.insert(args.end(),
              {"/bin/sh", "-c", "test -S \"$0\" && echo reachable", daemon.socket_path()});
  auto reach = run_command(args, test_environment());
  args = as_nobody;
  args.insert(args.end(),
              {paths::klee(), "--host", unix_host(), "--theme", "simple", "container", "ls"});
  auto nobody = run_command(args, test_environment({{"HOME", "/nonexistent"}}));
  ::chmod(dir.path().c_str(), 0700);
  EXPECT_TRUE(contains(reach.out, "reachable")) << describe(reach);
  EXPECT_TRUE(refused_connection(nobody));
  EXPECT_TRUE(contains(nobody.err, "ermission denied")) << describe(nobody);
  // Root connects over the same path.
  EXPECT_EQ(klee({"container", "ls"}).exit_code, 0);
}

// The container's init (pid 1, a fork of the keeper that stays root) keeps only CAP_KILL once
// set up: it reaps, talks to the keeper and signals its pid namespace. SIGTERM still reaches a
// process of another user on `klee stop` (that is what CAP_KILL is kept for).
TEST_F(CveEscape, TheInitKeepsOnlyCapKill) {
  const std::string ctl = dir.file("ctl");
  fs::create_directories(ctl);
  ASSERT_EQ(::chmod(ctl.c_str(), 0777), 0);
  ASSERT_EQ(::mkfifo((ctl + "/fifo").c_str(), 0666), 0);
  ASSERT_EQ(::chmod((ctl + "/fifo").c_str(), 0666), 0);
  const std::string name = keep("kl-cve-init");
  // Blocks opening a FIFO nobody writes to, until a signal comes.
  Attached c(klee_args({"run", "--name", name, "-u", "nobody", "-m", ctl + ":/ctl", kImage,
                        "/bin/sh", "-c",
                        "trap 'echo got-term; exit 0' TERM; echo up; "
                        "while :; do read x < /ctl/fifo; done"}));
  ASSERT_TRUE(c.wait_for_line("up")) << c.text();

  pid_t init = -1;
  auto list = http_unix(daemon.socket_path(), "GET", "/containers/list?all=true");
  for (const auto& entry : json::parse(list.body, nullptr, false))
    if (entry.value("name", "") == name && entry["jid"].is_number_integer())
      init = entry["jid"].get<pid_t>();
  ASSERT_GT(init, 0) << list.body;
  EXPECT_EQ(read_file("/proc/" + std::to_string(init) + "/comm"), "kleene-init\n");
  const std::string status = read_file("/proc/" + std::to_string(init) + "/status");
  for (const char* line :
       {"CapInh:\t0000000000000000", "CapPrm:\t0000000000000020", "CapEff:\t0000000000000020",
        "CapBnd:\t0000000000000020", "CapAmb:\t0000000000000000"})
    EXPECT_TRUE(contains(status, line)) << line << "\n" << status;

  // stop: SIGTERM from the init to a process of nobody's.
  auto stopped = klee({"stop", name});
  EXPECT_EQ(stopped.exit_code, 0) << describe(stopped);
  EXPECT_EQ(c.finish(), 0) << c.text();
  EXPECT_TRUE(contains(c.text(), "got-term")) << c.text();
  EXPECT_EQ(klee({"rmc", "-f", name}).exit_code, 0);
}

}  // namespace
}  // namespace kleene::it

#include "netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <system_error>
#include <thread>

namespace kleene::it {

namespace {

std::string errno_text(int error) {
  return std::strerror(error);
}

}  // namespace

std::expected<std::unique_ptr<TestNetns>, std::string> TestNetns::create() {
  static std::atomic<int> counter{0};
  const std::string name =
      "kl-it-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1));
  const std::string path = std::string(kRunDir) + "/" + name;

  if (::mkdir(kRunDir, 0755) != 0 && errno != EEXIST) {
    return std::unexpected("mkdir " + std::string(kRunDir) + ": " + errno_text(errno));
  }
  {
    UniqueFd file(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
    if (!file) return std::unexpected("create " + path + ": " + errno_text(errno));
  }
  // A thread makes the namespace (unshare changes only the calling thread's) and binds it to
  // the name, which keeps it alive after the thread ends.
  int error = 0;
  std::string step;
  std::thread maker([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      error = errno;
      step = "unshare(CLONE_NEWNET)";
    } else if (::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      error = errno;
      step = "bind mount on " + path;
    }
  });
  maker.join();
  if (error != 0) {
    ::unlink(path.c_str());
    return std::unexpected(step + ": " + errno_text(error));
  }
  UniqueFd fd = open_netns(path);
  if (!fd) {
    int open_error = errno;
    ::umount2(path.c_str(), MNT_DETACH);
    ::unlink(path.c_str());
    return std::unexpected("open " + path + ": " + errno_text(open_error));
  }
  std::unique_ptr<TestNetns> netns(new TestNetns(name, std::move(fd)));
  auto lo = netns->ip({"link", "set", "lo", "up"});
  if (!lo) return std::unexpected(std::string(lo.message()));
  return netns;
}

TestNetns::~TestNetns() {
  auto removed = remove();
  if (!removed) ADD_FAILURE() << removed.message();
}

testing::AssertionResult TestNetns::remove() {
  if (removed_) return testing::AssertionSuccess();
  removed_ = true;
  fd_.reset();
  const std::string p = path();
  if (::umount2(p.c_str(), MNT_DETACH) != 0) {
    return testing::AssertionFailure() << "umount " << p << ": " << errno_text(errno);
  }
  if (::unlink(p.c_str()) != 0) {
    return testing::AssertionFailure() << "unlink " << p << ": " << errno_text(errno);
  }
  return testing::AssertionSuccess();
}

ProcessResult TestNetns::run(std::vector<std::string> argv,
                             std::chrono::milliseconds timeout) const {
  if (!argv.empty() && !argv[0].starts_with("/")) {
    std::string found = find_program(argv[0]);
    if (found.empty()) {
      ProcessResult missing;
      missing.err = argv[0] + " not found in PATH";
      return missing;
    }
    argv[0] = found;
  }
  return run_command(argv, test_environment(), timeout, fd_.get());
}

testing::AssertionResult TestNetns::ip(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessResult r = run(argv);
  if (r.exit_code == 0) return testing::AssertionSuccess();
  std::string command;
  for (const auto& a : argv)
    command += " " + a;
  return testing::AssertionFailure()
         << "in netns " << name_ << ":" << command << ": exit code " << r.exit_code << "\n"
         << r.out << r.err;
}

std::vector<std::string> TestNetns::ip_lines(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessResult r = run(argv);
  std::vector<std::string> lines;
  if (r.exit_code != 0) return lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

UniqueFd TestNetns::socket(int domain, int type) const {
  return socket_in_netns(fd_.get(), domain, type);
}

UniqueFd open_netns(const std::string& path) {
  return UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
}

UniqueFd socket_in_netns(int netns_fd, int domain, int type) {
  int result = -1;
  int error = 0;
  std::thread maker([&] {
    if (::setns(netns_fd, CLONE_NEWNET) != 0) {
      error = errno;
      return;
    }
    result = ::socket(domain, type | SOCK_CLOEXEC, 0);
    if (result < 0) error = errno;
  });
  maker.join();
  if (result < 0) throw std::system_error(error, std::generic_category(), "socket in netns");
  return UniqueFd(result);
}

testing::AssertionResult connect_veth(const TestNetns& a, const std::string& a_if,
                                      const std::string& a_cidr, const TestNetns& b,
                                      const std::string& b_if, const std::string& b_cidr) {
  if (!a_if.starts_with("kl") || !b_if.starts_with("kl")) {
    return testing::AssertionFailure() << "veth names must start with kl: " << a_if << ", " << b_if;
  }
  for (const auto& step : {
           std::pair{&a, std::vector<std::string>{"link", "add", a_if, "type", "veth", "peer",
                                                  "name", b_if, "netns", b.path()}},
           std::pair{&a, std::vector<std::string>{"addr", "add", a_cidr, "dev", a_if}},
           std::pair{&b, std::vector<std::string>{"addr", "add", b_cidr, "dev", b_if}},
           std::pair{&a, std::vector<std::string>{"link", "set", a_if, "up"}},
           std::pair{&b, std::vector<std::string>{"link", "set", b_if, "up"}},
       }) {
    auto done = step.first->ip(step.second);
    if (!done) return done;
  }
  return testing::AssertionSuccess();
}

}  // namespace kleene::it

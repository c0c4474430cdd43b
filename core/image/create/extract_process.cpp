// Unpacking in a child process: kleened's side (extract_in_child) and the child's
// (run_extract_helper). See extract.hpp.
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "image/create/extract.hpp"
#include "image/create/file_source.hpp"
#include "runtime/sandbox.hpp"
#include "util/libarchive.hpp"
#include "util/spawn.hpp"
#include "util/unique_fd.hpp"

extern char** environ;

namespace kleene::image {
namespace {

constexpr int kRootFd = 3;  // the extraction root in the child
constexpr const char* kCommand = "extract-archive";
// A message line longer than this is not one the helper writes (a warning names one member).
constexpr std::size_t kMaxMessage = 256 * 1024;

std::string& helper_program() {
  static std::string program;
  return program;
}

// What extraction needs: owners, modes (set-id bits of others' files), times, directories
// that are not writable yet, and the harmless device nodes.
constexpr std::uint64_t kHelperCapabilities =
    (std::uint64_t{1} << CAP_CHOWN) | (std::uint64_t{1} << CAP_DAC_OVERRIDE) |
    (std::uint64_t{1} << CAP_FOWNER) | (std::uint64_t{1} << CAP_FSETID) |
    (std::uint64_t{1} << CAP_MKNOD);

std::string to_line(const nlohmann::json& message) {
  // Member names may hold any byte: invalid UTF-8 is replaced rather than thrown on.
  return message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

nlohmann::json limits_to_json(const ExtractLimits& limits) {
  return {{"max_total_size", limits.max_total_size},
          {"max_ratio", limits.max_ratio},
          {"ratio_grace", limits.ratio_grace},
          {"max_entries", limits.max_entries},
          {"allow_safe_devices", limits.allow_safe_devices},
          {"progress_interval_ms", static_cast<uint64_t>(limits.progress_interval.count())}};
}

Result<ExtractLimits> limits_from_json(std::string_view text) {
  const auto json = nlohmann::json::parse(text, nullptr, false);
  ExtractLimits limits;
  const auto number = [&json](const char* key, uint64_t& out) {
    const auto it = json.find(key);
    if (it == json.end() || !it->is_number_unsigned()) return false;
    out = it->get<uint64_t>();
    return true;
  };
  uint64_t interval = 0;
  const auto devices = json.is_object() ? json.find("allow_safe_devices") : json.end();
  if (!json.is_object() || !number("max_total_size", limits.max_total_size) ||
      !number("max_ratio", limits.max_ratio) || !number("ratio_grace", limits.ratio_grace) ||
      !number("max_entries", limits.max_entries) || devices == json.end() ||
      !devices->is_boolean() || !number("progress_interval_ms", interval))
    return make_error(EINVAL, "extract-archive: invalid limits");
  limits.allow_safe_devices = devices->get<bool>();
  limits.progress_interval = std::chrono::milliseconds(interval);
  return limits;
}

// --- the parent ---------------------------------------------------------------------------

Result<pid_t> spawn_helper(const std::string& program, const ExtractLimits& limits, int data,
                           int messages, int root) {
  const std::string limits_text = limits_to_json(limits).dump();
  const std::string parent = std::to_string(::getpid());
  std::array<char*, 5> argv{const_cast<char*>(program.c_str()), const_cast<char*>(kCommand),
                            const_cast<char*>(limits_text.c_str()),
                            const_cast<char*>(parent.c_str()), nullptr};
  util::SpawnSetup setup;
  int rc = ::posix_spawn_file_actions_adddup2(&setup.actions, data, 0);
  if (rc == 0) rc = ::posix_spawn_file_actions_adddup2(&setup.actions, messages, 1);
  if (rc == 0) rc = ::posix_spawn_file_actions_addopen(&setup.actions, 2, "/dev/null", O_WRONLY, 0);
  if (rc == 0) rc = ::posix_spawn_file_actions_adddup2(&setup.actions, root, kRootFd);
  if (rc == 0) rc = ::posix_spawn_file_actions_addclosefrom_np(&setup.actions, kRootFd + 1);
  if (rc != 0) return make_error(rc, std::string("posix_spawn setup: ") + std::strerror(rc));
  pid_t pid = -1;
  // kleened's own environment (the sanitizers' options in test builds); nothing else reaches it.
  rc = ::posix_spawn(&pid, program.c_str(), &setup.actions, &setup.attr, argv.data(), environ);
  if (rc != 0) return make_error(rc, "archive extractor " + program + ": " + std::strerror(rc));
  return pid;
}

// The parent's state: the stream it feeds and the messages it reads.
class Feeder {
 public:
  Feeder(ByteSource& source, const ExtractCallbacks& callbacks, UniqueFd data, UniqueFd messages)
      : source_(source),
        callbacks_(callbacks),
        data_(std::move(data)),
        messages_(std::move(messages)) {}

  // Until the child closed its messages (it exited): the result it sent, if any.
  Result<std::optional<Result<ExtractStats>>> run() {
    while (messages_) {
      if (data_ && offset_ == pending_.size()) TRY(next_chunk());
      pollfd fds[2] = {{messages_.get(), POLLIN, 0}, {data_ ? data_.get() : -1, POLLOUT, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return errno_error("poll");
      }
      if (fds[0].revents != 0) TRY(read_messages());
      if (data_ && fds[1].revents != 0) TRY(write_data());
    }
    return std::move(outcome_);
  }

 private:
  Result<void> next_chunk() {
    const auto chunk = TRY(source_.read());
    if (chunk.empty()) {
      data_.reset();  // end of stream for the child
      return {};
    }
    pending_.assign(chunk);
    offset_ = 0;
    return {};
  }

  Result<void> write_data() {
    const ssize_t n = ::send(data_.get(), pending_.data() + offset_, pending_.size() - offset_,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      offset_ += static_cast<std::size_t>(n);
    } else if (errno == EPIPE || errno == ECONNRESET) {
      data_.reset();  // the child stopped reading: at the archive's end, or it failed
    } else if (errno != EAGAIN && errno != EINTR) {
      return errno_error("write to the archive extractor");
    }
    return {};
  }

  Result<void> read_messages() {
    char buffer[16384];
    const ssize_t n = ::read(messages_.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) return {};
      return errno_error("read from the archive extractor");
    }
    if (n == 0) {
      messages_.reset();
      return {};
    }
    inbox_.append(buffer, static_cast<std::size_t>(n));
    std::size_t end;
    while ((end = inbox_.find('\n')) != std::string::npos) {
      const std::string line = inbox_.substr(0, end);
      inbox_.erase(0, end + 1);
      TRY(handle(line));
    }
    if (inbox_.size() > kMaxMessage)
      return make_error(EIO, "the archive extractor sent a message too long");
    return {};
  }

  Result<void> handle(const std::string& line) {
    const auto message = nlohmann::json::parse(line, nullptr, false);
    const auto field = [&message](const char* key) {
      const auto it = message.is_object() ? message.find(key) : message.end();
      return it == message.end() ? nullptr : &*it;
    };
    if (const auto* files = field("files"); files && files->is_number_unsigned()) {
      if (callbacks_.progress && !callbacks_.progress(Progress{source_.consumed(), source_.size(),
                                                               files->get<uint64_t>()}))
        return make_error(ECANCELED, "cancelled");
    } else if (const auto* warning = field("warning"); warning && warning->is_string()) {
      if (callbacks_.warning) callbacks_.warning(warning->get<std::string>());
    } else if (const auto* error = field("error"); error && error->is_number_integer()) {
      const auto* text = field("message");
      outcome_ = make_error(error->get<int>(), text && text->is_string()
                                                   ? text->get<std::string>()
                                                   : std::string("archive extraction failed"));
      data_.reset();
    } else if (const auto* entries = field("entries"); entries && entries->is_number_unsigned()) {
      ExtractStats stats;
      stats.entries = entries->get<uint64_t>();
      const auto* bytes = field("bytes");
      const auto* skipped = field("skipped");
      stats.bytes = bytes && bytes->is_number_unsigned() ? bytes->get<uint64_t>() : 0;
      stats.skipped = skipped && skipped->is_number_unsigned() ? skipped->get<uint64_t>() : 0;
      outcome_ = stats;
      data_.reset();
    } else {
      return make_error(EIO, "the archive extractor sent an unknown message");
    }
    return {};
  }

  ByteSource& source_;
  const ExtractCallbacks& callbacks_;
  UniqueFd data_;
  UniqueFd messages_;
  std::string pending_;
  std::size_t offset_ = 0;
  std::string inbox_;
  std::optional<Result<ExtractStats>> outcome_;
};

// --- the child ------------------------------------------------------------------------------

void write_line(const nlohmann::json& message) {
  const std::string line = to_line(message);
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(1);  // the parent is gone: nobody is left to tell
    done += static_cast<std::size_t>(n);
  }
}

int report_failure(const Error& error) {
  write_line({{"error", error.code}, {"message", error.message}});
  return 1;
}

// The stream on fd 0.
class StdinSource final : public ByteSource {
 public:
  Result<std::string_view> read() override {
    for (;;) {
      const ssize_t n = ::read(STDIN_FILENO, buffer_.data(), buffer_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("read the archive stream");
      consumed_ += static_cast<uint64_t>(n);
      return std::string_view(buffer_.data(), static_cast<std::size_t>(n));
    }
  }
  uint64_t consumed() const override { return consumed_; }
  std::optional<uint64_t> size() const override { return std::nullopt; }

 private:
  std::array<char, 65536> buffer_{};
  uint64_t consumed_ = 0;
};

// Sanitizers read /proc and write their logs by path when the process ends: in a sanitized
// build the helper stays in the host's root (the fd-relative resolution still holds).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kChroot = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(undefined_behavior_sanitizer)
constexpr bool kChroot = false;
#else
constexpr bool kChroot = true;
#endif
#else
constexpr bool kChroot = true;
#endif

// In the child, before the first byte of the archive is parsed: libarchive loaded (it cannot be
// after the chroot), root the extraction root, only extraction's capabilities, no_new_privs,
// the extractor's seccomp filter.
Result<void> confine() {
  struct stat st {};
  if (::fstat(kRootFd, &st) != 0 || !S_ISDIR(st.st_mode))
    return make_error(EBADF, "extract-archive: fd 3 is not a directory");
  if (const auto& loaded = util::libarchive(); !loaded) return std::unexpected(loaded.error());
  if (kChroot && (::fchdir(kRootFd) != 0 || ::chroot(".") != 0))
    return errno_error("extract-archive: chroot into the extraction root");
  TRY(runtime::sandbox::keep_only_capabilities(kHelperCapabilities));
  // Not in sanitized builds either: LeakSanitizer stops the process's threads with ptrace at
  // exit, which the filter denies.
  if (kChroot) TRY(runtime::sandbox::install_extract_seccomp());
  return {};
}

}  // namespace

bool extract_helper_chroots() {
  return kChroot;
}

void set_extract_helper(std::string program) {
  helper_program() = std::move(program);
}

Result<ExtractStats> extract_archive(ByteSource& source, int root, const ExtractLimits& limits,
                                     const ExtractCallbacks& callbacks) {
  if (helper_program().empty()) return extract_here(source, root, limits, callbacks);
  return extract_in_child(source, root, limits, callbacks, helper_program());
}

Result<ExtractStats> unpack_added_archive(int archive_fd, int root) {
  auto source = TRY(open_file("/proc/self/fd/" + std::to_string(archive_fd)));
  ExtractLimits limits;
  limits.allow_safe_devices = false;
  return extract_archive(*source, root, limits);
}

Result<ExtractStats> extract_in_child(ByteSource& source, int root, const ExtractLimits& limits,
                                      const ExtractCallbacks& callbacks,
                                      const std::string& program) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    return errno_error("socketpair");
  UniqueFd data(pair[0]), child_data(pair[1]);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return errno_error("pipe2");
  UniqueFd messages(pipe_fds[0]), child_messages(pipe_fds[1]);
  const int root_copy = ::fcntl(root, F_DUPFD_CLOEXEC, kRootFd + 1);
  if (root_copy < 0) return errno_error("fcntl(F_DUPFD_CLOEXEC)");
  UniqueFd child_root(root_copy);
  child_data = TRY(util::fd_above(std::move(child_data), kRootFd));
  child_messages = TRY(util::fd_above(std::move(child_messages), kRootFd));

  util::SpawnedChild helper(
      TRY(spawn_helper(program, limits, child_data.get(), child_messages.get(), child_root.get())));
  child_data.reset();
  child_messages.reset();
  child_root.reset();

  Feeder feeder(source, callbacks, std::move(data), std::move(messages));
  auto outcome = TRY(feeder.run());
  const int status = TRY(helper.wait_status());
  if (outcome) return std::move(*outcome);
  if (WIFSIGNALED(status))
    return make_error(EIO, std::string("the archive extractor was killed by signal ") +
                               std::to_string(WTERMSIG(status)) + " (" +
                               ::strsignal(WTERMSIG(status)) + ")");
  return make_error(EIO, "the archive extractor exited with status " +
                             std::to_string(util::exit_code_of(status)) + " and no result");
}

int run_extract_helper(int argc, char** argv) {
  if (argc != 4 || std::string_view(argv[1]) != kCommand)
    return report_failure(Error{EINVAL, "usage: kleened extract-archive LIMITS PARENT_PID"});
  // Ends with kleened (the thread that spawned it waits for it throughout), so a killed kleened
  // leaves no helper writing into a dataset that its restart removes as half made.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || std::to_string(::getppid()) != argv[3])
    return report_failure(Error{ECHILD, "extract-archive: kleened is gone"});
  const auto limits = limits_from_json(argv[2]);
  if (!limits) return report_failure(limits.error());
  if (auto confined = confine(); !confined) return report_failure(confined.error());

  ExtractCallbacks callbacks;
  callbacks.progress = [](const Progress& progress) {
    write_line({{"files", progress.files}});
    return true;  // the parent stops us by killing us
  };
  callbacks.warning = [](const std::string& warning) { write_line({{"warning", warning}}); };
  StdinSource source;
  const auto stats = extract_here(source, kRootFd, *limits, callbacks);
  if (!stats) return report_failure(stats.error());
  write_line({{"entries", stats->entries}, {"bytes", stats->bytes}, {"skipped", stats->skipped}});
  return 0;
}

}  // namespace kleene::image

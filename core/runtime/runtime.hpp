// The container runtime: kleened's side of the keepers. One keeper process per running
// container (detached from kleened: its own session, reparented away) owns the container's
// init and the stdio or pty of every execution in it, and records exit codes. kleened talks to
// a keeper over the unix socket <run_dir>/containers/<id>/keeper.sock, so a restarted kleened
// finds running containers again (adopt()) without touching them.
//
// Jail semantics: a container lives while any process runs in it; with params.persist it lives
// with none. The init (our code, pid 1 of the container's pid namespace) reaps orphans and ends
// the container when nothing else is left; the keeper then cleans up (mounts, cgroup, run dir)
// and exits.
//
// Thread-safety: Runtime is thread-safe. An Execution is used by two threads at most: one
// calling next(), one calling write_stdin()/close_stdin()/resize(). Destroying an Execution
// detaches from the process, which keeps running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/spec.hpp"
#include "util/error.hpp"

namespace kleene::runtime {

struct RuntimeOptions {
  std::filesystem::path keeper_path;  // the kleene-keeper executable
  std::filesystem::path run_dir;      // kleened's run_dir; keepers live in run_dir/containers
  std::filesystem::path cgroup_root = "/sys/fs/cgroup";  // pids controller: <root>/pids/kleene/<id>
};

// A running container as its keeper reports it.
struct ContainerState {
  std::string id;
  pid_t init_pid = 0;  // host PID of the container's init: Kleene's JID
  pid_t keeper_pid = 0;
};

// What an attached execution produces, in order: output chunks, then one exit.
struct ExecEvent {
  enum class Kind { output, exit } kind = Kind::output;
  std::string data;              // output bytes (stdout and stderr interleaved; pty output)
  int exit_code = 0;             // exit: the code, or 128+signal
  bool container_ended = false;  // exit: the container ended with it (no process left)
};

class Execution {
 public:
  virtual ~Execution() = default;
  // Blocks for the next event; after the exit event, returns ENODATA. Errors: EPIPE when the
  // keeper went away.
  virtual Result<ExecEvent> next() = 0;
  virtual Result<void> write_stdin(std::string_view bytes) = 0;
  virtual Result<void> close_stdin() = 0;
  virtual Result<void> resize(unsigned short rows, unsigned short cols) = 0;  // tty only
  // The container's init when the execution started, as the keeper's answer to the exec named
  // it (0: a keeper from before that answer; ask state()).
  [[nodiscard]] virtual pid_t init_pid() const { return 0; }
};

// A hook run after the container's namespaces exist and before anything runs in them (the
// network driver attaches /proc/<init_pid>/ns/net here). An error aborts the start and the
// runtime removes what it made.
using BeforeRun = std::function<Result<void>(const ContainerState&)>;

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Start a keeper and the container's init (namespaces, pivot_root, /proc, /dev, mounts,
  // hostname, pids cgroup). Returns once the container is ready for executions.
  // EEXIST when it already runs.
  Result<ContainerState> start(const ContainerSpec& spec, const BeforeRun& before_run = {});

  // Run a process in a running container (setns into its namespaces, the sandbox applied).
  // attach=true: the returned Execution streams output and the exit; attach=false: it runs
  // detached (output discarded) and nullptr is returned. ENOENT when the container does not run.
  Result<std::unique_ptr<Execution>> exec(const std::string& container_id,
                                          const ProcessSpec& process, bool attach);

  // Signal one execution's process (SIGTERM, or SIGKILL when force). ENOENT if it is not running.
  Result<void> stop_exec(const std::string& container_id, const std::string& exec_id, bool force);

  // Stop the container: SIGTERM to every process in it, SIGKILL after `timeout`, then wait
  // until the keeper has removed mounts, cgroup and run dir. ENOENT when it does not run.
  Result<void> stop(const std::string& container_id, std::chrono::milliseconds timeout);

  // nullopt when not running. Cheap (one round trip to the keeper, or a cached answer).
  std::optional<ContainerState> state(const std::string& container_id);

  // Every running container (kleened calls this at start to re-adopt them). Removes run dirs of
  // keepers that are gone.
  std::vector<ContainerState> adopt();

  // Apply what can change live (exec.jail_user, exec.start/stop, exec.*start/poststop lists
  // kept by kleened) to a running container; ENOENT when it does not run.
  Result<void> update(const std::string& container_id, const JailParams& params);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kleene::runtime

// The keeper's state for its one container: set-up (setup.cpp) and the event loop (loop.cpp).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "keeper.hpp"
#include "runtime/protocol.hpp"

namespace kleene::keeper {

namespace protocol = runtime::protocol;

struct Execution {
  std::string id;
  pid_t pid = 0;
  Stdio stdio;
  UniqueFd client;           // kleened's connection (attached and still connected)
  std::string client_in;     // bytes from the client not yet parsed into frames
  std::string stdin_buf;     // stdin bytes not yet written to the process
  bool close_stdin = false;  // close stdin once stdin_buf is written
  bool output_eof = false;
  std::string out_buf;       // frames not yet sent to the client
  bool running = true;       // not reaped yet
  bool exit_queued = false;  // the exit frame is in out_buf (or there was no client)

  [[nodiscard]] int output_fd() const {
    return stdio.tty ? stdio.master.get() : stdio.out_read.get();
  }
  [[nodiscard]] int input_fd() const {
    return stdio.tty ? stdio.master.get() : stdio.in_write.get();
  }
};

class Keeper {
 public:
  // Read the start-up frame from `startup_fd`, make the cgroup, clone the init, wait until it
  // is ready, join its pid namespace for later forks, listen on keeper.sock.
  Result<void> start(int startup_fd);
  // Serve until the container has ended and every execution's exit is delivered.
  void run();
  // Remove the cgroup and the run dir (socket, log, dir).
  void cleanup();
  [[nodiscard]] std::string state_frame() const;

 private:
  Result<void> make_cgroup();
  Result<void> clone_init();
  Result<void> open_namespaces();
  Result<void> listen_socket();

  void on_signal();
  void on_accept();
  void on_request(UniqueFd conn);
  void on_exec_request(UniqueFd conn, protocol::Reader& r);
  void on_exec_exit(Execution& e, int code);
  void on_output(Execution& e);
  void on_client_input(Execution& e);
  void write_stdin(Execution& e);
  void flush_client(Execution& e);
  void drop_client(Execution& e);
  void begin_stop(std::chrono::milliseconds timeout);
  bool init_ending();  // ask the init whether the container ends now
  void send_init(char message, char arg = 0, bool with_arg = false);

  protocol::StartRequest request_;
  UniqueFd dir_fd_, listen_fd_, signal_fd_, timer_fd_, control_;
  std::string cgroup_dir_;
  pid_t init_pid_ = 0;
  ContainerHandles handles_;
  std::vector<std::unique_ptr<Execution>> executions_;
  std::vector<UniqueFd> stop_waiters_;  // kStop connections: closed when the keeper exits
  bool stopping_ = false;
  bool init_gone_ = false;
};

}  // namespace kleene::keeper

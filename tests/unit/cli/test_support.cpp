#include "test_support.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace klee::test {

TempDir::TempDir() {
  std::string tmpl = "/tmp/kl-cli-test-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void TempDir::write(const std::string& name, const std::string& text) const {
  std::ofstream(file(name)) << text;
}

ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::vector<std::string>& env) {
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env)
    envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ::dup2(devnull, STDIN_FILENO);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ProcessResult result;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      auto n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

namespace {

void sh(const std::string& script) {
  const std::string cmd = "/bin/sh -ec '" + script + "' >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + script);
}

// A key and a certificate for `cn` signed by `ca` (or self-signed when ca is empty).
void issue(const std::string& dir, const std::string& name, const std::string& cn,
           const std::string& ca, const std::string& san) {
  const std::string key = dir + "/" + name + ".key";
  const std::string pem = dir + "/" + name + ".pem";
  const std::string ext = dir + "/" + name + ".ext";
  std::ofstream(ext) << (san.empty() ? "basicConstraints=CA:TRUE\n"
                                     : "subjectAltName=" + san + "\n");
  sh("openssl ecparam -name prime256v1 -genkey -noout -out " + key);
  if (ca.empty()) {
    sh("openssl req -x509 -new -key " + key + " -out " + pem + " -days 2 -subj /CN=" + cn +
       " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign");
    return;
  }
  const std::string csr = dir + "/" + name + ".csr";
  sh("openssl req -new -key " + key + " -out " + csr + " -subj /CN=" + cn);
  sh("openssl x509 -req -in " + csr + " -CA " + dir + "/" + ca + ".pem -CAkey " + dir + "/" + ca +
     ".key -CAcreateserial -out " + pem + " -days 2 -extfile " + ext);
}

}  // namespace

Certs make_certs(const TempDir& dir) {
  const auto& d = dir.path();
  issue(d, "ca", "kleene-test-ca", "", "");
  issue(d, "server", "localhost", "ca", "IP:127.0.0.1,IP:::1,DNS:localhost");
  issue(d, "client", "kleene-client", "ca", "DNS:kleene-client");
  issue(d, "named-server", "localhost", "ca", "DNS:localhost");
  issue(d, "other-ca", "kleene-other-ca", "", "");
  issue(d, "other-client", "kleene-other-client", "other-ca", "DNS:kleene-other-client");
  return Certs{
      .ca = d + "/ca.pem",
      .server_cert = d + "/server.pem",
      .server_key = d + "/server.key",
      .client_cert = d + "/client.pem",
      .client_key = d + "/client.key",
      .other_ca = d + "/other-ca.pem",
      .other_client_cert = d + "/other-client.pem",
      .other_client_key = d + "/other-client.key",
      .named_server_cert = d + "/named-server.pem",
      .named_server_key = d + "/named-server.key",
  };
}

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace klee::test

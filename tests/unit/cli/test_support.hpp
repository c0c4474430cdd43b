// Helpers for the klee tests: temp dirs, running a binary, test certificates, fake env.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "options/settings.hpp"

namespace klee::test {

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }
  void write(const std::string& name, const std::string& text) const;

 private:
  std::string path_;
};

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] an absolute path) with `env` as its whole environment, waits for it.
ProcessResult run_process(const std::vector<std::string>& argv,
                          const std::vector<std::string>& env = {});

// A CA, a server certificate for 127.0.0.1/localhost and a client certificate signed by it,
// plus a second CA with its own client certificate (for "wrong certificate" cases).
struct Certs {
  std::string ca, server_cert, server_key, client_cert, client_key;
  std::string other_ca, other_client_cert, other_client_key;
  std::string named_server_cert, named_server_key;  // SAN DNS:localhost only, no IP
};
Certs make_certs(const TempDir& dir);

// An environment for resolve_settings/run_klee that holds only `vars`.
EnvLookup fake_env(std::map<std::string, std::string> vars);

}  // namespace klee::test

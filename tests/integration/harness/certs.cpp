#include "certs.hpp"

#include <stdexcept>
#include <vector>

#include "process.hpp"

namespace kleene::it {

namespace {

constexpr const char* kOpensslConfig = R"(
[req]
distinguished_name = dn
prompt = no
[dn]
CN = kleene-it
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,IP:::1,DNS:localhost
[v3_client]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
)";

class Openssl {
 public:
  explicit Openssl(const TempDir& dir) : dir_(dir), binary_(find_program("openssl")) {
    if (binary_.empty()) throw std::runtime_error("openssl not found in PATH");
    config_ = dir.file("kleene-it-openssl.cnf");
    write_file(config_, kOpensslConfig);
  }

  void run(std::vector<std::string> args) {
    args.insert(args.begin(), binary_);
    ProcessResult result = run_command(args, test_environment());
    if (result.exit_code != 0) {
      std::string command;
      for (const auto& a : args)
        command += a + " ";
      throw std::runtime_error("openssl failed: " + command + "\n" + result.err);
    }
  }

  // A self-signed CA: <name>.pem, <name>.key
  void ca(const std::string& name) {
    run({"req", "-x509", "-config", config_, "-extensions", "v3_ca", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=kleene-it " + name,
         "-keyout", dir_.file(name + ".key"), "-out", dir_.file(name + ".pem")});
  }

  // A leaf <name>.pem/<name>.key signed by CA <ca> with the extension section `ext`.
  void leaf(const std::string& name, const std::string& ca, const std::string& ext,
            const std::string& serial) {
    run({"req", "-new", "-config", config_, "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=kleene-it " + name, "-keyout",
         dir_.file(name + ".key"), "-out", dir_.file(name + ".csr")});
    run({"x509", "-req", "-in", dir_.file(name + ".csr"), "-CA", dir_.file(ca + ".pem"), "-CAkey",
         dir_.file(ca + ".key"), "-set_serial", serial, "-days", "2", "-extfile", config_,
         "-extensions", ext, "-out", dir_.file(name + ".pem")});
  }

 private:
  const TempDir& dir_;
  std::string binary_;
  std::string config_;
};

}  // namespace

TestPki make_test_pki(const TempDir& dir) {
  Openssl openssl(dir);
  openssl.ca("ca");
  openssl.leaf("server", "ca", "v3_server", "1001");
  openssl.leaf("client", "ca", "v3_client", "1002");
  openssl.ca("other-ca");
  openssl.leaf("other-client", "other-ca", "v3_client", "2001");
  return TestPki{
      .ca_cert = dir.file("ca.pem"),
      .server_cert = dir.file("server.pem"),
      .server_key = dir.file("server.key"),
      .client_cert = dir.file("client.pem"),
      .client_key = dir.file("client.key"),
      .other_ca_cert = dir.file("other-ca.pem"),
      .other_client_cert = dir.file("other-client.pem"),
      .other_client_key = dir.file("other-client.key"),
  };
}

}  // namespace kleene::it

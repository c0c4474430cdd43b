#pragma once

#include <string>

#include "temp_dir.hpp"

namespace kleene::it {

// A throw-away PKI made with the openssl CLI inside a test's TempDir (EC P-256, valid 2 days):
// a CA with a server certificate (SAN IP:127.0.0.1, IP:::1, DNS:localhost) and a client
// certificate, and a second, unrelated CA with its own client certificate.
struct TestPki {
  std::string ca_cert;
  std::string server_cert, server_key;
  std::string client_cert, client_key;
  std::string other_ca_cert;
  std::string other_client_cert, other_client_key;
};

// Throws std::runtime_error with openssl's stderr when a step fails.
TestPki make_test_pki(const TempDir& dir);

}  // namespace kleene::it

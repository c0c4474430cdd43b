// Where and how klee connects: the parsed --host plus the TLS context built from the settings.
#pragma once

#include <chrono>
#include <memory>

#include <boost/asio/ssl/context.hpp>

#include "options/settings.hpp"
#include "transport/host_url.hpp"
#include "util/error.hpp"

namespace klee {

struct Endpoint {
  HostUrl url;
  std::shared_ptr<boost::asio::ssl::context> tls;  // set for https:// hosts
  bool verify_server = true;                       // check the chain (and name, over TCP)
  std::chrono::milliseconds connect_timeout{10'000};
};

// Parses settings.host and, for https, loads the client certificate/key and the CA.
[[nodiscard]] kleene::Result<Endpoint> make_endpoint(const Settings& settings);

// Every transport error message is complete, ready for stderr: "unable to connect to
// kleened: <reason>" when kleened could not be reached, Kleene's own sentences otherwise.
// The codes tell the cases apart for callers that care.
inline constexpr int kTimedOut = ETIMEDOUT;    // no answer within the timeout
inline constexpr int kProtocolError = EPROTO;  // the server answered, but not as expected
inline constexpr int kBadSettings = EINVAL;    // the TLS options or --host are unusable

}  // namespace klee

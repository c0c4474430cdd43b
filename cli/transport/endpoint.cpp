#include "transport/endpoint.hpp"

#include <boost/system/system_error.hpp>

namespace klee {
namespace {

namespace ssl = boost::asio::ssl;

kleene::Result<void> load(const char* what, const std::string& path, auto&& loader) {
  try {
    loader();
  } catch (const boost::system::system_error& e) {
    return kleene::make_error(kBadSettings, std::string("Error! cannot load ") + what + " " + path +
                                                ": " + e.code().message());
  }
  return {};
}

kleene::Result<std::shared_ptr<ssl::context>> make_tls_context(const Settings& s) {
  if (s.tlscert && !s.tlskey) {
    return kleene::make_error(kBadSettings,
                              "When '--tlscert' is set you must also provide the '--tlskey'");
  }
  if (s.tlskey && !s.tlscert) {
    return kleene::make_error(kBadSettings,
                              "When '--tlskey' is set you must also provide the '--tlscert'");
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (s.tlscert) {
    TRY(load("TLS certificate", *s.tlscert, [&] { ctx->use_certificate_chain_file(*s.tlscert); }));
    TRY(load("TLS key", *s.tlskey,
             [&] { ctx->use_private_key_file(*s.tlskey, ssl::context::pem); }));
  }
  if (s.verify_server()) {
    ctx->set_verify_mode(ssl::verify_peer);
    if (s.tlscacert) {
      TRY(load("TLS CA certificate", *s.tlscacert, [&] { ctx->load_verify_file(*s.tlscacert); }));
    } else {
      ctx->set_default_verify_paths();
    }
  } else {
    ctx->set_verify_mode(ssl::verify_none);
  }
  return ctx;
}

}  // namespace

kleene::Result<Endpoint> make_endpoint(const Settings& settings) {
  Endpoint endpoint;
  auto url = parse_host_url(settings.host);
  if (!url) {
    return kleene::make_error(kBadSettings, "unable to connect to kleened: " + url.error().message);
  }
  endpoint.url = std::move(*url);
  endpoint.verify_server = settings.verify_server();
  if (endpoint.url.tls) endpoint.tls = TRY(make_tls_context(settings));
  return endpoint;
}

}  // namespace klee

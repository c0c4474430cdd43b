#include "api/tls.hpp"

#include <openssl/ssl.h>

namespace kleene::api::detail {
namespace {

namespace ssl = boost::asio::ssl;

std::unexpected<Error> tls_error(std::string_view what, const std::filesystem::path& file,
                                 const boost::system::error_code& ec) {
  return make_error(EINVAL, std::string(what) + " " + file.string() + ": " + ec.message());
}

}  // namespace

Result<std::shared_ptr<ssl::context>> make_tls_context(const config::TlsOptions& options) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                       ec);
  if (ec) return make_error(EINVAL, "TLS options: " + ec.message());
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  context->use_certificate_chain_file(options.cert.string(), ec);
  if (ec) return tls_error("tlscert", options.cert, ec);
  context->use_private_key_file(options.key.string(), ssl::context::pem, ec);
  if (ec) return tls_error("tlskey", options.key, ec);
  if (SSL_CTX_check_private_key(context->native_handle()) != 1)
    return make_error(EINVAL, "tlskey " + options.key.string() + " does not match tlscert " +
                                  options.cert.string());
  if (!options.dh.empty()) {
    context->use_tmp_dh_file(options.dh.string(), ec);
    if (ec) return tls_error("tlsdh", options.dh, ec);
  }
  if (!options.cacert.empty()) {
    context->load_verify_file(options.cacert.string(), ec);
    if (ec) return tls_error("tlscacert", options.cacert, ec);
    // Tell clients which CA we accept, so they pick the right certificate.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.cacert.c_str()))
      SSL_CTX_set_client_CA_list(context->native_handle(), names);
  }
  if (options.verify) {
    context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
    if (ec) return make_error(EINVAL, "tlsverify: " + ec.message());
  } else {
    context->set_verify_mode(ssl::verify_none, ec);
  }
  return context;
}

}  // namespace kleene::api::detail

// TLS server contexts for https:// listeners (internal).
#pragma once

#include <memory>

#include <boost/asio/ssl/context.hpp>

#include "config/config.hpp"
#include "util/error.hpp"

namespace kleene::api::detail {

// TLS 1.2+, the certificate chain and key; with verify, client certificates are required and
// checked against the CA file. Errors name the file.
Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(
    const config::TlsOptions& options);

}  // namespace kleene::api::detail

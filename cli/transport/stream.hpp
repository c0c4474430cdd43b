// Internal to the transport: the two stream types (plain, TLS) over a unix or TCP connection,
// how to open one, and a helper that runs one asynchronous step to completion so that request
// code reads top to bottom while still getting beast's timeouts (sync calls have none).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

#include "transport/endpoint.hpp"
#include "transport/http_client.hpp"
#include "util/error.hpp"

namespace klee::transport {

namespace asio = boost::asio;
namespace beast = boost::beast;
using error_code = boost::system::error_code;

// Unix and TCP connections alike (a generic socket): Beast's templates are compiled for two
// stream types, not four.
using PlainStream = beast::basic_stream<asio::generic::stream_protocol>;
using TlsStream = beast::ssl_stream<PlainStream>;

template <typename S>
inline constexpr bool is_tls = std::is_same_v<S, TlsStream>;

template <typename S>
struct Tag {
  using type = S;
};

// Calls fn(Tag<Stream>{}) with the stream type the endpoint needs.
template <typename Fn>
decltype(auto) visit_stream_type(const Endpoint& endpoint, Fn&& fn) {
  if (endpoint.url.tls) return fn(Tag<TlsStream>{});
  return fn(Tag<PlainStream>{});
}

// Starts one asynchronous operation and runs the loop until its handler has run; returns the
// operation's error code. Only until then: beast may leave a timer armed after a failed
// WebSocket handshake, and waiting for it would stall klee for the whole timeout.
template <typename Initiate>
error_code run_step(asio::io_context& ioc, Initiate&& initiate) {
  error_code result = asio::error::in_progress;
  bool done = false;
  initiate([&result, &done](error_code ec, auto&&...) {
    result = ec;
    done = true;
  });
  ioc.restart();
  while (!done && ioc.run_one() > 0) {
  }
  return result;
}

// Transport error -> Error whose message is complete, as klee prints it (Kleene's wording).
inline kleene::Error transport_error(const error_code& ec, std::string_view during = {}) {
  if (ec == beast::error::timeout) {
    return {kTimedOut, "Error! Timed out while waiting for Kleened to respond."};
  }
  std::string message = ec.message();
  if (ec.category() == asio::error::get_ssl_category()) {
    // OpenSSL's "... (SSL routines)" is the useful part; keep it whole.
    message = "TLS: " + message;
  }
  if (!during.empty()) message = std::string(during) + ": " + message;
  message = "unable to connect to kleened: " + message;
  return {ec.value() != 0 && ec.category() == boost::system::system_category() ? ec.value()
                                                                               : ECONNABORTED,
          message};
}

// Connects the lowest layer and, for TLS, performs the handshake (checking the server name
// against the certificate for TCP hosts).
template <typename S>
kleene::Result<void> establish(asio::io_context& ioc, S& stream, const Endpoint& endpoint) {
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_after(endpoint.connect_timeout);
  const auto& url = endpoint.url;
  error_code ec;
  using Generic = asio::generic::stream_protocol::endpoint;
  if (url.unix_socket) {
    ec = run_step(ioc, [&](auto handler) {
      lowest.async_connect(Generic(asio::local::stream_protocol::endpoint(url.path)),
                           std::move(handler));
    });
  } else {
    asio::ip::tcp::resolver resolver(ioc);
    std::vector<Generic> addresses;
    ec = run_step(ioc, [&](auto handler) {
      resolver.async_resolve(url.host, std::to_string(url.port),
                             [&addresses, handler](error_code e, auto found) mutable {
                               for (const auto& entry : found)
                                 addresses.emplace_back(entry.endpoint());
                               handler(e);
                             });
    });
    if (ec) return std::unexpected(transport_error(ec, "resolving " + url.host));
    ec = run_step(ioc, [&](auto handler) { lowest.async_connect(addresses, std::move(handler)); });
  }
  if (ec) {
    auto error = transport_error(ec);
    error.message += " (" + url.to_string() + ")";  // which kleened, when several are configured
    return std::unexpected(std::move(error));
  }

  if constexpr (is_tls<S>) {
    error_code addr_ec;
    asio::ip::make_address(url.host, addr_ec);
    if (!url.unix_socket && addr_ec) {
      // SNI only for names (RFC 6066 forbids IP literals).
      SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str());
    }
    if (endpoint.verify_server && !url.unix_socket) {
      stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
    }
    ec = run_step(ioc, [&](auto handler) {
      stream.async_handshake(asio::ssl::stream_base::client, std::move(handler));
    });
    if (ec) return std::unexpected(transport_error(ec));
  }
  return {};
}

// Creates an unconnected stream of type S (TLS ones need the context).
template <typename S>
void emplace_stream(std::optional<S>& out, asio::io_context& ioc, const Endpoint& endpoint) {
  if constexpr (is_tls<S>) {
    out.emplace(ioc, *endpoint.tls);
  } else {
    out.emplace(ioc);
  }
}

// One HTTP/1.1 exchange on a connected stream (http_client.cpp, compiled there once for both
// stream types). keep: null asks the server to close; else the request asks to keep the
// connection and *keep says whether it may carry another request or an upgrade.
template <typename S>
kleene::Result<HttpResponse> exchange_on(asio::io_context& ioc, S& stream, const Endpoint& endpoint,
                                         const HttpRequest& request, bool* keep);
extern template kleene::Result<HttpResponse> exchange_on<PlainStream>(asio::io_context&,
                                                                      PlainStream&, const Endpoint&,
                                                                      const HttpRequest&, bool*);
extern template kleene::Result<HttpResponse> exchange_on<TlsStream>(asio::io_context&, TlsStream&,
                                                                    const Endpoint&,
                                                                    const HttpRequest&, bool*);

}  // namespace klee::transport

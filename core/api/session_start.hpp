// Start an HTTP session on an accepted connection. Unix and TCP connections become generic
// sockets first, and the plain and TLS sessions are split into two units (session_plain.cpp,
// session_tls.cpp): Beast's templates for each stream type are costly to compile (internal).
#pragma once

#include <optional>
#include <string>

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>

#include "api/server_core.hpp"

namespace kleene::api::detail {

using GenericSocket = boost::asio::generic::stream_protocol::socket;

void start_plain_session(ServerCore& core, GenericSocket&& socket, const std::string& listener,
                         SlotPtr slot);
void start_tls_session(ServerCore& core, GenericSocket&& socket, boost::asio::ssl::context& tls,
                       const std::string& listener, SlotPtr slot);

// A unix or TCP socket as a generic one (the same descriptor and executor); nullopt when the
// socket is no longer usable (the peer went, say).
template <class Socket>
std::optional<GenericSocket> as_generic(Socket& socket) {
  boost::system::error_code ec;
  const auto local = socket.local_endpoint(ec);
  if (ec) return std::nullopt;
  const boost::asio::generic::stream_protocol protocol(local.protocol());
  const auto fd = socket.release(ec);
  if (ec) return std::nullopt;
  return GenericSocket(socket.get_executor(), protocol, fd);
}

// `tls` null means plain HTTP; `slot` is the connection's place under max_connections.
inline void start_session(ServerCore& core, GenericSocket&& socket, boost::asio::ssl::context* tls,
                          const std::string& listener, SlotPtr slot) {
  if (tls != nullptr)
    start_tls_session(core, std::move(socket), *tls, listener, std::move(slot));
  else
    start_plain_session(core, std::move(socket), listener, std::move(slot));
}

}  // namespace kleene::api::detail

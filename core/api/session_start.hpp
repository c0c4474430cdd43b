// Start an HTTP session on an accepted connection. Split by protocol into two units, since
// Beast's templates for each stream type are costly to compile (internal).
#pragma once

#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>

#include "api/server_core.hpp"

namespace kleene::api::detail {

// `tls` null means plain HTTP; `slot` is the connection's place under max_connections.
void start_session(ServerCore& core, boost::asio::ip::tcp::socket&& socket,
                   boost::asio::ssl::context* tls, const std::string& listener, SlotPtr slot);
void start_session(ServerCore& core, boost::asio::local::stream_protocol::socket&& socket,
                   boost::asio::ssl::context* tls, const std::string& listener, SlotPtr slot);

}  // namespace kleene::api::detail

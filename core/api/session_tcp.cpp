#include "api/http_session.hpp"
#include "api/session_start.hpp"

namespace kleene::api::detail {

void start_session(ServerCore& core, boost::asio::ip::tcp::socket&& socket, ssl::context* tls,
                   const std::string& listener, SlotPtr slot) {
  start_session_on<boost::asio::ip::tcp>(core, std::move(socket), tls, listener, std::move(slot));
}

}  // namespace kleene::api::detail

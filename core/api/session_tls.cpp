#include "api/http_session.hpp"
#include "api/session_start.hpp"

namespace kleene::api::detail {

void start_tls_session(ServerCore& core, GenericSocket&& socket, ssl::context& tls,
                       const std::string& listener, SlotPtr slot) {
  start_session_of<beast::ssl_stream<SessionStream>>(core, std::move(socket), listener,
                                                     std::move(slot), tls);
}

}  // namespace kleene::api::detail

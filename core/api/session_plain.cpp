#include "api/http_session.hpp"
#include "api/session_start.hpp"

namespace kleene::api::detail {

void start_plain_session(ServerCore& core, GenericSocket&& socket, const std::string& listener,
                         SlotPtr slot) {
  start_session_of<SessionStream>(core, std::move(socket), listener, std::move(slot));
}

}  // namespace kleene::api::detail

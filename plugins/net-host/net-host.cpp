// The "host" network driver: containers share the host's network namespace, so there are no
// endpoints to create. The capability KLEENE_CAP_NET_NO_ENDPOINTS (and no OWN_NETNS) tells the
// core so: it never calls join or leave here, and every operation answers "not implemented
// yet" (the SDK's default).
#include "kleene/plugin/sdk.hpp"

namespace {

class HostDriver final : public kleene::sdk::NetworkDriver {
 public:
  using NetworkDriver::NetworkDriver;
};

}  // namespace

KLEENE_NETWORK_PLUGIN(HostDriver, "host", "0.1.0", "containers share the host's network namespace",
                      KLEENE_CAP_NET_NO_ENDPOINTS);

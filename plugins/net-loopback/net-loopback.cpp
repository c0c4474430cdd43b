// The "ipnet" network driver (Kleene's ipnet on Linux): each container gets its own netns joined to
// the host by a routed point-to-point veth (/32, no L2). Every operation still answers "not
// implemented yet" (the SDK's default).
#include "kleene/plugin/sdk.hpp"

namespace {

class IpnetDriver final : public kleene::sdk::NetworkDriver {
 public:
  using NetworkDriver::NetworkDriver;
};

}  // namespace

KLEENE_NETWORK_PLUGIN(IpnetDriver, "ipnet", "0.1.0",
                      "per-container netns on a routed point-to-point veth (Kleene's ipnet)",
                      KLEENE_CAP_NET_CONNECT_WHILE_RUNNING | KLEENE_CAP_NET_IPV6 |
                          KLEENE_CAP_NET_OWN_NETNS | KLEENE_CAP_NET_LOOPBACK |
                          KLEENE_CAP_NET_BRIDGE | KLEENE_CAP_NET_CUSTOM);

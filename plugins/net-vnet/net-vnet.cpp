// The "vnet" network driver (Kleene's vnet on Linux): each container gets its own netns with a veth
// pair on a Linux bridge. Every operation still answers "not implemented yet" (the SDK's default).
#include "kleene/plugin/sdk.hpp"

namespace {

class VnetDriver final : public kleene::sdk::NetworkDriver {
 public:
  using NetworkDriver::NetworkDriver;
};

}  // namespace

KLEENE_NETWORK_PLUGIN(VnetDriver, "vnet", "0.1.0",
                      "per-container netns with a veth pair on a Linux bridge (Kleene's vnet)",
                      KLEENE_CAP_NET_CONNECT_WHILE_RUNNING | KLEENE_CAP_NET_IPV6 |
                          KLEENE_CAP_NET_OWN_NETNS | KLEENE_CAP_NET_BRIDGE);

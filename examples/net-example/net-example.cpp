// "example": a third-party network driver built against the installed kleene plugin SDK.
// It keeps its networks in memory and creates no interfaces, which makes it a small, complete
// model of a driver: requests in, JSON out, errors as kleene::sdk::Error, state behind a lock,
// logging and host commands through host(). Containers using it (`klee run -l example`) get a
// network namespace of their own (capability OWN_NETNS) with only lo, and may connect to custom
// and loopback networks (join/leave record the connection and log it).
#include <map>
#include <mutex>
#include <string>

#include <kleene/plugin/sdk.hpp>

namespace {

using kleene::sdk::Error;
using kleene::sdk::json;

class ExampleDriver final : public kleene::sdk::NetworkDriver {
 public:
  // config is this plugin's section of kleened's config ("plugins: {example: {...}}").
  ExampleDriver(kleene::sdk::Host host, json config)
      : NetworkDriver(host, std::move(config)), mtu_(this->config().value("mtu", 1500)) {
    if (mtu_ < 576) throw Error(KLEENE_E_INVALID, "mtu must be at least 576");
  }

  // {"name": "..."} -> {"name": "...", "mtu": N}
  json create_network(const json& request) override {
    const auto name = request.at("name").get<std::string>();
    std::lock_guard<std::mutex> lock(mutex_);  // kleened may call from several threads
    if (!networks_.emplace(name, mtu_).second) {
      throw Error(KLEENE_E_EXISTS, "network " + name + " already exists");
    }
    host().info("created network " + name);
    return {{"name", name}, {"mtu", mtu_}};
  }

  // {"name": "..."} -> {}
  json delete_network(const json& request) override {
    const auto name = request.at("name").get<std::string>();
    std::lock_guard<std::mutex> lock(mutex_);
    if (networks_.erase(name) == 0) throw Error(KLEENE_E_NOT_FOUND, "no network " + name);
    return json::object();
  }

  // Shows host commands: the kernel this driver runs on. {} -> {"kernel": "..."}
  json create_endpoint(const json&) override {
    const auto result = host().run({"/bin/uname", "-r"});
    if (result.exit_code != 0) throw Error(KLEENE_E_FAILED, "uname failed: " + result.err);
    return {{"kernel", result.out.substr(0, result.out.find('\n'))}};
  }
  // kleened attaches a container's endpoint: {"container_id", "netns", "endpoint": {...},
  // "network": {...}, "default_route"} -> {"interface": the host-side link, "" for none}.
  json join(const json& request) override {
    const auto container = request.at("container_id").get<std::string>();
    const auto network = request.at("network").at("name").get<std::string>();
    host().info("joined container " + container + " to network " + network);
    return {{"interface", ""}};
  }

  // kleened detaches an endpoint whose join answered an interface (never, here):
  // {"container_id", "netns", "endpoint", "network"} -> {}
  json leave(const json& request) override {
    host().info("left container " + request.at("container_id").get<std::string>());
    return json::object();
  }
  // delete_endpoint keeps the SDK's default: "... is not implemented yet".

 private:
  int mtu_;
  std::mutex mutex_;
  std::map<std::string, int> networks_;
};

}  // namespace

KLEENE_NETWORK_PLUGIN(ExampleDriver, "example", "0.1.0",
                      "an example third-party driver built against the installed SDK",
                      KLEENE_CAP_NET_CUSTOM | KLEENE_CAP_NET_LOOPBACK | KLEENE_CAP_NET_OWN_NETNS |
                          KLEENE_CAP_NET_CONNECT_WHILE_RUNNING);

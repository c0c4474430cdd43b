#include "network/repository.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "store/store.hpp"
#include "temp_dir.hpp"
#include "util/resolve.hpp"

namespace kleene::network {
namespace {

class NetworkRepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::Store::open(dir.path() / "metadata.sqlite");
    ASSERT_TRUE(opened) << opened.error().message;
    store = std::move(*opened);
    ASSERT_TRUE(store->exec("INSERT INTO images (id, created) VALUES ('aaaaaaaaaaaa', 't')"));
  }

  void add_container(const std::string& id) {
    ASSERT_TRUE(store->exec("INSERT INTO containers (id, name, image_id, created) VALUES ('" + id +
                            "', 'c" + id + "', 'aaaaaaaaaaaa', 't')"));
  }

  Network create(std::string name, std::string subnet = "10.13.37.0/24", std::string interface = "",
                 std::set<std::string> reserved = {}) {
    NetworkConfig c;
    c.name = std::move(name);
    c.subnet = std::move(subnet);
    c.gateway = "<auto>";
    c.interface = std::move(interface);
    EXPECT_TRUE(check_network_config(c));
    auto n = NetworkRepository(*store).create(c, "eth0", reserved);
    EXPECT_TRUE(n) << n.error().message;
    return n.value_or(Network{});
  }

  kleene::testing::TempDir dir;
  std::unique_ptr<store::Store> store;
};

TEST_F(NetworkRepositoryTest, CreateGetResolveList) {
  NetworkRepository repo(*store);
  auto west = create("westnet");
  EXPECT_EQ(west.id.size(), 12u);
  EXPECT_EQ(west.interface, "kleene0");
  EXPECT_EQ(west.gateway, "10.13.37.1");
  EXPECT_EQ(west.nat, "<host-gateway>");
  EXPECT_EQ(west.nat_if, "eth0");
  EXPECT_FALSE(west.created.empty());

  auto got = repo.get(west.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->name, "westnet");
  EXPECT_EQ(got->subnet, "10.13.37.0/24");
  EXPECT_TRUE(got->icc);
  EXPECT_FALSE(got->internal);

  auto json = to_json(*got);
  EXPECT_EQ(json["nat"], "eth0");
  EXPECT_EQ(json["interface"], "kleene0");
  EXPECT_EQ(json["type"], "bridge");
  std::set<std::string> keys;
  for (const auto& [key, value] : json.items())
    keys.insert(key);
  // Exactly the properties of Kleene's Network schema.
  EXPECT_EQ(keys, (std::set<std::string>{"id", "name", "type", "interface", "subnet", "subnet6",
                                         "gateway", "gateway6", "nat", "icc", "internal"}));

  auto east = create("eastnet", "10.13.38.0/24");
  EXPECT_EQ(east.interface, "kleene1");

  EXPECT_EQ(repo.resolve("westnet")->id, west.id);
  EXPECT_EQ(repo.resolve(west.id.substr(0, 5))->id, west.id);
  auto missing = repo.resolve("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);
  EXPECT_EQ(missing.error().message, "no such network: nope");
  auto ambiguous = repo.resolve("");
  EXPECT_FALSE(ambiguous);
  EXPECT_EQ(repo.get("000000000000").error().code, ENOENT);

  auto all = repo.list();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u);
}

TEST_F(NetworkRepositoryTest, NamesAreUnique) {
  create("westnet");
  NetworkConfig c;
  c.name = "westnet";
  auto r = NetworkRepository(*store).create(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EEXIST);
  EXPECT_EQ(r.error().message, "network name is already taken");
}

TEST_F(NetworkRepositoryTest, InterfacesLowestFreeAndNeverShared) {
  NetworkRepository repo(*store);
  auto a = create("a", "", "", {"kleene0", "kleene2"});  // host has kleene0 and kleene2
  EXPECT_EQ(a.interface, "kleene1");
  auto b = create("b", "", "", {"kleene0", "kleene2"});
  EXPECT_EQ(b.interface, "kleene3");
  ASSERT_TRUE(repo.remove(a.id));
  auto c = create("c", "", "", {});
  EXPECT_EQ(c.interface, "kleene0");

  NetworkConfig clash;
  clash.name = "d";
  clash.interface = "kleene3";
  auto r = repo.create(clash);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EEXIST);
  EXPECT_EQ(r.error().message, "interface 'kleene3' is already used by network 'b'");
}

TEST_F(NetworkRepositoryTest, NatIfOnlyWithNat) {
  NetworkConfig c;
  c.name = "nonat";
  c.nat = "";
  auto n = NetworkRepository(*store).create(c, "eth0");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->nat_if, "");
  EXPECT_EQ(to_json(*n)["nat"], "");
}

TEST_F(NetworkRepositoryTest, EndpointsAutoAndExplicitAddresses) {
  NetworkRepository repo(*store);
  auto net = create("westnet", "10.13.37.0/30");  // usable .1 .2; .1 is the gateway
  add_container("c00000000001");
  add_container("c00000000002");
  add_container("c00000000003");

  auto e1 = repo.add_endpoint(net.id, "c00000000001", "<auto>", "");
  ASSERT_TRUE(e1) << e1.error().message;
  EXPECT_EQ(e1->ip_address, "10.13.37.2");
  EXPECT_EQ(e1->ip_address6, "");
  EXPECT_EQ(e1->network_id, net.id);

  auto again = repo.add_endpoint(net.id, "c00000000001", "<auto>", "");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, EEXIST);
  EXPECT_EQ(again.error().message, "container already connected to the network");

  auto full = repo.add_endpoint(net.id, "c00000000002", "<auto>", "");
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ENOSPC);
  EXPECT_EQ(full.error().message, "no more inet IP's left in the network");

  auto dup = repo.add_endpoint(net.id, "c00000000002", "10.13.37.2", "");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, EEXIST);

  auto gw = repo.add_endpoint(net.id, "c00000000002", "10.13.37.1", "");
  ASSERT_FALSE(gw);

  auto six = repo.add_endpoint(net.id, "c00000000002", "", "<auto>");
  ASSERT_TRUE(six);  // no IPv6 subnet: <auto> is no address (Kleene)
  EXPECT_EQ(six->ip_address6, "");

  auto explicit6 = repo.add_endpoint(net.id, "c00000000003", "", "fd00::5");
  ASSERT_FALSE(explicit6);
  EXPECT_EQ(explicit6.error().message,
            "cannot set ip address because there is no IPv6 subnet defined for this network");

  auto nocontainer = repo.add_endpoint(net.id, "c0000000000f", "<auto>", "");
  ASSERT_FALSE(nocontainer);
  EXPECT_EQ(nocontainer.error().code, ENOENT);
  auto nonetwork = repo.add_endpoint("000000000000", "c00000000003", "", "");
  ASSERT_FALSE(nonetwork);
  EXPECT_EQ(nonetwork.error().code, ENOENT);

  // Freed addresses are handed out again.
  ASSERT_TRUE(repo.remove_endpoint(net.id, "c00000000001"));
  auto e3 = repo.add_endpoint(net.id, "c00000000003", "<auto>", "");
  ASSERT_TRUE(e3);
  EXPECT_EQ(e3->ip_address, "10.13.37.2");
}

TEST_F(NetworkRepositoryTest, EndpointListsInterfaceAndRemoval) {
  NetworkRepository repo(*store);
  auto west = create("westnet");
  auto east = create("eastnet", "10.20.0.0/16");
  add_container("c00000000001");
  add_container("c00000000002");
  auto w1 = repo.add_endpoint(west.id, "c00000000001", "<auto>", "");
  auto w2 = repo.add_endpoint(west.id, "c00000000002", "10.13.37.77", "");
  auto e1 = repo.add_endpoint(east.id, "c00000000001", "<auto>", "");
  ASSERT_TRUE(w1 && w2 && e1);
  EXPECT_EQ(w2->ip_address, "10.13.37.77");
  EXPECT_EQ(e1->ip_address, "10.20.0.2");

  EXPECT_EQ(repo.endpoints_of_network(west.id)->size(), 2u);
  EXPECT_EQ(repo.endpoints_of_network(east.id)->size(), 1u);
  EXPECT_EQ(repo.endpoints_of_container("c00000000001")->size(), 2u);
  EXPECT_EQ(repo.endpoints_of_container("c00000000002")->size(), 1u);

  auto json = to_json(*w1);
  EXPECT_TRUE(json["epair"].is_null());
  ASSERT_TRUE(repo.set_endpoint_interface(w1->id, "klv0a1"));
  auto got = repo.endpoint(west.id, "c00000000001");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->interface, "klv0a1");
  EXPECT_EQ(to_json(*got)["epair"], "klv0a1");
  EXPECT_EQ(repo.set_endpoint_interface("000000000000", "x").error().code, ENOENT);

  // A connected network is neither removed nor a prune candidate.
  auto busy = repo.remove(west.id);
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, EBUSY);
  EXPECT_EQ(busy.error().message,
            "cannot remove network 'westnet': 2 containers are connected to it");
  auto lonely = create("lonely", "");
  auto candidates = repo.prune_candidates();
  ASSERT_TRUE(candidates);
  ASSERT_EQ(candidates->size(), 1u);
  EXPECT_EQ(candidates->front().id, lonely.id);

  ASSERT_TRUE(repo.remove_endpoint(west.id, "c00000000001"));
  ASSERT_TRUE(repo.remove_endpoint(west.id, "c00000000002"));
  auto gone = repo.remove_endpoint(west.id, "c00000000002");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().message, "endpoint configuration not found");
  EXPECT_EQ(repo.endpoint(west.id, "c00000000002").error().code, ENOENT);
  EXPECT_EQ(repo.prune_candidates()->size(), 2u);
  ASSERT_TRUE(repo.remove(west.id));
  EXPECT_EQ(repo.get(west.id).error().code, ENOENT);
  EXPECT_EQ(repo.remove(west.id).error().code, ENOENT);
  // The container still holds its other endpoint; the database refuses to drop it under it.
  EXPECT_FALSE(store->exec("DELETE FROM containers WHERE id = 'c00000000001'"));
}

TEST_F(NetworkRepositoryTest, ConcurrentConnectsGetDistinctAddresses) {
  auto net = create("westnet", "10.13.37.0/24");
  constexpr int kContainers = 16;
  std::vector<std::string> ids;
  for (int i = 0; i < kContainers; ++i) {
    char id[13];
    std::snprintf(id, sizeof id, "c%011d", i);
    ids.emplace_back(id);
    add_container(ids.back());
  }
  std::vector<std::string> addresses(kContainers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kContainers; ++i) {
    threads.emplace_back([&, i] {
      auto e = NetworkRepository(*store).add_endpoint(net.id, ids[i], "<auto>", "");
      if (e) addresses[i] = e->ip_address;
    });
  }
  for (auto& t : threads)
    t.join();
  std::set<std::string> distinct(addresses.begin(), addresses.end());
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kContainers));
  EXPECT_FALSE(distinct.contains(""));
  EXPECT_FALSE(distinct.contains("10.13.37.1"));
}

TEST_F(NetworkRepositoryTest, UniqueIndexBacksAddresses) {
  auto net = create("westnet");
  add_container("c00000000001");
  add_container("c00000000002");
  ASSERT_TRUE(NetworkRepository(*store).add_endpoint(net.id, "c00000000001", "10.13.37.9", ""));
  auto r = store->exec(
      "INSERT INTO endpoints (id, network_id, container_id, ip_address) VALUES ('e00000000002', '" +
      net.id + "', 'c00000000002', '10.13.37.9')");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EEXIST);
}

}  // namespace
}  // namespace kleene::network

#include <gtest/gtest.h>

#include "container/container.hpp"
#include "image/image.hpp"
#include "store/store.hpp"
#include "temp_dir.hpp"
#include "volume/volume.hpp"

namespace kleene::container {
namespace {

class ContainerRepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::Store::open(dir.path() / "metadata.sqlite");
    ASSERT_TRUE(opened) << opened.error().message;
    store = std::move(*opened);
    image::Image img{.id = "aaaaaaaaaaaa", .name = "base", .tag = "latest"};
    img.created = "2024-01-01T00:00:00.000000Z";
    ASSERT_TRUE(image::ImageRepository(*store).insert(img));
    ASSERT_TRUE(volume::VolumeRepository(*store).insert({"data", "p/v/data", "/p/v/data", "t"}));
  }

  Container make(std::string id, std::string name, std::string created = "2024-01-02") {
    Container c;
    c.id = std::move(id);
    c.name = std::move(name);
    c.image_id = "aaaaaaaaaaaa";
    c.cmd = {"/bin/sh"};
    c.env = {"A=1"};
    c.jail_param = {"persist"};
    c.dataset = "p/c/" + c.id;
    c.created = std::move(created);
    return c;
  }

  kleene::testing::TempDir dir;
  std::unique_ptr<store::Store> store;
};

TEST_F(ContainerRepositoryTest, InsertGetWithMounts) {
  ContainerRepository repo(*store);
  auto c = make("0123456789ab", "web");
  ASSERT_TRUE(repo.insert(
      c, {{c.id, "volume", "data", "/data", true}, {c.id, "nullfs", "/tmp", "/host", false}}));
  auto got = repo.get(c.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->name, "web");
  EXPECT_EQ(got->cmd, c.cmd);
  EXPECT_EQ(got->jail_param, c.jail_param);
  auto mounts = repo.mounts(c.id);
  ASSERT_TRUE(mounts);
  ASSERT_EQ(mounts->size(), 2u);
  EXPECT_TRUE((*mounts)[0].read_only);
  EXPECT_EQ((*mounts)[1].source, "/tmp");
  auto json = to_json(*got, true);
  EXPECT_EQ(json["running"], true);
  EXPECT_EQ(json["network_driver"], "ipnet");
  EXPECT_EQ(json["restart_policy"], "no");
  EXPECT_EQ(repo.image_nametag(c.image_id)->first, "base");
}

TEST_F(ContainerRepositoryTest, NamesAreUnique) {
  ContainerRepository repo(*store);
  ASSERT_TRUE(repo.insert(make("0123456789ab", "web"), {}));
  auto again = repo.insert(make("0123456789ac", "web"), {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, EEXIST);
  EXPECT_EQ(again.error().message, "container name 'web' is already in use");
  ASSERT_TRUE(repo.insert(make("0123456789ac", "db"), {}));
  auto renamed = make("0123456789ac", "web");
  auto update = repo.update(renamed);
  ASSERT_FALSE(update);
  EXPECT_EQ(update.error().code, EEXIST);
  renamed.name = "db2";
  renamed.persist = true;
  ASSERT_TRUE(repo.update(renamed));
  EXPECT_EQ(repo.get("0123456789ac")->name, "db2");
  EXPECT_TRUE(repo.get("0123456789ac")->persist);
}

// A build's step container is marked with its row, in the same transaction: a refused insert
// leaves no mark, and the mark goes with the row.
TEST_F(ContainerRepositoryTest, BuildContainersAreMarkedWithTheirRow) {
  ContainerRepository repo(*store);
  ASSERT_TRUE(repo.insert(make("0123456789ab", "web"), {}));
  ASSERT_TRUE(repo.insert(make("0123456789cd", "step1"), {}, "build1"));
  EXPECT_FALSE(repo.insert(make("0123456789ef", "web"), {}, "build1"));  // name taken
  EXPECT_EQ(*repo.build_containers(), std::vector<std::string>{"0123456789cd"});
  ASSERT_TRUE(repo.remove("0123456789cd"));
  EXPECT_TRUE(repo.build_containers()->empty());
}

TEST_F(ContainerRepositoryTest, ResolveByIdNamePrefix) {
  ContainerRepository repo(*store);
  ASSERT_TRUE(repo.insert(make("0123456789ab", "web"), {}));
  ASSERT_TRUE(repo.insert(make("0123456789cd", "db"), {}));
  EXPECT_EQ(repo.resolve("web")->id, "0123456789ab");
  EXPECT_EQ(repo.resolve("0123456789cd")->name, "db");
  EXPECT_EQ(repo.resolve("0123456789c")->name, "db");
}

TEST_F(ContainerRepositoryTest, AmbiguousAndUnknown) {
  ContainerRepository repo(*store);
  ASSERT_TRUE(repo.insert(make("0123456789ab", "web"), {}));
  ASSERT_TRUE(repo.insert(make("0123456789cd", "db"), {}));
  EXPECT_EQ(repo.resolve("0123").error().code, ENOTUNIQ);
  auto unknown = repo.resolve("nope");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ENOENT);
  EXPECT_EQ(unknown.error().message, "no such container: nope");
}

TEST_F(ContainerRepositoryTest, RemoveTakesMountsAndFreesVolume) {
  ContainerRepository repo(*store);
  auto c = make("0123456789ab", "web");
  ASSERT_TRUE(repo.insert(c, {{c.id, "volume", "data", "/data", false}}));
  EXPECT_FALSE(volume::VolumeRepository(*store).remove("data"));  // mounted
  ASSERT_TRUE(repo.remove(c.id));
  EXPECT_TRUE(repo.mounts(c.id)->empty());
  EXPECT_TRUE(volume::VolumeRepository(*store).remove("data"));
  EXPECT_EQ(repo.remove(c.id).error().code, ENOENT);
}

TEST_F(ContainerRepositoryTest, EndpointsInKleeneShape) {
  ContainerRepository repo(*store);
  auto c = make("0123456789ab", "web");
  ASSERT_TRUE(repo.insert(c, {}));
  EXPECT_TRUE(repo.endpoints(c.id)->empty());
  ASSERT_TRUE(
      store->exec("INSERT INTO networks (id, name, type, created) VALUES "
                  "('n1', 'net', 'loopback', 't');"
                  "INSERT INTO endpoints (id, network_id, container_id, ip_address) "
                  "VALUES ('e1', 'n1', '0123456789ab', '10.13.37.2')"));
  auto endpoints = repo.endpoints(c.id);
  ASSERT_TRUE(endpoints);
  ASSERT_EQ(endpoints->size(), 1u);
  EXPECT_EQ((*endpoints)[0]["network_id"], "n1");
  EXPECT_EQ((*endpoints)[0]["ip_address"], "10.13.37.2");
  EXPECT_TRUE((*endpoints)[0]["epair"].is_null());
}

TEST_F(ContainerRepositoryTest, FailedInsertLeavesNoRow) {
  ContainerRepository repo(*store);
  auto c = make("0123456789ab", "web");
  // A mount of a volume that does not exist violates the foreign key: nothing is kept.
  EXPECT_FALSE(repo.insert(c, {{c.id, "volume", "missing", "/m", false}}));
  EXPECT_EQ(repo.get(c.id).error().code, ENOENT);
  EXPECT_TRUE(repo.list()->empty());
}

}  // namespace
}  // namespace kleene::container

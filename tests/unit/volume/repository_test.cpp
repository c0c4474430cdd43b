#include <gtest/gtest.h>

#include "store/store.hpp"
#include "temp_dir.hpp"
#include "volume/volume.hpp"

namespace kleene::volume {
namespace {

class VolumeRepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::Store::open(dir.path() / "metadata.sqlite");
    ASSERT_TRUE(opened) << opened.error().message;
    store = std::move(*opened);
    repo.emplace(*store);
  }

  Volume add(const std::string& name, const std::string& created) {
    Volume v{name, "pool/kleene/volumes/" + name, "/pool/kleene/volumes/" + name, created};
    auto inserted = repo->insert(v);
    EXPECT_TRUE(inserted) << inserted.error().message;
    return v;
  }

  // A container (and its image) with a volume mount, as the container code will write them.
  void mount(const std::string& container, const std::string& volume, const std::string& dest,
             bool read_only = false) {
    auto conn = store->lock();
    ASSERT_TRUE(
        conn.exec("INSERT OR IGNORE INTO images (id, created) VALUES ('iiiiiiiiiii1', 'now')"));
    auto c = conn.prepare(
        "INSERT OR IGNORE INTO containers (id, name, image_id, created) "
        "VALUES (?1, ?2, 'iiiiiiiiiii1', 'now')");
    ASSERT_TRUE(c);
    ASSERT_TRUE(c->bind(1, container).bind(2, "name-" + container).run());
    auto m = conn.prepare(
        "INSERT INTO mounts (container_id, type, source, destination, read_only, volume) "
        "VALUES (?1, 'volume', ?2, ?3, ?4, ?2)");
    ASSERT_TRUE(m);
    ASSERT_TRUE(m->bind(1, container).bind(2, volume).bind(3, dest).bind(4, read_only).run());
  }

  kleene::testing::TempDir dir;
  std::unique_ptr<store::Store> store;
  std::optional<VolumeRepository> repo;
};

TEST_F(VolumeRepositoryTest, InsertGetListRemove) {
  const Volume a = add("data", "2024-01-01T00:00:00.000000Z");
  add("logs", "2024-02-01T00:00:00.000000Z");

  auto got = repo->get("data");
  ASSERT_TRUE(got);
  EXPECT_EQ(to_json(*got), to_json(a));
  EXPECT_EQ(to_json(*got), (nlohmann::json{{"name", "data"},
                                           {"dataset", "pool/kleene/volumes/data"},
                                           {"mountpoint", "/pool/kleene/volumes/data"},
                                           {"created", "2024-01-01T00:00:00.000000Z"}}));

  auto list = repo->list();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "logs");

  auto dup = repo->insert(a);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, EEXIST);

  ASSERT_TRUE(repo->remove("data"));
  auto missing = repo->get("data");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);
  auto again = repo->remove("data");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ENOENT);
}

TEST_F(VolumeRepositoryTest, MountedVolumeIsKept) {
  add("data", "2024-01-01T00:00:00.000000Z");
  add("free", "2024-01-02T00:00:00.000000Z");
  mount("c00000000002", "data", "/srv", true);
  mount("c00000000001", "data", "/data");

  auto mounts = repo->mountpoints("data");
  ASSERT_TRUE(mounts);
  ASSERT_EQ(mounts->size(), 2u);
  EXPECT_EQ(to_json((*mounts)[0]), (nlohmann::json{{"container_id", "c00000000001"},
                                                   {"type", "volume"},
                                                   {"source", "data"},
                                                   {"destination", "/data"},
                                                   {"read_only", false}}));
  EXPECT_TRUE((*mounts)[1].read_only);

  auto users = repo->users("data");
  ASSERT_TRUE(users);
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].id, "c00000000001");
  EXPECT_EQ((*users)[0].name, "name-c00000000001");

  auto refused = repo->remove("data");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, EBUSY);

  auto unused = repo->unused();
  ASSERT_TRUE(unused);
  ASSERT_EQ(unused->size(), 1u);
  EXPECT_EQ((*unused)[0].name, "free");

  // Removing the containers (mounts cascade) frees the volume.
  ASSERT_TRUE(store->exec("DELETE FROM containers"));
  EXPECT_TRUE(repo->users("data")->empty());
  EXPECT_EQ(repo->unused()->size(), 2u);
  EXPECT_TRUE(repo->remove("data"));
}

TEST(VolumeName, Validation) {
  EXPECT_TRUE(is_valid_volume_name("data"));
  EXPECT_TRUE(is_valid_volume_name("my-vol_1.x"));
  for (const char* bad : {"", "-x", ".x", "a/b", "..", "a b", "x@y", "x:y"})
    EXPECT_FALSE(is_valid_volume_name(bad)) << bad;
}

}  // namespace
}  // namespace kleene::volume

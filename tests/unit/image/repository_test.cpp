#include <gtest/gtest.h>

#include "image/image.hpp"
#include "store/store.hpp"
#include "temp_dir.hpp"
#include "util/resolve.hpp"

namespace kleene::image {
namespace {

class ImageRepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::Store::open(dir.path() / "metadata.sqlite");
    ASSERT_TRUE(opened) << opened.error().message;
    store = std::move(*opened);
    repo.emplace(*store);
  }

  Image add(std::string id, std::string name = {}, std::string tag = {},
            std::string created = "2024-01-01T00:00:00.000000Z", std::string parent = {}) {
    Image image{.id = std::move(id), .name = std::move(name), .tag = std::move(tag)};
    image.dataset = "pool/kleene/image/" + image.id;
    image.parent_snapshot = std::move(parent);
    image.created = std::move(created);
    auto inserted = repo->insert(image);
    EXPECT_TRUE(inserted) << inserted.error().message;
    return image;
  }

  void add_container(const std::string& id, const std::string& name, const std::string& image) {
    auto conn = store->lock();
    auto stmt = conn.prepare(
        "INSERT INTO containers (id, name, image_id, created) VALUES (?1, ?2, ?3, 'now')");
    ASSERT_TRUE(stmt);
    ASSERT_TRUE(stmt->bind(1, id).bind(2, name).bind(3, image).run());
  }

  kleene::testing::TempDir dir;
  std::unique_ptr<store::Store> store;
  std::optional<ImageRepository> repo;
};

TEST_F(ImageRepositoryTest, InsertGetRoundTrip) {
  Image image{.id = "aaaaaaaaaaa1", .name = "base", .tag = "13"};
  image.cmd = {"/bin/sh", "-c", "ls"};
  image.env = {"A=1", "B=two words"};
  image.user = "nobody";
  image.instructions = nlohmann::json::array({{"RUN echo", "aaaaaaaaaaa1@x"}, {"CMD ls", ""}});
  image.buildargs = {{"K", "v"}};
  image.dataset = "pool/kleene/image/aaaaaaaaaaa1";
  image.parent_snapshot = "pool/kleene/image/bbbbbbbbbbb2@image";
  image.created = "2024-05-06T07:08:09.000001Z";
  ASSERT_TRUE(repo->insert(image));

  auto got = repo->get("aaaaaaaaaaa1");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(to_json(*got), to_json(image));

  auto missing = repo->get("ffffffffffff");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);
}

TEST_F(ImageRepositoryTest, DuplicateIdIsRefused) {
  add("aaaaaaaaaaa1");
  Image again{.id = "aaaaaaaaaaa1", .created = "x"};
  auto r = repo->insert(again);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EEXIST);
}

TEST_F(ImageRepositoryTest, ListIsNewestFirst) {
  add("aaaaaaaaaaa1", "", "", "2024-01-01T00:00:00.000000Z");
  add("bbbbbbbbbbb2", "", "", "2024-03-01T00:00:00.000000Z");
  add("ccccccccccc3", "", "", "2024-02-01T00:00:00.000000Z");
  auto list = repo->list();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].id, "bbbbbbbbbbb2");
  EXPECT_EQ((*list)[1].id, "ccccccccccc3");
  EXPECT_EQ((*list)[2].id, "aaaaaaaaaaa1");
}

TEST_F(ImageRepositoryTest, InsertMovesTakenNametag) {
  add("aaaaaaaaaaa1", "base", "latest");
  add("bbbbbbbbbbb2", "base", "latest");
  EXPECT_EQ(repo->get("aaaaaaaaaaa1")->name, "");
  EXPECT_EQ(repo->get("aaaaaaaaaaa1")->tag, "");
  EXPECT_EQ(repo->get("bbbbbbbbbbb2")->name, "base");
  EXPECT_EQ(repo->resolve("base")->id, "bbbbbbbbbbb2");
}

TEST_F(ImageRepositoryTest, SetNametagMovesIt) {
  add("aaaaaaaaaaa1", "base", "13");
  add("bbbbbbbbbbb2", "other", "1");
  ASSERT_TRUE(repo->set_nametag("bbbbbbbbbbb2", "base", "13"));
  EXPECT_EQ(repo->get("aaaaaaaaaaa1")->name, "");
  EXPECT_EQ(repo->resolve("base", "13")->id, "bbbbbbbbbbb2");
  EXPECT_FALSE(repo->resolve("other", "1"));

  auto missing = repo->set_nametag("ffffffffffff", "x", "y");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);
  // A failed re-tag changes nothing (one transaction).
  ASSERT_TRUE(repo->set_nametag("aaaaaaaaaaa1", "keep", "1"));
  EXPECT_FALSE(repo->set_nametag("ffffffffffff", "keep", "1"));
  EXPECT_EQ(repo->resolve("keep", "1")->id, "aaaaaaaaaaa1");
}

TEST_F(ImageRepositoryTest, ResolveRules) {
  add("abc111111111", "web", "latest");
  add("abc222222222", "web", "2");
  add("def333333333", "abc", "latest");
  // Full id first, then name with the default tag, then a unique id prefix.
  EXPECT_EQ(repo->resolve("abc111111111")->id, "abc111111111");
  EXPECT_EQ(repo->resolve("web")->id, "abc111111111");
  EXPECT_EQ(repo->resolve("web", "2")->id, "abc222222222");
  EXPECT_EQ(repo->resolve("abc")->id, "def333333333");  // the name wins over the prefix
  EXPECT_EQ(repo->resolve("abc2")->id, "abc222222222");
  EXPECT_EQ(repo->resolve("def")->id, "def333333333");

  auto ambiguous = repo->resolve("abc1");
  ASSERT_TRUE(ambiguous);
  add("abc122222222");
  ambiguous = repo->resolve("abc1");
  ASSERT_FALSE(ambiguous);
  EXPECT_EQ(ambiguous.error().code, kErrAmbiguous);
  EXPECT_EQ(ambiguous.error().message,
            "ambiguous image identifier 'abc1' matches: abc111111111 (web), abc122222222");

  for (auto [q, t] : {std::pair{"web", "3"}, {"nothing", ""}, {"abc111111111", "latest"}}) {
    auto r = repo->resolve(q, t);
    ASSERT_FALSE(r) << q << ":" << t;
    EXPECT_EQ(r.error().code, ENOENT);
  }
  // A name with another tag is not found by the bare name (Kleene: the tag is "latest").
  EXPECT_FALSE(repo->resolve("web2"));
}

TEST_F(ImageRepositoryTest, RemoveAndDependants) {
  const Image base = add("aaaaaaaaaaa1", "base", "latest");
  add("bbbbbbbbbbb2", "child", "latest", "2024-01-02T00:00:00.000000Z", base.dataset + "@image");
  // A dataset whose name merely starts the same is not a parent.
  add("ccccccccccc3", "", "", "2024-01-03T00:00:00.000000Z", base.dataset + "0@image");

  auto children = repo->children(base);
  ASSERT_TRUE(children);
  ASSERT_EQ(children->size(), 1u);
  EXPECT_EQ((*children)[0].id, "bbbbbbbbbbb2");

  add_container("c00000000001", "web", "aaaaaaaaaaa1");
  auto users = repo->containers_using("aaaaaaaaaaa1");
  ASSERT_TRUE(users);
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ((*users)[0].id, "c00000000001");
  EXPECT_EQ((*users)[0].name, "web");

  // The store itself keeps an image under its containers.
  auto refused = repo->remove("aaaaaaaaaaa1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, EBUSY);

  ASSERT_TRUE(repo->remove("bbbbbbbbbbb2"));
  auto again = repo->remove("bbbbbbbbbbb2");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ENOENT);
}

}  // namespace
}  // namespace kleene::image

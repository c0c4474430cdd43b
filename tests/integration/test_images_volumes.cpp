// Images and volumes end to end: a real kleened on a throw-away ZFS pool, driven through klee
// and the raw API. Images are made the way the image code leaves them (a dataset with an
// @image snapshot, or a clone of another image's snapshot, plus a row written through the
// store file while kleened runs: SQLite's WAL allows the second writer); containers and mounts
// are rows only, as the container code will write them.
#include <filesystem>
#include <memory>
#include <thread>

#include "container_fixture.hpp"
#include "image/image.hpp"
#include "store/store.hpp"
#include "util/time.hpp"

namespace kleene::it {
namespace {

class ImagesVolumesTest : public PoolKleenedTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(start_on_pool());
    auto store = store::Store::open(daemon.config()["metadata_db"].get<std::string>());
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
  }

  void TearDown() override {
    store_.reset();
    if (daemon.running()) {
      EXPECT_TRUE(daemon.stop());
    }
    expect_only_root_datasets();
    pool_.reset();
  }

  ProcessResult klee(std::vector<std::string> args) {
    args.insert(args.begin(), {"--host", unix_host(), "--theme", "simple"});
    return run_klee(args);
  }

  std::string image_dataset(const std::string& id) const { return root_ + "/image/" + id; }

  // An image dataset with its @image snapshot (a clone of `parent`'s when given) and its row.
  image::Image make_image(const std::string& id, const std::string& name = {},
                          const std::string& tag = {}, const std::string& parent = {}) {
    image::Image image{.id = id, .name = name, .tag = name.empty() ? "" : tag};
    image.dataset = image_dataset(id);
    image.created = iso8601_now();
    if (parent.empty()) {
      EXPECT_TRUE(pool_->zfs({"create", image.dataset}));
    } else {
      image.parent_snapshot = image_dataset(parent) + "@image";
      EXPECT_TRUE(pool_->zfs({"clone", image.parent_snapshot, image.dataset}));
    }
    EXPECT_TRUE(pool_->zfs({"snapshot", image.dataset + "@image"}));
    auto inserted = image::ImageRepository(*store_).insert(image);
    EXPECT_TRUE(inserted) << inserted.error().message;
    return image;
  }

  void sql(const std::string& statement) {
    auto done = store_->exec(statement);
    ASSERT_TRUE(done) << done.error().message;
  }
  void add_container(const std::string& id, const std::string& name, const std::string& image) {
    sql("INSERT INTO containers (id, name, image_id, created) VALUES ('" + id + "', '" + name +
        "', '" + image + "', '" + iso8601_now() + "')");
  }
  void add_volume_mount(const std::string& container, const std::string& volume) {
    sql("INSERT INTO mounts (container_id, type, source, destination, volume) VALUES ('" +
        container + "', 'volume', '" + volume + "', '/data', '" + volume + "')");
  }

  // zfs-fuse refuses the first destroy of a freshly made dataset ("dataset is busy") and gives
  // no signal for when it stops being busy: bounded backoff, as tests/support does for pools.
  static Result<std::string> destroy_dataset(const test::TestPool& pool, const std::string& name) {
    auto destroyed = pool.zfs({"destroy", "-r", name});
    for (int attempt = 0; !destroyed && attempt < 6; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20 << attempt));
      destroyed = pool.zfs({"destroy", "-r", name});
    }
    return destroyed;
  }

  bool exists(const std::string& dataset) const {
    const auto all = pool_->list_all();
    return std::ranges::find(all, dataset) != all.end();
  }

  json inspect_image(const std::string& ident) {
    auto r = klee({"image", "inspect", ident});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    return json::parse(r.out, nullptr, false);
  }

  std::unique_ptr<store::Store> store_;
};

// The ids of the images `klee image ls` lists (first column, header and rule left out).
std::set<std::string> listed_ids(const ProcessResult& r) {
  auto ids = first_column(r.out);
  std::erase_if(ids, [](const std::string& s) { return s.size() != 12; });
  return ids;
}

std::set<std::string> lines(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.insert(line);
  return out;
}

TEST_F(ImagesVolumesTest, ImageListInspectAndLookupErrors) {
  auto empty = klee({"image", "ls"});
  ASSERT_EQ(empty.exit_code, 0) << describe(empty);
  EXPECT_EQ(empty.out, " ID | NAME | TAG | CREATED \n----+------+-----+---------\n");

  make_image("abc111111111", "base", "latest");
  make_image("abc222222222");

  for (const char* words : {"ls", "list"}) {
    auto r = klee({"image", words});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(listed_ids(r), (std::set<std::string>{"abc111111111", "abc222222222"}));
    EXPECT_TRUE(contains(r.out, "| base ")) << r.out;
    EXPECT_TRUE(contains(r.out, "| latest ")) << r.out;
    EXPECT_TRUE(contains(r.out, " ago ")) << r.out;
  }
  EXPECT_EQ(listed_ids(klee({"lsi"})), (std::set<std::string>{"abc111111111", "abc222222222"}));

  // By name (tag "latest"), name:tag, full id and unique prefix.
  for (const char* ident : {"base", "base:latest", "abc111111111", "abc1"}) {
    auto image = inspect_image(ident);
    EXPECT_EQ(image["id"], "abc111111111") << ident;
    EXPECT_EQ(image["dataset"], image_dataset("abc111111111"));
    EXPECT_EQ(image["cmd"], json::array({"/bin/sh"}));
    EXPECT_EQ(image["user"], "root");
  }
  auto by_shortcut = klee({"isi", "abc2"});
  ASSERT_EQ(by_shortcut.exit_code, 0) << describe(by_shortcut);
  EXPECT_EQ(json::parse(by_shortcut.out)["id"], "abc222222222");

  auto unknown = klee({"image", "inspect", "nothere"});
  EXPECT_EQ(unknown.exit_code, 1) << describe(unknown);
  EXPECT_EQ(unknown.err, "No such image\n");
  auto wrong_tag = klee({"image", "inspect", "base:13"});
  EXPECT_EQ(wrong_tag.err, "No such image\n");

  auto ambiguous = klee({"image", "inspect", "abc"});
  EXPECT_EQ(ambiguous.exit_code, 1);
  EXPECT_EQ(ambiguous.err,
            "ambiguous image identifier 'abc' matches: abc111111111 (base), abc222222222\n");

  auto raw = http_unix(daemon.socket_path(), "GET", "/images/nothere/inspect");
  EXPECT_EQ(raw.status, 404);
  EXPECT_EQ(json::parse(raw.body), (json{{"message", "No such image"}}));

  ASSERT_EQ(klee({"image", "rm", "abc1", "abc2"}).exit_code, 0);
}

TEST_F(ImagesVolumesTest, ImageTagMovesTheNametag) {
  make_image("aaaaaaaaaaa1", "base", "latest");
  make_image("bbbbbbbbbbb2");

  auto tagged = klee({"image", "tag", "bbbbbbbbbbb2", "base"});
  ASSERT_EQ(tagged.exit_code, 0) << describe(tagged);
  EXPECT_EQ(tagged.out, "bbbbbbbbbbb2\n");
  EXPECT_EQ(inspect_image("base")["id"], "bbbbbbbbbbb2");
  auto old = inspect_image("aaaaaaaaaaa1");
  EXPECT_EQ(old["name"], "");
  EXPECT_EQ(old["tag"], "");

  ASSERT_EQ(klee({"image", "tag", "base", "base:v1.0.test"}).exit_code, 0);
  EXPECT_EQ(inspect_image("base:v1.0.test")["id"], "bbbbbbbbbbb2");
  EXPECT_EQ(klee({"image", "inspect", "base"}).err, "No such image\n");

  auto unknown = klee({"image", "tag", "nothere", "x:y"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.err, "Error: No such image: nothere\n\n");

  auto invalid = klee({"image", "tag", "bbbbbbbbbbb2", "x:.bad"});
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_TRUE(contains(invalid.err, "/nametag: invalid tag in nametag 'x:.bad'"))
      << describe(invalid);

  auto missing = http_unix(daemon.socket_path(), "POST", "/images/bbbbbbbbbbb2/tag");
  EXPECT_EQ(missing.status, 422);
  EXPECT_TRUE(contains(missing.body, "Missing field: nametag")) << missing.body;

  ASSERT_EQ(klee({"rmi", "aaaaaaaaaaa1", "bbbbbbbbbbb2"}).exit_code, 0);
}

TEST_F(ImagesVolumesTest, ImageRemove) {
  make_image("aaaaaaaaaaa1", "one", "latest");
  make_image("bbbbbbbbbbb2");
  make_image("ccccccccccc3");

  auto removed = klee({"image", "rm", "one", "bbbb"});
  ASSERT_EQ(removed.exit_code, 0) << describe(removed);
  EXPECT_EQ(removed.out, "one\nbbbb\n");  // Kleene echoes the identifiers given
  EXPECT_FALSE(exists(image_dataset("aaaaaaaaaaa1")));
  EXPECT_FALSE(exists(image_dataset("bbbbbbbbbbb2") + "@image"));

  // Several at once stop at the first failure.
  make_image("ddddddddddd4");
  auto partial = klee({"rmi", "ccccccccccc3", "nothere", "ddddddddddd4"});
  EXPECT_EQ(partial.exit_code, 1);
  EXPECT_EQ(partial.out, "ccccccccccc3\n");
  EXPECT_EQ(partial.err, "Error: No such image: nothere\n\n");
  EXPECT_EQ(listed_ids(klee({"lsi"})), (std::set<std::string>{"ddddddddddd4"}));

  ASSERT_EQ(klee({"rmi", "ddddddddddd4"}).exit_code, 0);

  // A row whose dataset is already gone (a crash half-way) is still removed.
  image::Image orphan_row{.id = "eeeeeeeeeee5", .dataset = image_dataset("eeeeeeeeeee5")};
  orphan_row.created = iso8601_now();
  ASSERT_TRUE(image::ImageRepository(*store_).insert(orphan_row));
  auto orphan = klee({"image", "rm", "eeeeeeeeeee5"});
  EXPECT_EQ(orphan.exit_code, 0) << describe(orphan);
  EXPECT_TRUE(listed_ids(klee({"lsi"})).empty());

  auto raw = http_unix(daemon.socket_path(), "DELETE", "/images/nothere");
  EXPECT_EQ(raw.status, 404);
  EXPECT_EQ(json::parse(raw.body), (json{{"message", "Error: No such image: nothere\n"}}));
}

TEST_F(ImagesVolumesTest, ImageRemoveRefusedWhileSomethingDependsOnIt) {
  make_image("aaaaaaaaaaa1", "base", "latest");
  make_image("bbbbbbbbbbb2", "child", "1", "aaaaaaaaaaa1");
  add_container("c00000000001", "web", "bbbbbbbbbbb2");

  auto parent = klee({"image", "rm", "base"});
  EXPECT_EQ(parent.exit_code, 1);
  EXPECT_EQ(parent.err,
            "cannot remove image aaaaaaaaaaa1: images bbbbbbbbbbb2 (child:1) are built on it\n");
  auto child = klee({"image", "rm", "child:1"});
  EXPECT_EQ(child.exit_code, 1);
  EXPECT_EQ(child.err,
            "cannot remove image bbbbbbbbbbb2: it is used by containers c00000000001 (web)\n");
  auto raw = http_unix(daemon.socket_path(), "DELETE", "/images/bbbbbbbbbbb2");
  EXPECT_EQ(raw.status, 409);
  EXPECT_TRUE(exists(image_dataset("aaaaaaaaaaa1") + "@image"));
  EXPECT_TRUE(exists(image_dataset("bbbbbbbbbbb2") + "@image"));

  sql("DELETE FROM containers");
  ASSERT_EQ(klee({"image", "rm", "child:1", "base"}).exit_code, 0);
}

TEST_F(ImagesVolumesTest, ImagePrune) {
  make_image("aaaaaaaaaaa1", "tagged", "latest");  // tagged leaf
  make_image("bbbbbbbbbbb2");                      // untagged leaf
  make_image("ccccccccccc3");                      // untagged, parent of an untagged image
  make_image("ddddddddddd4", "", "", "ccccccccccc3");
  make_image("eeeeeeeeeee5");  // untagged, parent of a tagged image
  make_image("fffffffffff6", "kid", "latest", "eeeeeeeeeee5");
  make_image("aaaaaaaaaa07");  // untagged, used by a container
  add_container("c00000000001", "web", "aaaaaaaaaa07");

  auto aborted = klee({"image", "prune"});  // stdin is /dev/null: no answer
  EXPECT_EQ(aborted.exit_code, 1);
  EXPECT_EQ(aborted.out,
            "WARNING! This will remove all unused images.\n"
            "Are you sure you want to continue? [y/N]: ");
  EXPECT_EQ(aborted.err, "Aborted!\n");
  EXPECT_EQ(listed_ids(klee({"lsi"})).size(), 7u);

  // Untagged only, repeated until nothing changes: the parent goes after its child.
  auto dangling = klee({"image", "prune", "-f"});
  ASSERT_EQ(dangling.exit_code, 0) << describe(dangling);
  EXPECT_EQ(lines(dangling.out),
            (std::set<std::string>{"bbbbbbbbbbb2", "ccccccccccc3", "ddddddddddd4"}));
  EXPECT_LT(dangling.out.find("ddddddddddd4"), dangling.out.find("ccccccccccc3"));

  auto all = klee({"image", "prune", "--all", "--force"});
  ASSERT_EQ(all.exit_code, 0) << describe(all);
  EXPECT_EQ(lines(all.out),
            (std::set<std::string>{"aaaaaaaaaaa1", "fffffffffff6", "eeeeeeeeeee5"}));
  EXPECT_EQ(listed_ids(klee({"lsi"})), (std::set<std::string>{"aaaaaaaaaa07"}));

  auto nothing = klee({"image", "prune", "-a", "-f"});
  EXPECT_EQ(nothing.exit_code, 0);
  EXPECT_EQ(nothing.out, "\n");

  auto no_all = http_unix(daemon.socket_path(), "POST", "/images/prune");
  EXPECT_EQ(no_all.status, 422);
  auto bad_all = http_unix(daemon.socket_path(), "POST", "/images/prune?all=maybe");
  EXPECT_EQ(bad_all.status, 422);
  auto api = http_unix(daemon.socket_path(), "POST", "/images/prune?all=false");
  EXPECT_EQ(api.status, 200);
  EXPECT_EQ(json::parse(api.body), json::array());

  sql("DELETE FROM containers");
  ASSERT_EQ(klee({"image", "prune", "-f"}).out, "aaaaaaaaaa07\n");
}

TEST_F(ImagesVolumesTest, Volumes) {
  auto created = klee({"volume", "create", "data"});
  ASSERT_EQ(created.exit_code, 0) << describe(created);
  EXPECT_EQ(created.out, "data\n");
  EXPECT_TRUE(exists(root_ + "/volumes/data"));
  auto again = klee({"volume", "create", "data"});  // idempotent
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(again.out, "data\n");
  ASSERT_EQ(klee({"volume", "create", "free"}).exit_code, 0);

  auto invalid = klee({"volume", "create", "../x"});
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_TRUE(contains(invalid.err, "/name: invalid volume name '../x'")) << describe(invalid);
  auto missing = http_unix(daemon.socket_path(), "POST", "/volumes/create", "{}");
  EXPECT_EQ(missing.status, 422);

  for (const char* words : {"ls", "list"}) {
    auto r = klee({"volume", words});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_TRUE(r.out.starts_with(" VOLUME NAME | CREATED ")) << r.out;
    EXPECT_TRUE(contains(r.out, " data ")) << r.out;
    EXPECT_TRUE(contains(r.out, " free ")) << r.out;
    EXPECT_TRUE(contains(r.out, " ago ")) << r.out;
  }
  EXPECT_TRUE(contains(klee({"lsv"}).out, " data "));

  auto inspected = klee({"volume", "inspect", "data"});
  ASSERT_EQ(inspected.exit_code, 0) << describe(inspected);
  auto body = json::parse(inspected.out);
  EXPECT_EQ(body["volume"]["name"], "data");
  EXPECT_EQ(body["volume"]["dataset"], root_ + "/volumes/data");
  EXPECT_TRUE(std::filesystem::is_directory(body["volume"]["mountpoint"].get<std::string>()));
  EXPECT_EQ(body["mountpoints"], json::array());
  EXPECT_EQ(klee({"isv", "nothere"}).err, "No such volume\n");

  // Mounted in a container: kept by rm and prune, and inspect shows the mount.
  make_image("aaaaaaaaaaa1");
  add_container("c00000000001", "web", "aaaaaaaaaaa1");
  add_volume_mount("c00000000001", "data");
  auto mounted = json::parse(klee({"isv", "data"}).out);
  EXPECT_EQ(mounted["mountpoints"], json::array({json{{"container_id", "c00000000001"},
                                                      {"type", "volume"},
                                                      {"source", "data"},
                                                      {"destination", "/data"},
                                                      {"read_only", false}}}));
  auto refused = klee({"volume", "rm", "data"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err,
            "cannot remove volume data: it is mounted in containers c00000000001 (web)\n");
  EXPECT_EQ(http_unix(daemon.socket_path(), "DELETE", "/volumes/data").status, 409);

  auto aborted = klee({"volume", "prune"});
  EXPECT_EQ(aborted.exit_code, 1);
  EXPECT_EQ(aborted.out,
            "WARNING! This will remove all unused volumes.\n"
            "Are you sure you want to continue? [y/N]: ");
  auto pruned = klee({"volume", "prune", "-f"});
  ASSERT_EQ(pruned.exit_code, 0) << describe(pruned);
  EXPECT_EQ(pruned.out, "free\n");
  EXPECT_FALSE(exists(root_ + "/volumes/free"));
  EXPECT_TRUE(exists(root_ + "/volumes/data"));

  sql("DELETE FROM containers");
  ASSERT_EQ(klee({"volume", "create", "other"}).exit_code, 0);
  auto removed = klee({"rmv", "data", "nothere", "other"});
  EXPECT_EQ(removed.exit_code, 1);
  EXPECT_EQ(removed.out, "data\n");
  EXPECT_EQ(removed.err, "No such volume\n");
  EXPECT_FALSE(exists(root_ + "/volumes/data"));
  EXPECT_EQ(klee({"volume", "rm", "other"}).out, "other\n");
  EXPECT_EQ(klee({"volume", "prune", "-f"}).out, "\n");
  ASSERT_EQ(klee({"image", "rm", "aaaaaaaaaaa1"}).exit_code, 0);
}

// An image made by kleened itself (image create zfs-copy) is listed, re-tagged and removed
// with its dataset and snapshot; re-using its name:tag for a second image moves it.
TEST_F(ImagesVolumesTest, CreatedImagesLifecycle) {
  const std::string source = pool_->dataset("klsource");
  ASSERT_TRUE(pool_->zfs({"create", source}));
  struct DestroySource {  // also when an assertion ends the test early
    const test::TestPool& pool;
    std::string name;
    ~DestroySource() { EXPECT_TRUE(destroy_dataset(pool, name)); }
  } destroy_source{*pool_, source};
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    auto created = klee({"image", "create", "-t", "made:1", "zfs-copy", source});
    ASSERT_EQ(created.exit_code, 0) << describe(created);
    auto listed = klee({"image", "ls"});
    for (const auto& id : listed_ids(listed))
      if (std::ranges::find(ids, id) == ids.end()) ids.push_back(id);
  }
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(inspect_image("made:1")["id"], ids[1]);
  EXPECT_EQ(inspect_image(ids[0])["name"], "");

  ASSERT_EQ(klee({"image", "tag", ids[0], "made:0"}).exit_code, 0);
  auto removed = klee({"rmi", "made:0", "made:1"});
  ASSERT_EQ(removed.exit_code, 0) << describe(removed);
  EXPECT_TRUE(listed_ids(klee({"lsi"})).empty());
}

// Without a usable storage backend kleened still serves, and says why these routes cannot.
TEST_F(KleenedTest, ImagesAndVolumesNeedStorage) {
  daemon.config()["storage_driver"] = "klnosuchdriver";
  ASSERT_TRUE(daemon.start());
  for (std::vector<std::string> args :
       {std::vector<std::string>{"image", "ls"}, {"volume", "create", "x"}, {"volume", "ls"}}) {
    args.insert(args.begin(), {"--host", unix_host()});
    auto r = run_klee(args);
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_TRUE(r.err.starts_with("storage is not ready: ")) << describe(r);
    EXPECT_TRUE(r.err.ends_with("; run 'kleened init'\n")) << describe(r);
  }
}

}  // namespace
}  // namespace kleene::it

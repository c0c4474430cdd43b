// Names from API bodies are hostile: the plugin refuses anything that is not a plain dataset
// or snapshot name before any zfs command runs.
#include "fixture.hpp"

namespace kleene::storage::testing {
namespace {

const std::vector<std::string> kBadNames = {
    "",         "-rf",        "-o",        "pool/-x",    "pool//x",
    "pool/",    "/pool",      "pool/../x", "pool/./x",   "pool/a b",
    "pool/a;b", "pool/a$(x)", "pool/a\nb", "pool/é",     "1pool/x",
    "pool@-x",  "pool@a@b",   "pool@",     "pool/a@b/c", std::string(300, 'a')};

TEST_F(StorageTest, HostileNamesAreRefusedByEveryOperation) {
  for (const auto& bad : kBadNames) {
    SCOPED_TRACE("name: " + bad);
    auto check = [&](const auto& result) {
      ASSERT_FALSE(result);
      EXPECT_EQ(result.error().code, EINVAL) << result.error().message;
    };
    check(storage_->create_dataset(bad));
    check(storage_->destroy(bad, true));
    check(storage_->snapshot(bad));
    check(storage_->clone(bad, ds("container/c")));
    check(storage_->clone(ds("image@x"), bad));
    check(storage_->rename(bad, ds("image/x")));
    check(storage_->rename(ds("image"), bad));
    check(storage_->list_snapshots(bad));
    check(storage_->list_clones(bad));
    check(storage_->mountpoint(bad));
    check(storage_->copy(bad, ds("image/x")));
    check(storage_->copy(ds("image"), bad));
    check(storage_->exists(bad));
  }
}

TEST_F(StorageTest, KindsOfNamesAreChecked) {
  auto check = [&](const auto& result) {
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, EINVAL) << result.error().message;
  };
  check(storage_->snapshot(ds("image")));                      // no @
  check(storage_->clone(ds("image"), ds("container/c")));      // not a snapshot
  check(storage_->clone(ds("image@a"), ds("container/c@b")));  // target a snapshot
  check(storage_->list_snapshots(ds("image@a")));              // a snapshot
  check(storage_->mountpoint(ds("image@a")));
  check(storage_->rename(ds("image@a"), ds("container@a")));  // across datasets
  check(storage_->create_dataset(ds("image@a")));
}

TEST_F(StorageTest, AMalformedRequestIsInvalid) {
  auto no_name = plugin_->call("create_dataset", nlohmann::json::object());
  ASSERT_FALSE(no_name);
  EXPECT_EQ(no_name.error().code, EINVAL);
  auto number = plugin_->call("destroy", {{"name", 42}});
  ASSERT_FALSE(number);
  EXPECT_EQ(number.error().code, EINVAL);
}

TEST_F(StorageTest, NamesWithAllAllowedCharactersWork) {
  const std::string name = ds("volumes/Vol_1.2:3-x");
  ASSERT_TRUE(storage_->create_dataset(name));
  ASSERT_TRUE(storage_->snapshot(name + "@s-1_2.3:4"));
  ASSERT_TRUE(storage_->destroy(name, true));
}

}  // namespace
}  // namespace kleene::storage::testing

// The loader's refusals, each one log line naming the file and the reason, and the
// older-minor rule, with the crafted fixtures from fixtures/crafted.c.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "plugin/registry.hpp"
#include "test_support.hpp"

namespace kleene::plugin {
namespace {

const std::string kAbi =
    std::to_string(KLEENE_PLUGIN_ABI_MAJOR) + "." + std::to_string(KLEENE_PLUGIN_ABI_MINOR);

using test::fixture;
using test::LogCapture;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// Loads one fixture into a fresh registry and expects a refusal whose reason contains `reason`,
// logged as exactly one warning line naming the file.
void expect_refused(const std::string& name, const std::string& reason) {
  LogCapture log;
  Registry registry;
  const auto path = fixture(name);
  auto result = registry.load_file(path);
  ASSERT_FALSE(result.has_value()) << name << " was loaded";
  EXPECT_THAT(result.error().message, HasSubstr(path.string()));
  EXPECT_THAT(result.error().message, HasSubstr(reason));
  ASSERT_THAT(registry.refusals(), SizeIs(1));
  EXPECT_EQ(registry.refusals()[0].path, path);
  EXPECT_THAT(registry.refusals()[0].reason, HasSubstr(reason));
  EXPECT_TRUE(registry.list().empty());
  const auto warnings = log.lines("warning");
  ASSERT_THAT(warnings, SizeIs(1)) << "one log line per refusal";
  EXPECT_THAT(warnings[0], HasSubstr(path.string()));
  EXPECT_THAT(warnings[0], HasSubstr(reason));
}

TEST(Loader, RefusesAnotherMajor) {
  expect_refused("craft_wrong_major", "built for plugin ABI 2.x, kleened supports 1.x");
}

TEST(Loader, RefusesMissingEntryPoint) {
  expect_refused("craft_no_entry", "no entry point kleene_plugin_entry");
}

TEST(Loader, RefusesNullDescriptor) {
  expect_refused("craft_null_entry", "entry point returned NULL");
}

TEST(Loader, RefusesUnresolvedSymbols) {
  expect_refused("craft_unresolved", "kleene_craft_no_such_symbol");
}

TEST(Loader, RefusesNonElfFile) {
  test::TempDir temp;
  const auto& dir = temp.path();
  const auto path = dir / "kleene-bogus.so";
  std::ofstream(path) << "not an ELF file\n";
  Registry registry;
  auto result = registry.load_file(path);
  ASSERT_FALSE(result.has_value());
  EXPECT_THAT(result.error().message, HasSubstr("cannot load"));
  EXPECT_THAT(result.error().message, HasSubstr(path.string()));
}

// A plugin file or directory others can write is a way to root: refused.
TEST(Loader, RefusesAPluginOthersCanWrite) {
  test::TempDir temp;
  const auto file = temp.path() / "open.so";
  std::filesystem::copy_file(fixture("craft_good"), file);
  ::chmod(file.c_str(), 0666);
  Registry registry;
  auto loaded = registry.load_file(file);
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.error().message, HasSubstr("is writable by others (mode 0666)"));
  ::chmod(file.c_str(), 0644);
  ::chmod(temp.path().c_str(), 0777);
  auto in_open_dir = registry.load_file(file);
  ASSERT_FALSE(in_open_dir);
  EXPECT_THAT(in_open_dir.error().message, HasSubstr("is writable by others (mode 0777)"));
  ::chmod(temp.path().c_str(), 0755);
  EXPECT_TRUE(registry.load_file(file));
}

TEST(Loader, RefusesAPluginOfAnotherUser) {
  test::TempDir temp;
  const auto file = temp.path() / "theirs.so";
  std::filesystem::copy_file(fixture("craft_good"), file);
  ASSERT_EQ(::chown(file.c_str(), 65534, 65534), 0) << "the unit tests run as root";
  Registry registry;
  auto loaded = registry.load_file(file);
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.error().message, HasSubstr("belongs to uid 65534"));
}

// A plugin that crashes or exits while it loads is tried in a child first: kleened lives on.
TEST(Loader, RefusesAPluginThatCrashesInItsEntryPoint) {
  expect_refused("craft_crash_entry", "crashed while loading (signal 11");
}

TEST(Loader, RefusesAPluginThatAbortsInCreate) {
  expect_refused("craft_crash_create", "crashed while loading (signal 6");
}

TEST(Loader, RefusesAPluginThatExitsInCreate) {
  expect_refused("craft_exit_create", "exited with status 7 while loading");
}

TEST(Loader, ACrashingPluginDoesNotStopTheOthersLoading) {
  Registry registry;
  EXPECT_FALSE(registry.load_file(fixture("craft_crash_entry")));
  ASSERT_TRUE(registry.load_file(fixture("craft_good")));
  ASSERT_THAT(registry.list(), SizeIs(1));
  EXPECT_EQ(registry.list()[0].name, "crafted");
  EXPECT_THAT(registry.refusals(), SizeIs(1));
}

TEST(Loader, RefusesDescriptorFromNewerMinor) {
  expect_refused("craft_big_descriptor", "built against a newer ABI minor");
}

TEST(Loader, RefusesOpsTableFromNewerMinor) {
  expect_refused("craft_big_ops", "built against a newer ABI minor");
}

TEST(Loader, RefusesDescriptorTooSmall) {
  expect_refused("craft_small_descriptor", "struct_size 12 is too small");
}

TEST(Loader, RefusesUnknownKind) {
  expect_refused("craft_bad_kind", "unknown plugin kind 9");
}

TEST(Loader, RefusesInvalidName) {
  expect_refused("craft_bad_name", "missing or invalid name");
  expect_refused("craft_no_name", "missing or invalid name");
}

TEST(Loader, RefusesDuplicateNameNamingTheFirst) {
  LogCapture log;
  Registry registry;
  ASSERT_TRUE(registry.load_file(fixture("craft_dup_a")).has_value());
  auto second = registry.load_file(fixture("craft_dup_b"));
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, EEXIST);
  ASSERT_THAT(registry.refusals(), SizeIs(1));
  EXPECT_EQ(registry.refusals()[0].path, fixture("craft_dup_b"));
  EXPECT_THAT(registry.refusals()[0].reason, HasSubstr("duplicate plugin name \"craft-dup\""));
  EXPECT_THAT(registry.refusals()[0].reason, HasSubstr(fixture("craft_dup_a").string()));
  EXPECT_THAT(registry.list(), SizeIs(1));
  EXPECT_EQ(registry.find("craft-dup")->info().path, fixture("craft_dup_a"));
}

TEST(Loader, LoadsGoodPluginAndReportsDescriptor) {
  LogCapture log;
  Registry registry;
  ASSERT_TRUE(registry.load_file(fixture("craft_good")).has_value());
  const auto infos = registry.list();
  ASSERT_THAT(infos, SizeIs(1));
  EXPECT_EQ(infos[0].name, "crafted");
  EXPECT_EQ(infos[0].kind, Kind::network);
  EXPECT_EQ(infos[0].version, "1.2.3");
  EXPECT_EQ(infos[0].description, "a crafted test plugin");
  EXPECT_EQ(infos[0].capability_names, (std::vector<std::string>{"ipv6", "bridge"}));
  EXPECT_EQ(to_json(infos[0]),
            nlohmann::json::parse(
                R"({"name":"crafted","kind":"network","version":"1.2.3",
              "abi":")" +
                kAbi + R"(","capabilities":["ipv6","bridge"],"description":"a crafted test plugin",
              "path":")" +
                fixture("craft_good").string() + R"("})"));
  EXPECT_THAT(log.lines("info"), ElementsAre(HasSubstr("loaded network plugin crafted 1.2.3")));
  EXPECT_EQ(registry.find("crafted", Kind::network), registry.find("crafted"));
  EXPECT_EQ(registry.find("crafted", Kind::storage), nullptr);
  EXPECT_EQ(registry.find("nope"), nullptr);
}

TEST(Loader, CallsOpsAndMapsStatuses) {
  Registry registry;
  ASSERT_TRUE(registry.load_file(fixture("craft_good")).has_value());
  LoadedPlugin* plugin = registry.find("crafted");
  ASSERT_NE(plugin, nullptr);

  const nlohmann::json request = {{"name", "kl-net"}, {"subnet", "10.13.0.0/24"}};
  auto echoed = plugin->call("create_network", request);
  ASSERT_TRUE(echoed.has_value()) << echoed.error().message;
  EXPECT_EQ(*echoed, request);

  auto missing = plugin->call("delete_network", request);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ENOENT);
  EXPECT_EQ(missing.error().message, "crafted: no such network");

  // A NULL entry in a full-size table is "not supported" and never called.
  EXPECT_FALSE(plugin->supports("delete_endpoint"));
  auto unsupported = plugin->call("delete_endpoint", request);
  ASSERT_FALSE(unsupported.has_value());
  EXPECT_EQ(unsupported.error().code, ENOSYS);

  EXPECT_FALSE(plugin->supports("no_such_op"));
  EXPECT_FALSE(plugin->supports("build"));  // an op of another kind
}

TEST(Loader, OlderMinorLoadsAndLacksLaterOps) {
  Registry registry;
  ASSERT_TRUE(registry.load_file(fixture("craft_old_minor")).has_value());
  LoadedPlugin* plugin = registry.find("old-minor");
  ASSERT_NE(plugin, nullptr);
  EXPECT_TRUE(plugin->supports("join"));
  // `leave` lies past the plugin's ops struct_size; calling it would abort the test.
  EXPECT_FALSE(plugin->supports("leave"));
  auto result = plugin->call("leave", nlohmann::json::object());
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ENOSYS);
  EXPECT_THAT(result.error().message, HasSubstr("old-minor: leave is not supported"));
  EXPECT_TRUE(plugin->call("join", nlohmann::json::object()).has_value());
}

TEST(Loader, LoadsDirectoriesSortedAndSkipsWhatIsNotAPlugin) {
  test::TempDir temp;
  const auto& dir = temp.path();
  // Names chosen so the sorted order differs from the creation order.
  std::filesystem::copy_file(fixture("craft_dup_b"), dir / "b-dup.so");
  std::filesystem::copy_file(fixture("craft_dup_a"), dir / "a-dup.so");
  std::filesystem::copy_file(fixture("craft_wrong_major"), dir / "c-major.so");
  std::ofstream(dir / "README.txt") << "not a plugin\n";
  std::filesystem::create_directory(dir / "d.so");
  std::filesystem::create_symlink(dir / "nowhere.so", dir / "e-dangling.so");

  LogCapture log;
  Registry registry;
  registry.load_directories({dir, dir / "missing"});
  const auto infos = registry.list();
  ASSERT_THAT(infos, SizeIs(1));
  EXPECT_EQ(infos[0].path, dir / "a-dup.so");
  ASSERT_THAT(registry.refusals(), SizeIs(2));
  EXPECT_EQ(registry.refusals()[0].path, dir / "b-dup.so");
  EXPECT_EQ(registry.refusals()[1].path, dir / "c-major.so");
  const auto warnings = log.lines("warning");
  ASSERT_THAT(warnings, SizeIs(3));  // two refusals and the missing directory
  EXPECT_THAT(warnings[2], HasSubstr((dir / "missing").string()));
}

}  // namespace
}  // namespace kleene::plugin

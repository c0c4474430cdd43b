// ImageCreateConfig casting and the host-release detection for fetch-auto.
#include <gtest/gtest.h>

#include <fstream>

#include "image/create/create_config.hpp"
#include "image/create/host_release.hpp"
#include "temp_tree.hpp"

namespace kleene::image::test {
namespace {

TEST(CreateConfigTest, DefaultsAsKleene) {
  auto c = parse_create_config({{"method", "fetch-auto"}});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->dns);
  EXPECT_TRUE(c->localtime);
  EXPECT_TRUE(c->update);
  EXPECT_FALSE(c->autotag);
  EXPECT_FALSE(c->force);
  EXPECT_EQ(c->tag, "");
}

TEST(CreateConfigTest, ReadsEveryField) {
  auto c = parse_create_config({{"method", "fetch"},
                                {"url", "http://x/y"},
                                {"tag", "a:b"},
                                {"dns", false},
                                {"localtime", false},
                                {"update", false},
                                {"autotag", true},
                                {"force", true},
                                {"unknown", 1}});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->url, "http://x/y");
  EXPECT_EQ(c->tag, "a:b");
  EXPECT_FALSE(c->dns);
  EXPECT_TRUE(c->force);
}

TEST(CreateConfigTest, CastErrors) {
  auto message = [](const nlohmann::json& j) {
    auto c = parse_create_config(j);
    EXPECT_FALSE(c);
    return c ? std::string() : c.error().message;
  };
  EXPECT_EQ(message({{"url", "x"}}), "Missing field: method");
  EXPECT_EQ(message({{"method", "pull"}}), "Invalid value for enum (method)");
  EXPECT_EQ(message({{"method", 3}}), "Invalid string. Got: integer (method)");
  EXPECT_EQ(message({{"method", "fetch-auto"}, {"dns", "yes"}}),
            "Invalid boolean. Got: string (dns)");
  EXPECT_EQ(message({{"method", "fetch"}}), "url is required for method fetch");
  EXPECT_EQ(message({{"method", "zfs-clone"}}), "zfs_dataset is required for method zfs-clone");
  EXPECT_EQ(message({{"method", "fetch-auto"}, {"tag", "Bad Name:x"}}).rfind("invalid tag", 0), 0u);
}

TEST(HostReleaseTest, ParsesOsRelease) {
  auto os = parse_os_release(
      "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n"
      "VERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n# comment\n");
  EXPECT_EQ(os.id, "debian");
  EXPECT_EQ(os.name, "Debian GNU/Linux");
  EXPECT_EQ(os.version_id, "12");
  EXPECT_EQ(os.codename, "bookworm");
}

TEST(HostReleaseTest, ParsesOneLineSources) {
  auto sources = parse_sources_list(
      "# deb http://commented/ bookworm main\n"
      "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main contrib\n"
      "deb-src http://src.example/debian bookworm main\n"
      "deb http://security.example/debian-security bookworm-security main # trailing\n");
  ASSERT_EQ(sources.size(), 2u);
  EXPECT_EQ(sources[0].uri, "http://mirror.example/debian");
  EXPECT_EQ(sources[0].suites, std::vector<std::string>{"bookworm"});
  EXPECT_EQ(sources[0].components, (std::vector<std::string>{"main", "contrib"}));
  EXPECT_EQ(sources[1].suites, std::vector<std::string>{"bookworm-security"});
}

TEST(HostReleaseTest, ParsesDeb822Sources) {
  auto sources = parse_deb822_sources(
      "Types: deb deb-src\n# http://snapshot.example/\nURIs: http://deb.example/debian\n"
      "Suites: bookworm bookworm-updates\nComponents: main\nSigned-By: /k.gpg\n\n"
      "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n\n"
      "Types: deb-src\nURIs: http://src.example/\nSuites: bookworm\n");
  ASSERT_EQ(sources.size(), 1u);
  EXPECT_EQ(sources[0].uri, "http://deb.example/debian");
  EXPECT_EQ(sources[0].suites, (std::vector<std::string>{"bookworm", "bookworm-updates"}));
}

TEST(HostReleaseTest, DetectsReleaseAndMirror) {
  TempTree tree;
  const auto etc = tree.outside();
  std::ofstream(etc / "os-release") << "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n"
                                       "VERSION_CODENAME=bookworm\nID=debian\n";
  std::filesystem::create_directories(etc / "apt/sources.list.d");
  std::ofstream(etc / "apt/sources.list.d/debian.sources")
      << "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\nComponents: main\n";
  std::filesystem::create_directories(etc / "scripts");
  ReleasePaths paths{etc / "os-release", etc / "apt", etc / "scripts"};

  auto refused = detect_host_release(paths, false);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ENOTSUP);
  EXPECT_NE(refused.error().message.find("--force"), std::string::npos);

  std::ofstream(etc / "scripts/bookworm") << "";
  auto release = detect_host_release(paths, false);
  ASSERT_TRUE(release) << release.error().message;
  EXPECT_EQ(release->distro, "Debian");
  EXPECT_EQ(release->version, "12");
  EXPECT_EQ(release->codename, "bookworm");
  EXPECT_EQ(release->mirror, "http://mirror.example/debian");
  EXPECT_EQ(release->autotag(), "Debian-12:latest");

  std::filesystem::remove(etc / "apt/sources.list.d/debian.sources");
  EXPECT_EQ(detect_host_release(paths, false)->mirror, "http://deb.debian.org/debian");
}

}  // namespace
}  // namespace kleene::image::test

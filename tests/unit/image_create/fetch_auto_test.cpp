// fetch-auto: a Debian base image of the host's release built by debootstrap from the host's
// apt mirror. Downloads ~50 MB of packages and takes minutes, so it only runs when asked:
//   KLEENE_SLOW_TESTS=1 ctest --test-dir build -L slow --output-on-failure
#include <gtest/gtest.h>

#include <cstdlib>

#include "create_fixture.hpp"

namespace kleene::image::test {
namespace {

class FetchAutoTest : public CreateTest {
 protected:
  void SetUp() override {
    const char* slow = std::getenv("KLEENE_SLOW_TESTS");
    if (!slow || std::string(slow) != "1") GTEST_SKIP() << "set KLEENE_SLOW_TESTS=1 to run";
    if (!std::filesystem::exists("/usr/sbin/debootstrap")) GTEST_SKIP() << "no debootstrap";
    SetUpPool("2G");
  }
};

TEST_F(FetchAutoTest, BuildsTheHostReleaseWithAutotag) {
  auto release = detect_host_release(host_.release, false);
  ASSERT_TRUE(release) << release.error().message;
  CreateConfig config;
  config.method = "fetch-auto";
  config.autotag = true;
  auto image = create(config);
  ASSERT_TRUE(image) << image.error().message << "\n" << reporter_.all();
  EXPECT_EQ(image->name + ":" + image->tag, release->autotag());
  const auto root = mountpoint(*image);
  EXPECT_TRUE(std::filesystem::exists(root / "usr/bin/apt-get"));
  EXPECT_TRUE(std::filesystem::exists(root / "etc/debian_version"));
  EXPECT_EQ(read_in(*image, "etc/resolv.conf"), "nameserver 192.0.2.53\n");
  EXPECT_NE(reporter_.all().find("Created image from the automatically detected version: " +
                                 release->distro + "-" + release->version),
            std::string::npos);
  remove_image(*image);
}

}  // namespace
}  // namespace kleene::image::test

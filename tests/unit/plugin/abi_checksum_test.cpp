// Pins the plugin ABI header: any edit of abi.h must come with a version bump and a new line in
// kRecorded below (docs/plugins.md, "Changing the ABI").
#include <openssl/evp.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kleene/plugin/abi.h"

namespace {

struct RecordedAbi {
  uint32_t major;
  uint32_t minor;
  const char* sha256;  // of core/include/kleene/plugin/abi.h at that version
};

// One line per released ABI version, oldest first. Append; never edit an existing line.
constexpr RecordedAbi kRecorded[] = {
    {1, 0, "52dc783ea2748e8f4e030390abb342b59823f7182a5d872b5cf9af2de1c89348"},
    {1, 1, "f7c5c934f9cbe6b3b983bcad69f89ba3fa32aa811dc5f3204c7e407ceb490a69"},
    {1, 2, "3d8b8abdffd2a441f45acf0b17fe2f98fd209a451f073fa76f7289f2c309b411"},
};

std::string sha256_of_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  const std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (!in.good() && !in.eof()) return {};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(content.data(), content.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return {};
  }
  std::string hex;
  for (unsigned int i = 0; i < length; ++i)
    hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

TEST(AbiChecksum, HeaderMatchesItsVersion) {
  const std::string actual = sha256_of_file(KLEENE_ABI_HEADER);
  ASSERT_EQ(actual.size(), 64u) << "cannot read " << KLEENE_ABI_HEADER;
  const uint32_t major = KLEENE_PLUGIN_ABI_MAJOR;
  const uint32_t minor = KLEENE_PLUGIN_ABI_MINOR;
  const std::string new_line = fmt::format("{{{}, {}, \"{}\"}},", major, minor, actual);

  const RecordedAbi& latest = kRecorded[std::size(kRecorded) - 1];
  if (latest.major == major && latest.minor == minor) {
    EXPECT_EQ(actual, latest.sha256)
        << "abi.h changed but its version is still " << major << "." << minor
        << ". Bump KLEENE_PLUGIN_ABI_MINOR (fields appended) or KLEENE_PLUGIN_ABI_MAJOR (anything "
           "else), then append the line printed for the new version to kRecorded in "
        << __FILE__ << " (see docs/plugins.md, \"Changing the ABI\").";
    return;
  }
  for (const auto& recorded : kRecorded) {
    const bool older =
        recorded.major < major || (recorded.major == major && recorded.minor < minor);
    ASSERT_TRUE(older) << "ABI version " << major << "." << minor
                       << " is not newer than the recorded " << recorded.major << "."
                       << recorded.minor << ": versions only go up";
    ASSERT_NE(actual, recorded.sha256)
        << "abi.h is unchanged since " << recorded.major << "." << recorded.minor
        << ": do not bump the version without changing the ABI";
  }
  ADD_FAILURE() << "abi.h is now version " << major << "." << minor
                << ", which has no recorded checksum. If the bump is intended, append\n    "
                << new_line << "\nto kRecorded in " << __FILE__;
}

// The recorded versions themselves only go up, so history cannot be rewritten by accident.
TEST(AbiChecksum, RecordedVersionsIncrease) {
  for (std::size_t i = 1; i < std::size(kRecorded); ++i) {
    const auto& a = kRecorded[i - 1];
    const auto& b = kRecorded[i];
    EXPECT_TRUE(a.major < b.major || (a.major == b.major && a.minor < b.minor))
        << "kRecorded line " << i << " is not newer than the line before it";
  }
}

}  // namespace

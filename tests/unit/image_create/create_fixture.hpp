// Image creation on a real pool: a TestPool with the storage-zfs plugin and the root
// <pool>/kleene initialised, a temp SQLite store, fake host files. TearDown checks that the
// test left no dataset, snapshot or image row behind.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "image/create/create.hpp"
#include "plugin/registry.hpp"
#include "storage/storage.hpp"
#include "store/store.hpp"
#include "support/zfs_pool.hpp"

namespace kleene::image::test {

// Collects the frames and answers "cancelled" once `cancel_after` frames were sent.
class RecordingReporter : public Reporter {
 public:
  void info(std::string_view text) override { frames.emplace_back(text); }
  bool cancelled() override {
    return cancel_after >= 0 && frames.size() >= std::size_t(cancel_after);
  }
  std::string all() const {
    std::string out;
    for (const auto& f : frames)
      out += f;
    return out;
  }
  std::vector<std::string> frames;
  int cancel_after = -1;
};

class CreateTest : public ::testing::Test {
 protected:
  void SetUp() override { SetUpPool("256M"); }
  void SetUpPool(const std::string& size);
  void TearDown() override;

  // A fresh config with dns/localtime from the fake host files.
  Result<Image> create(const CreateConfig& config);
  // Remove an image the test created (dataset recursively, then the row).
  void remove_image(const Image& image);
  std::filesystem::path mountpoint(const Image& image);
  std::string read_in(const Image& image, const std::string& rel);
  std::size_t image_rows();

  std::unique_ptr<kleene::test::TestPool> pool_;
  std::unique_ptr<plugin::Registry> registry_;
  std::unique_ptr<storage::Storage> storage_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ImageRepository> images_;
  std::filesystem::path host_dir_;  // fake resolv.conf and localtime
  HostPaths host_;
  ExtractLimits limits_;
  RecordingReporter reporter_;
  std::vector<std::string> baseline_;
};

// The busybox rootfs tarball (tests/fixtures/make-busybox-rootfs), built once per run.
const std::filesystem::path& busybox_tarball();

}  // namespace kleene::image::test

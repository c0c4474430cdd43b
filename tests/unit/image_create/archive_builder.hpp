// Crafted tarballs for the extraction tests, written with libarchive's writer in memory.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <string>
#include <string_view>

namespace kleene::image::test {

enum class Compression { none, gzip, xz, zstd, bzip2 };

class ArchiveBuilder {
 public:
  explicit ArchiveBuilder(Compression compression = Compression::gzip);
  ~ArchiveBuilder();
  ArchiveBuilder(const ArchiveBuilder&) = delete;
  ArchiveBuilder& operator=(const ArchiveBuilder&) = delete;

  ArchiveBuilder& dir(std::string_view path, mode_t mode = 0755);
  ArchiveBuilder& file(std::string_view path, std::string_view content, mode_t mode = 0644);
  // A member that declares `size` bytes of zeros (written in chunks, so it compresses well).
  ArchiveBuilder& zeros(std::string_view path, uint64_t size);
  ArchiveBuilder& symlink(std::string_view path, std::string_view target);
  ArchiveBuilder& hardlink(std::string_view path, std::string_view target);
  ArchiveBuilder& device(std::string_view path, mode_t type, unsigned major_no, unsigned minor_no);

  // Finish and return the archive bytes.
  std::string finish();

 private:
  void header(archive_entry* entry);
  struct archive* writer_;
  std::string out_;
  bool finished_ = false;
};

// Write `bytes` to a file.
void write_file(const std::string& path, std::string_view bytes);

}  // namespace kleene::image::test

#include "archive_builder.hpp"

#include <sys/sysmacros.h>

#include <fstream>
#include <stdexcept>

namespace kleene::image::test {
namespace {

la_ssize_t on_write(struct archive*, void* out, const void* data, size_t size) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
  return static_cast<la_ssize_t>(size);
}

void check(int r, struct archive* a) {
  if (r < ARCHIVE_WARN) throw std::runtime_error(archive_error_string(a));
}

}  // namespace

ArchiveBuilder::ArchiveBuilder(Compression compression) : writer_(archive_write_new()) {
  archive_write_set_format_pax_restricted(writer_);
  switch (compression) {
    case Compression::none:
      break;
    case Compression::gzip:
      archive_write_add_filter_gzip(writer_);
      break;
    case Compression::xz:
      archive_write_add_filter_xz(writer_);
      break;
    case Compression::zstd:
      archive_write_add_filter_zstd(writer_);
      break;
    case Compression::bzip2:
      archive_write_add_filter_bzip2(writer_);
      break;
  }
  archive_write_set_bytes_in_last_block(writer_, 1);
  check(archive_write_open(writer_, &out_, nullptr, on_write, nullptr), writer_);
}

ArchiveBuilder::~ArchiveBuilder() {
  archive_write_free(writer_);
}

void ArchiveBuilder::header(archive_entry* entry) {
  archive_entry_set_uid(entry, 0);
  archive_entry_set_gid(entry, 0);
  archive_entry_set_mtime(entry, 1700000000, 0);
  check(archive_write_header(writer_, entry), writer_);
  archive_entry_free(entry);
}

ArchiveBuilder& ArchiveBuilder::dir(std::string_view path, mode_t mode) {
  auto* e = archive_entry_new();
  archive_entry_set_pathname(e, std::string(path).c_str());
  archive_entry_set_filetype(e, AE_IFDIR);
  archive_entry_set_perm(e, mode);
  header(e);
  return *this;
}

ArchiveBuilder& ArchiveBuilder::file(std::string_view path, std::string_view content, mode_t mode) {
  auto* e = archive_entry_new();
  archive_entry_set_pathname(e, std::string(path).c_str());
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, mode);
  archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
  header(e);
  archive_write_data(writer_, content.data(), content.size());
  return *this;
}

ArchiveBuilder& ArchiveBuilder::zeros(std::string_view path, uint64_t size) {
  auto* e = archive_entry_new();
  archive_entry_set_pathname(e, std::string(path).c_str());
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, static_cast<la_int64_t>(size));
  header(e);
  const std::string chunk(1 << 20, '\0');
  for (uint64_t left = size; left > 0;) {
    const auto n = static_cast<size_t>(std::min<uint64_t>(left, chunk.size()));
    archive_write_data(writer_, chunk.data(), n);
    left -= n;
  }
  return *this;
}

ArchiveBuilder& ArchiveBuilder::symlink(std::string_view path, std::string_view target) {
  auto* e = archive_entry_new();
  archive_entry_set_pathname(e, std::string(path).c_str());
  archive_entry_set_filetype(e, AE_IFLNK);
  archive_entry_set_perm(e, 0777);
  archive_entry_set_symlink(e, std::string(target).c_str());
  header(e);
  return *this;
}

ArchiveBuilder& ArchiveBuilder::hardlink(std::string_view path, std::string_view target) {
  auto* e = archive_entry_new();
  archive_entry_set_pathname(e, std::string(path).c_str());
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_hardlink(e, std::string(target).c_str());
  archive_entry_set_size(e, 0);
  header(e);
  return *this;
}

ArchiveBuilder& ArchiveBuilder::device(std::string_view path, mode_t type, unsigned major_no,
                                       unsigned minor_no) {
  auto* e = archive_entry_new();
  archive_entry_set_pathname(e, std::string(path).c_str());
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, 0666);
  archive_entry_set_rdev(e, makedev(major_no, minor_no));
  header(e);
  return *this;
}

std::string ArchiveBuilder::finish() {
  if (!finished_) {
    check(archive_write_close(writer_), writer_);
    finished_ = true;
  }
  return out_;
}

void write_file(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace kleene::image::test

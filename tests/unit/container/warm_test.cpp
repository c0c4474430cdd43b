// warm_start_files: what a container's first start reads, read ahead inside its root only.
#include "container/warm.hpp"

#include <elf.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace kleene::container {
namespace {

namespace fs = std::filesystem;
using Paths = std::vector<std::string>;

class WarmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = (fs::temp_directory_path() / "kl-warm.XXXXXX").string();
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    scratch_ = dir;
    root_ = scratch_ / "root";
    for (const char* d : {"bin", "etc", "lib"})
      fs::create_directories(root_ / d);
  }
  void TearDown() override { fs::remove_all(scratch_); }

  void write(const fs::path& where, const std::string& content) {
    std::ofstream(where, std::ios::binary) << content;
  }
  // A 64-bit ELF file whose PT_INTERP names `interpreter`.
  void write_elf(const fs::path& where, const std::string& interpreter) {
    Elf64_Ehdr header{};
    std::memcpy(header.e_ident, ELFMAG, SELFMAG);
    header.e_ident[EI_CLASS] = ELFCLASS64;
    header.e_phoff = sizeof header;
    header.e_phentsize = sizeof(Elf64_Phdr);
    header.e_phnum = 2;
    Elf64_Phdr load{};
    load.p_type = PT_LOAD;
    Elf64_Phdr interp{};
    interp.p_type = PT_INTERP;
    interp.p_offset = sizeof header + 2 * sizeof(Elf64_Phdr);
    interp.p_filesz = interpreter.size() + 1;
    std::string bytes(reinterpret_cast<const char*>(&header), sizeof header);
    bytes.append(reinterpret_cast<const char*>(&load), sizeof load);
    bytes.append(reinterpret_cast<const char*>(&interp), sizeof interp);
    bytes.append(interpreter.c_str(), interpreter.size() + 1);
    write(where, bytes);
  }

  fs::path scratch_;
  fs::path root_;
};

TEST_F(WarmTest, ReadsTheProgramFoundOnThePathItsInterpreterAndTheUserDatabase) {
  write_elf(root_ / "bin/prog", "/lib/ld-test.so");
  write(root_ / "lib/ld-test.so", "loader");
  write(root_ / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  write(root_ / "etc/group", "root:x:0:\n");
  EXPECT_EQ(warm_start_files(root_, {"prog", "-x"}, {"A=1", "PATH=:rel:/nope:/bin"}),
            (Paths{"/bin/prog", "/lib/ld-test.so", "/etc/passwd", "/etc/group"}));
}

TEST_F(WarmTest, AScriptsInterpreterIsReadToo) {
  write(root_ / "bin/sh", "shell");
  write(root_ / "bin/run", "#! /bin/sh -e\necho hi\n");
  EXPECT_EQ(warm_start_files(root_, {"/bin/run"}, {}), (Paths{"/bin/run", "/bin/sh"}));
}

TEST_F(WarmTest, SymlinksResolveInsideTheRoot) {
  // Outside the root, where `../../outside` would lead from the root's /etc on the host.
  write(scratch_ / "outside", "not the container's");
  fs::create_symlink("../../outside", root_ / "etc/passwd");
  fs::create_symlink("/../../outside", root_ / "etc/group");
  fs::create_symlink("/../../outside", root_ / "bin/prog");
  EXPECT_EQ(warm_start_files(root_, {"/bin/prog"}, {}), Paths{});
  // The same links find what is inside the root under that name.
  write(root_ / "outside", "the container's");
  EXPECT_EQ(warm_start_files(root_, {"/bin/prog"}, {}),
            (Paths{"/bin/prog", "/etc/passwd", "/etc/group"}));
}

TEST_F(WarmTest, OnlyRegularFilesAreOpened) {
  // A FIFO would block an open for reading (and a device could act on one).
  ASSERT_EQ(::mkfifo((root_ / "bin/prog").c_str(), 0755), 0) << std::strerror(errno);
  ASSERT_EQ(::mkfifo((root_ / "etc/passwd").c_str(), 0644), 0) << std::strerror(errno);
  fs::create_directory(root_ / "etc/group");
  EXPECT_EQ(warm_start_files(root_, {"prog"}, {"PATH=/bin"}), Paths{});
}

TEST_F(WarmTest, AMissingRootOrProgramIsNoError) {
  EXPECT_EQ(warm_start_files(scratch_ / "none", {"/bin/prog"}, {}), Paths{});
  EXPECT_EQ(warm_start_files(root_, {}, {}), Paths{});
  write(root_ / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  EXPECT_EQ(warm_start_files(root_, {"prog"}, {}), Paths{"/etc/passwd"});
}

// Whether this process has a file under `dir` open.
bool has_open_file_below(const fs::path& dir) {
  for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = fs::read_symlink(entry.path(), ec);
    if (!ec && target.string().starts_with(dir.string() + "/")) return true;
  }
  return false;
}

TEST_F(WarmTest, WaitingForAWarmUpLeavesNoFileOfTheRootOpen) {
  write(root_ / "bin/prog", std::string(std::size_t{4} << 20, 'x'));
  write(root_ / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  warm_start_files_in_background("pool/c1", root_, {"/bin/prog"}, {});
  wait_for_warm_up("pool/c1");
  EXPECT_FALSE(has_open_file_below(root_));
  wait_for_warm_up("pool/none");  // nothing runs for it: returns at once
}

}  // namespace
}  // namespace kleene::container

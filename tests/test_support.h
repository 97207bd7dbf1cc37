// Helpers shared by the Catch2 programs: a temporary store root removed at scope exit.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <system_error>
#include <filesystem>
#include <string>

#include <fmt/format.h>

namespace runtrack::testing {

class TempDir {
 public:
  // mkdtemp makes a directory that did not exist: a pid reused after a crashed test (whose
  // folder, or a tmpfs mounted on it, may still be there) never shares it.
  TempDir() {
    static std::atomic<int> counter{0};
    std::string name = (std::filesystem::temp_directory_path() /
                        fmt::format("runtrack-test-{}-{}-XXXXXX", ::getpid(), counter++))
                           .string();
    if (::mkdtemp(name.data()) == nullptr)
      throw std::filesystem::filesystem_error("mkdtemp", name, std::error_code(errno, std::generic_category()));
    path_ = name;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace runtrack::testing

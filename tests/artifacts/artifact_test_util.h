// Helpers for the artifacts tests: a scratch directory per test, deterministic pseudo-random
// bytes, file writing and reading.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "runtrack/artifacts.h"

namespace artifact_test {

namespace fs = std::filesystem;

inline constexpr const char* kRunA = "20250114_120000_aaaaaa";
inline constexpr const char* kRunB = "20250114_130000_bbbbbb";
inline constexpr const char* kRunC = "20250114_140000_cccccc";

// A fresh directory removed at scope exit (kept when RUNTRACK_KEEP_TEST_DIRS is set).
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base ? base : "/tmp") + "/runtrack-art-XXXXXX";
    path_ = fs::path(::mkdtemp(templ.data()));
  }
  ~ScratchDir() {
    if (std::getenv("RUNTRACK_KEEP_TEST_DIRS") == nullptr) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& s) const { return path_ / fs::path(s); }

 private:
  fs::path path_;
};

// Deterministic bytes: the same seed always gives the same content.
inline std::string RandomBytes(size_t n, uint64_t seed) {
  std::string out(n, '\0');
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(&out[i], &x, 8);
  }
  for (; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x);
  }
  return out;
}

inline void WriteFile(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
}

inline std::string ReadFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline runtrack::ArtifactStore OpenStore(const fs::path& root, runtrack::ArtifactStoreOptions o = {}) {
  o.sync = false;  // tests do not need power-loss durability; keeps them fast
  auto s = runtrack::ArtifactStore::Open(root, o);
  if (!s.ok()) throw std::runtime_error(s.status().ToString());
  return std::move(s).value();
}

inline runtrack::Artifact MakeArtifact(const std::string& name, runtrack::ArtifactType type) {
  auto a = runtrack::Artifact::Create(name, type);
  if (!a.ok()) throw std::runtime_error(a.status().ToString());
  return std::move(a).value();
}

// Logs one small file with the given content as a new version; returns the version.
inline int LogText(runtrack::ArtifactStore& store, const fs::path& scratch, const std::string& name,
                   runtrack::ArtifactType type, const std::string& content, const std::string& run = "") {
  fs::path src = scratch / ("src-" + std::to_string(::getpid()) + "-" + name + ".bin");
  WriteFile(src, content);
  auto a = MakeArtifact(name, type);
  if (!a.AddFile(src, "data.bin").ok()) throw std::runtime_error("AddFile failed");
  auto v = store.Log(a, run);
  if (!v.ok()) throw std::runtime_error(v.status().ToString());
  return *v;
}

inline size_t CountFiles(const fs::path& dir) {
  size_t n = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file()) ++n;
  }
  return n;
}

}  // namespace artifact_test

// The layering rules of docs/ARCHITECTURE.md, enforced by reading the sources:
//   lib (runtrack) -> service -> encode -> {server, cli} -> viewer (composition root) -> main
// A rule broken here is a design change: update ARCHITECTURE.md with it, or move the code.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#ifndef RUNTRACK_SOURCE_DIR
#error "RUNTRACK_SOURCE_DIR must name the source tree (set by tests/CMakeLists.txt)"
#endif

namespace {
namespace fs = std::filesystem;

const fs::path kRoot = RUNTRACK_SOURCE_DIR;

struct Source {
  std::string path;  // relative to the source tree
  std::vector<std::string> lines;
};

// Every C++ source below `dir` (relative to the source tree).
std::vector<Source> Sources(const std::string& dir) {
  std::vector<Source> out;
  for (const auto& e : fs::recursive_directory_iterator(kRoot / dir)) {
    const auto ext = e.path().extension();
    if (!e.is_regular_file() || (ext != ".cpp" && ext != ".h")) continue;
    Source s{fs::relative(e.path(), kRoot).string(), {}};
    std::ifstream in(e.path());
    for (std::string line; std::getline(in, line);) s.lines.push_back(line);
    out.push_back(std::move(s));
  }
  REQUIRE_FALSE(out.empty());
  return out;
}

// "file:line: text" of every line of `sources` matching `pattern`, comments skipped.
std::vector<std::string> Matches(const std::vector<Source>& sources, const std::regex& pattern) {
  std::vector<std::string> hits;
  for (const auto& s : sources)
    for (size_t i = 0; i < s.lines.size(); ++i) {
      const std::string& line = s.lines[i];
      const size_t code_end = line.find("//");
      if (std::regex_search(line.substr(0, code_end), pattern))
        hits.push_back(s.path + ":" + std::to_string(i + 1) + ": " + line);
    }
  return hits;
}

std::regex IncludeOf(const std::string& folders) { return std::regex("#include [\"<](" + folders + ")/"); }

}  // namespace

TEST_CASE("the library includes nothing of the apps, the bindings, HTTP or Python", "[architecture]") {
  CHECK(Matches(Sources("lib"), IncludeOf("server|cli|service|encode|viewer|boost/beast|boost/asio|pybind11")).empty());
  CHECK(Matches(Sources("include/runtrack"), IncludeOf("server|cli|service|encode|viewer|boost/beast")).empty());
}

TEST_CASE("services know no transport: no HTTP, no server, CLI or encoders", "[architecture]") {
  const auto service = Sources("apps/runicorn/service");
  CHECK(Matches(service, IncludeOf("server|cli|encode|viewer|boost/beast|boost/asio")).empty());
  // JSON is a wire format: service interfaces take and return plain structs. (Two services read
  // and write small JSON files of their own, privately, in their .cpp.)
  std::vector<Source> headers;
  for (const auto& s : service)
    if (s.path.ends_with(".h")) headers.push_back(s);
  CHECK(Matches(headers, IncludeOf("boost/json")).empty());
}

TEST_CASE("encoders depend on services only", "[architecture]") {
  CHECK(Matches(Sources("apps/runicorn/encode"), IncludeOf("server|cli|viewer|boost/beast")).empty());
}

TEST_CASE("the CLI and the server never include each other", "[architecture]") {
  CHECK(Matches(Sources("apps/runicorn/cli"), IncludeOf("server|viewer")).empty());
  CHECK(Matches(Sources("apps/runicorn/server"), IncludeOf("cli|viewer")).empty());
}

TEST_CASE("HTTP handlers make no file-system calls: they go through the services", "[architecture]") {
  std::vector<Source> handlers;
  for (const auto& s : Sources("apps/runicorn/server"))
    if (fs::path(s.path).filename().string().starts_with("handlers")) handlers.push_back(s);
  REQUIRE(handlers.size() >= 6);
  const std::regex fs_call(R"(filesystem|fstream|\bfopen\b|::open\(|\bopendir\b|\bstat\(|\bunlink\b|\brename\()");
  CHECK(Matches(handlers, fs_call).empty());
}

TEST_CASE("only the layout module spells a store's path components", "[architecture]") {
  // A path built with operator/ from one of the store's own component names.
  const std::regex component(R"(/ "(runs|journal|lock|deleted|catalog|media|blobs|artifacts|viewer\.json|environment\.json)\")");
  std::vector<Source> sources;
  for (const char* dir : {"lib", "include/runtrack", "apps/runicorn", "bindings/python/src"})
    for (auto& s : Sources(dir)) {
      // The layout module itself, the artifact module's part of it (below StoreLayout::artifacts_dir),
      // and the importer, which reads Runicorn's layout (a different store format).
      if (s.path == "lib/store/layout.cpp" || s.path == "lib/artifacts/layout.h" || s.path.starts_with("lib/import/"))
        continue;
      sources.push_back(std::move(s));
    }
  CHECK(Matches(sources, component).empty());
}

TEST_CASE("the checks above can fail", "[architecture]") {
  // A rule that matches nothing by construction would pass forever: each pattern must find its
  // target in a line that breaks it.
  Source bad{"x.cpp", {"#include \"server/api.h\"", "auto p = root / \"journal\";", "std::ifstream in(p);"}};
  CHECK(Matches({bad}, IncludeOf("server")).size() == 1);
  CHECK(Matches({bad}, std::regex(R"(/ "(journal)\")")).size() == 1);
  CHECK(Matches({bad}, std::regex("fstream")).size() == 1);
  Source commented{"y.cpp", {"// #include \"server/api.h\""}};
  CHECK(Matches({commented}, IncludeOf("server")).empty());
}

// Product code reads JSON through runtrack::ParseJson (include/runtrack/json_parse.h), never
// boost::json::parse: Boost 1.81 rounds about one double in six to the neighbouring value, so a
// single direct call would quietly break "values read back bit-identical".
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

// Calls of boost::json::parse (however the namespace is spelled or aliased) in `text`.
size_t DirectParses(const std::string& text) {
  static const std::regex call(R"re((?:^|[^\w:])(?:boost::)?json::parse\s*\()re");
  return static_cast<size_t>(std::distance(std::sregex_iterator(text.begin(), text.end(), call), std::sregex_iterator()));
}

}  // namespace

TEST_CASE("product code parses JSON with runtrack::ParseJson, not boost::json::parse", "[architecture]") {
  std::vector<std::string> bad;
  size_t files = 0;
  for (const char* dir : {"lib", "apps", "bindings", "include"}) {
    for (const auto& e : fs::recursive_directory_iterator(fs::path(RUNTRACK_SOURCE_DIR) / dir)) {
      const auto ext = e.path().extension();
      if (!e.is_regular_file() || (ext != ".cpp" && ext != ".h")) continue;
      ++files;
      std::ifstream in(e.path());
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (DirectParses(text) > 0) bad.push_back(fs::relative(e.path(), RUNTRACK_SOURCE_DIR).string());
    }
  }
  CHECK(files > 300);  // the scan found the sources
  CHECK(bad == std::vector<std::string>{});
}

TEST_CASE("the direct-parse scan finds boost::json::parse and aliased json::parse calls", "[architecture]") {
  CHECK(DirectParses("auto v = boost::json::parse(text, ec);") == 1);
  CHECK(DirectParses("json::value v = json::parse(body, ec);\n") == 1);
  CHECK(DirectParses("auto v = runtrack::ParseJson(text, ec);") == 0);
  CHECK(DirectParses("x = my::json::parse(t);") == 0);
}

// Test case names must survive catch_discover_tests: it turns the list of names into a CMake list,
// so a ';' splits one test case into two CTest entries whose filters match nothing — both "pass"
// without running a single assertion. (',' '[' ']' are escaped by the discovery script.)
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

// The names of the TEST_CASEs in `text` (adjacent string literals joined).
std::vector<std::string> TestCaseNames(const std::string& text) {
  static const std::regex test_case(R"re(TEST_CASE\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+))re");
  static const std::regex literal(R"re("((?:[^"\\]|\\.)*)")re");
  std::vector<std::string> names;
  for (std::sregex_iterator m(text.begin(), text.end(), test_case), end; m != end; ++m) {
    const std::string literals = (*m)[1];
    std::string name;
    for (std::sregex_iterator l(literals.begin(), literals.end(), literal); l != end; ++l) name += (*l)[1];
    names.push_back(std::move(name));
  }
  return names;
}

}  // namespace

TEST_CASE("no test case name holds a semicolon (CTest would split it and run nothing)", "[architecture]") {
  std::vector<std::string> bad;
  size_t seen = 0;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(RUNTRACK_SOURCE_DIR) / "tests")) {
    if (!e.is_regular_file() || e.path().extension() != ".cpp") continue;
    std::ifstream in(e.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const auto& name : TestCaseNames(text)) {
      ++seen;
      if (name.find(';') != std::string::npos) bad.push_back(e.path().filename().string() + ": " + name);
    }
  }
  CHECK(seen > 500);  // the scan found the suite
  CHECK(bad == std::vector<std::string>{});
}

TEST_CASE("the test name scan finds names split over lines and semicolons in them", "[architecture]") {
  const std::string sample = "TEST_CASE(\"one; two\", \"[x]\") {}\nTEST_CASE(\"a long \"\n          \"name\", \"[y]\") {}";
  CHECK(TestCaseNames(sample) == std::vector<std::string>{"one; two", "a long name"});
}

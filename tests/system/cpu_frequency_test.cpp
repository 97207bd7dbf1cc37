// cpufreq reading on a fixture tree shaped like /sys/devices/system/cpu/cpufreq.
#include <catch2/catch.hpp>

#include <fstream>

#include "system/cpu_frequency.h"
#include "test_support.h"

using namespace runtrack::telemetry;
namespace fs = std::filesystem;

namespace {

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

}  // namespace

TEST_CASE("cpufreq: averages current, min and max over the policies, kHz to MHz", "[frequency]") {
  runtrack::testing::TempDir root;
  WriteFile(root.path() / "policy0/scaling_cur_freq", "2400000\n");
  WriteFile(root.path() / "policy0/scaling_min_freq", "800000\n");
  WriteFile(root.path() / "policy0/scaling_max_freq", "3600000\n");
  WriteFile(root.path() / "policy4/scaling_cur_freq", "1200500\n");
  WriteFile(root.path() / "policy4/scaling_min_freq", "400000\n");
  WriteFile(root.path() / "policy4/scaling_max_freq", "2400000\n");
  WriteFile(root.path() / "boost", "1\n");  // not a policy
  fs::create_directories(root.path() / "ondemand");

  CpufreqPolicies p = FindCpufreqPolicies(root.path());
  REQUIRE(p.dirs.size() == 2);
  CHECK(p.dirs[0].filename() == "policy0");
  CHECK(p.dirs[1].filename() == "policy4");
  CHECK(p.min_mhz == 600.0);
  CHECK(p.max_mhz == 3000.0);
  CHECK(ReadCurrentMhz(p) == 1800.25);

  // The current frequency is re-read every time; the limits are not.
  WriteFile(root.path() / "policy4/scaling_cur_freq", "3600000\n");
  CHECK(ReadCurrentMhz(p) == 3000.0);
}

TEST_CASE("cpufreq: unreadable or malformed files are skipped", "[frequency]") {
  runtrack::testing::TempDir root;
  WriteFile(root.path() / "policy0/scaling_cur_freq", "1000000\n");
  WriteFile(root.path() / "policy1/scaling_cur_freq", "garbage\n");
  fs::create_directories(root.path() / "policy2");
  CpufreqPolicies p = FindCpufreqPolicies(root.path());
  CHECK(p.dirs.size() == 3);
  CHECK(p.min_mhz == 0.0);
  CHECK(p.max_mhz == 0.0);
  CHECK(ReadCurrentMhz(p) == 1000.0);
}

TEST_CASE("cpufreq: no cpufreq folder means no frequency", "[frequency]") {
  runtrack::testing::TempDir root;
  CpufreqPolicies missing = FindCpufreqPolicies(root.path() / "does-not-exist");
  CHECK(missing.dirs.empty());
  CHECK_FALSE(ReadCurrentMhz(missing).has_value());
  CpufreqPolicies empty = FindCpufreqPolicies(root.path());
  CHECK(empty.dirs.empty());
  CHECK_FALSE(ReadCurrentMhz(empty).has_value());
}

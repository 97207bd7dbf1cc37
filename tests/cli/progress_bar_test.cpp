// The progress bar: RenderBar's exact text, ProgressBar's drawing and throttling on a FILE*, and
// when the CLI turns it on (ProgressOutput).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "cli/cli.h"
#include "cli_fixture.h"

using runicorn::cli::ProgressBar;
using runicorn::cli::ProgressUnit;
using runicorn::cli::RenderBar;
using namespace runicorn::testing;

namespace {

// Everything a ProgressBar wrote to a temporary FILE*.
class Capture {
 public:
  Capture() : f_(std::tmpfile()) { REQUIRE(f_ != nullptr); }
  ~Capture() { std::fclose(f_); }
  std::FILE* file() { return f_; }
  std::string text() {
    std::fflush(f_);
    std::rewind(f_);
    std::string out;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, f_)) > 0;) out.append(buf, n);
    return out;
  }

 private:
  std::FILE* f_;
};

}  // namespace

TEST_CASE("RenderBar draws label, cells, percent and counts", "[cli][progress]") {
  CHECK(RenderBar("x", 45, 100, 0, 20, ProgressUnit::kCount) == "x [#########...........]  45%  45 / 100");
  CHECK(RenderBar("scan", 3, 256, 1.5, 8, ProgressUnit::kCount) == "scan [........]   1%  3 / 256  2.0/s");
  CHECK(RenderBar("scan", 256, 256, 2.0, 8, ProgressUnit::kCount) == "scan [########] 100%  256 / 256  128.0/s");
  // Integer arithmetic: 29 of 100 is 29%, not 28% as 0.29 * 100 would floor to.
  CHECK(RenderBar("p", 29, 100, 0, 10, ProgressUnit::kCount) == "p [##........]  29%  29 / 100");
}

TEST_CASE("RenderBar formats bytes and a byte rate", "[cli][progress]") {
  CHECK(RenderBar("dl", 5u << 20, 10u << 20, 2.0, 20, ProgressUnit::kBytes) ==
        "dl [##########..........]  50%  5.0 MiB / 10.0 MiB  2.5 MiB/s");
  CHECK(RenderBar("dl", 512, 1024, 2.0, 4, ProgressUnit::kBytes) == "dl [##..]  50%  512 B / 1.0 KiB  256 B/s");
  // Byte counts far beyond what done * 100 fits in 64 bits.
  CHECK(RenderBar("big", uint64_t{1} << 63, ~uint64_t{0}, 0, 10, ProgressUnit::kBytes) ==
        "big [#####.....]  50%  8388608.0 TiB / 16777216.0 TiB");
}

TEST_CASE("RenderBar with nothing to do draws complete", "[cli][progress]") {
  CHECK(RenderBar("gc", 0, 0, 1.0, 10, ProgressUnit::kCount) == "gc [##########] 100%  0 / 0");
  CHECK(RenderBar("dl", 0, 0, 0, 4, ProgressUnit::kBytes) == "dl [####] 100%  0 B / 0 B");
}

TEST_CASE("RenderBar clamps done to total and omits a rate before any progress", "[cli][progress]") {
  CHECK(RenderBar("c", 150, 100, 0, 10, ProgressUnit::kCount) == "c [##########] 100%  100 / 100");
  CHECK(RenderBar("c", 150, 100, 5.0, 10, ProgressUnit::kCount) == "c [##########] 100%  100 / 100  20.0/s");
  CHECK(RenderBar("c", 0, 100, 5.0, 10, ProgressUnit::kCount) == "c [..........]   0%  0 / 100");
  CHECK(RenderBar("c", 7, 100, 0, 0, ProgressUnit::kCount) == "c []   7%  7 / 100");
}

TEST_CASE("ProgressBar draws the first update at once and the throttled last one on Finish", "[cli][progress]") {
  Capture cap;
  {
    ProgressBar bar(cap.file(), "work", ProgressUnit::kCount);
    bar.Update(0, 10);
    bar.Update(5, 10);  // within the redraw interval: not drawn yet
    CHECK(cap.text() == "\r" + RenderBar("work", 0, 10, 0, ProgressBar::kWidth, ProgressUnit::kCount));
    bar.Finish();
  }
  std::string text = cap.text();
  REQUIRE(text.back() == '\n');
  auto lines = BarLines(text);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == Bar("work", 0, 10, ProgressUnit::kCount));
  CHECK(WithoutRate(lines[1]) == Bar("work", 5, 10, ProgressUnit::kCount));
  CHECK(text.find('\n') == text.size() - 1);
}

TEST_CASE("ProgressBar redraws at most every interval however often it is updated", "[cli][progress]") {
  Capture cap;
  auto start = std::chrono::steady_clock::now();
  {
    ProgressBar bar(cap.file(), "many", ProgressUnit::kCount);
    for (uint64_t i = 0; i <= 300000; ++i) bar.Update(i, 300000);
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  auto lines = BarLines(cap.text());
  const auto max_draws = 2 + elapsed / ProgressBar::kRedrawInterval;  // first, one per interval, final
  CHECK(static_cast<int64_t>(lines.size()) <= max_draws);
  REQUIRE(lines.size() >= 2);
  CHECK(lines.front() == Bar("many", 0, 300000, ProgressUnit::kCount));
  CHECK(WithoutRate(lines.back()) == Bar("many", 300000, 300000, ProgressUnit::kCount));
}

TEST_CASE("ProgressBar blanks what a shorter line leaves behind", "[cli][progress]") {
  Capture cap;
  ProgressBar bar(cap.file(), "b", ProgressUnit::kCount);
  bar.Update(0, 1000000000000);
  std::this_thread::sleep_for(ProgressBar::kRedrawInterval + std::chrono::milliseconds(20));
  bar.Update(1, 1);
  bar.Finish();
  std::string text = cap.text();
  const std::string first = "\r" + Bar("b", 0, 1000000000000, ProgressUnit::kCount);
  REQUIRE(text.rfind(first, 0) == 0);
  std::string second = text.substr(first.size());
  REQUIRE(second.size() >= 2);
  CHECK(second.front() == '\r');
  CHECK(second.back() == '\n');
  // "\r" + line padded to the first line's length + "\n".
  CHECK(second.size() == first.size() + 1);
  CHECK(WithoutRate(BarLines(second).at(0)) == Bar("b", 1, 1, ProgressUnit::kCount));
}

TEST_CASE("ProgressBar finishes once, writes nothing without updates or without a FILE", "[cli][progress]") {
  Capture cap;
  {
    ProgressBar unused(cap.file(), "idle", ProgressUnit::kBytes);
    unused.Finish();
  }
  CHECK(cap.text().empty());
  {
    ProgressBar bar(cap.file(), "once", ProgressUnit::kBytes);
    bar.Update(0, 0);
    bar.Finish();
    bar.Finish();
    bar.Update(1, 1);  // after Finish: ignored
  }
  CHECK(cap.text() == "\r" + Bar("once", 0, 0, ProgressUnit::kBytes) + "\n");
  ProgressBar off(nullptr, "off", ProgressUnit::kCount);
  off.Update(1, 2);
  auto callback = off.Callback();
  callback(2, 2);
  off.Finish();
}

TEST_CASE("ProgressBar's callback feeds Update", "[cli][progress]") {
  Capture cap;
  {
    ProgressBar bar(cap.file(), "cb", ProgressUnit::kCount);
    auto callback = bar.Callback();
    callback(3, 4);
  }
  auto lines = BarLines(cap.text());
  REQUIRE(lines.size() == 1);
  CHECK(WithoutRate(lines[0]) == Bar("cb", 3, 4, ProgressUnit::kCount));
}

TEST_CASE("ProgressOutput: --progress forces, --no-progress and --json silence, else a terminal", "[cli][progress]") {
  auto out = [](std::vector<std::string> argv) {
    auto args = runicorn::cli::Args::Parse(argv, {"progress", "no-progress", "json"});
    REQUIRE(args.ok());
    return runicorn::cli::ProgressOutput(*args);
  };
  CHECK(out({"--progress"}) == stderr);
  CHECK(out({"--progress", "--json"}) == stderr);
  CHECK(out({"--no-progress"}) == nullptr);
  CHECK(out({"--no-progress", "--progress"}) == nullptr);
  CHECK(out({"--json"}) == nullptr);
  CHECK(out({}) == (::isatty(::fileno(stderr)) ? stderr : nullptr));

  // With stderr on a terminal, as in an interactive shell.
  int terminal = ::posix_openpt(O_RDWR | O_NOCTTY);
  REQUIRE(terminal >= 0);
  REQUIRE(::grantpt(terminal) == 0);
  REQUIRE(::unlockpt(terminal) == 0);
  int terminal_side = ::open(::ptsname(terminal), O_RDWR | O_NOCTTY);
  REQUIRE(terminal_side >= 0);
  std::fflush(stderr);
  int saved = ::dup(2);
  ::dup2(terminal_side, 2);
  std::FILE* plain = out({});
  std::FILE* json = out({"--json"});
  std::FILE* off = out({"--no-progress"});
  ::dup2(saved, 2);
  ::close(saved);
  ::close(terminal_side);
  ::close(terminal);
  CHECK(plain == stderr);
  CHECK(json == nullptr);
  CHECK(off == nullptr);
}

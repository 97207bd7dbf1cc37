// The journal quota (docs/REMOTE.md "Client behaviour"): while the viewer is down the backlog
// grows; crossing the quota warns once on stderr and in Store::shipping_status(), Log() goes on,
// and once the viewer is back every byte arrives and the warning is re-armed.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "runtrack/remote.h"
#include "runtrack/store.h"
#include "test_support.h"
#include "util/files.h"
#include "viewer_fixture.h"

namespace {
using namespace runtrack;
namespace fs = std::filesystem;
using runicorn::testing::RestartableViewer;

// Sends this process's stderr (fd 2: the shipper thread's warnings) to a file until destroyed.
class CapturedStderr {
 public:
  explicit CapturedStderr(fs::path file) : file_(std::move(file)) {
    std::fflush(stderr);
    saved_ = ::dup(2);
    int fd = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::dup2(fd, 2) == 2);
    ::close(fd);
  }
  ~CapturedStderr() { Restore(); }
  std::string Restore() {
    if (saved_ >= 0) {
      std::fflush(stderr);
      ::dup2(saved_, 2);
      ::close(saved_);
      saved_ = -1;
    }
    auto text = util::ReadFile(file_);
    return text.ok() ? *text : std::string();
  }

 private:
  fs::path file_;
  int saved_ = -1;
};

std::string RegexEscape(const std::string& s) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(s, special, R"(\$&)");
}

// Polls the store's shipping status until `done` holds (the bound only stops a broken shipper).
template <typename Pred>
ShippingStatus WaitFor(const Store& store, Pred done) {
  for (int i = 0; i < 3000; ++i) {
    auto s = store.shipping_status();
    REQUIRE(s.has_value());
    if (done(*s)) return *s;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto s = store.shipping_status();
  REQUIRE(done(*s));
  return *s;
}

}  // namespace

TEST_CASE("ship quota: a server that is down makes the shipper warn once, nothing is lost when it is back",
          "[remote][quota]") {
  testing::TempDir dir;
  RestartableViewer viewer(dir.path() / "central", dir.path() / "config.json");
  viewer.Stop();  // its port now refuses connections
  const std::string url = viewer.url();
  constexpr uint64_t kQuota = 64u << 10;
  CapturedStderr captured(dir.path() / "stderr.txt");

  StoreOptions so;
  so.server = url;
  so.ship_quota_bytes = kQuota;
  auto store = Store::Open(dir.path() / "node", so);
  REQUIRE(store.ok());
  auto run = (*store)->CreateRun({});
  REQUIRE(run.ok());
  const std::string id = (*run)->id();
  auto before = (*store)->shipping_status();
  REQUIRE(before.has_value());
  CHECK(before->server == url);
  CHECK(before->quota_bytes == kQuota);
  CHECK_FALSE(before->over_quota);

  // Log() returns while nothing can be shipped: 5,000 points are ~160 KiB of journal.
  int64_t step = 0;
  for (int i = 0; i < 5000; ++i) REQUIRE((*run)->Log(++step, "loss", 1.0 / step).ok());
  REQUIRE((*run)->Flush().ok());
  const ShippingStatus over = WaitFor(**store, [](const ShippingStatus& s) { return s.over_quota; });
  CHECK(over.quota_warnings == 1);
  CHECK(over.unacknowledged_bytes > kQuota);
  CHECK(over.runs == 1);
  CHECK(over.last_error.starts_with("cannot reach the server: "));

  // More while over the quota: the backlog keeps growing, no second warning.
  for (int i = 0; i < 5000; ++i) REQUIRE((*run)->Log(++step, "loss", 1.0 / step).ok());
  REQUIRE((*run)->Flush().ok());
  const uint64_t grown = fs::file_size((*store)->layout().journal_path(id));
  const ShippingStatus still =
      WaitFor(**store, [&](const ShippingStatus& s) { return s.unacknowledged_bytes >= grown; });
  CHECK(still.over_quota);
  CHECK(still.quota_warnings == 1);

  // The viewer comes back: Finish() drains everything, the backlog falls to 0 and re-arms.
  viewer.Start();
  REQUIRE((*run)->Finish().ok());
  const uint64_t size = fs::file_size((*store)->layout().journal_path(id));
  auto shipped = ReadShippedOffset((*store)->layout(), id);
  REQUIRE(shipped.ok());
  CHECK(*shipped == size);
  auto server = util::ReadFile(StoreLayout(dir.path() / "central").journal_path(id));
  auto local = util::ReadFile((*store)->layout().journal_path(id));
  REQUIRE(server.ok());
  REQUIRE(local.ok());
  CHECK(*server == *local);
  const ShippingStatus after = WaitFor(**store, [](const ShippingStatus& s) { return !s.over_quota; });
  CHECK(after.quota_warnings == 1);
  CHECK(after.last_error.empty());

  // The shipper's quota lines (the in-process viewer may log lines of its own).
  std::string text;
  {
    std::istringstream lines(captured.Restore());
    for (std::string line; std::getline(lines, line);)
      if (line.starts_with("runtrack: journal shipping")) text += line + "\n";
  }
  const std::regex expected(
      "runtrack: journal shipping to " + RegexEscape(url) +
      " is behind: ([0-9]+) bytes not acknowledged, over the quota of 65536 bytes \\(RUNICORN_SHIP_QUOTA_MB\\); "
      "logging goes on and the local journals keep every record until the server takes them\n"
      "runtrack: journal shipping to " + RegexEscape(url) +
      " is back under its quota: ([0-9]+) bytes not acknowledged\n");
  std::smatch m;
  INFO(text);
  REQUIRE(std::regex_match(text, m, expected));
  CHECK(std::stoull(m[1].str()) > kQuota);
  CHECK(std::stoull(m[2].str()) <= kQuota / 10 * 9);
}

TEST_CASE("ship quota: RUNICORN_SHIP_QUOTA_MB sets it, a value that is not a whole number is refused at Open",
          "[remote][quota]") {
  testing::TempDir dir;
  StoreOptions so;
  so.server = "http://127.0.0.1:1";
  ::setenv("RUNICORN_SHIP_QUOTA_MB", "3", 1);
  auto three = Store::Open(dir.path() / "a", so);
  REQUIRE(three.ok());
  CHECK((*three)->shipping_status()->quota_bytes == (uint64_t{3} << 20));
  so.ship_quota_bytes = 0;  // the option wins over the environment; 0: no quota
  auto none = Store::Open(dir.path() / "b", so);
  REQUIRE(none.ok());
  CHECK((*none)->shipping_status()->quota_bytes == 0);
  so.ship_quota_bytes.reset();
  for (const char* bad : {"1.5", "-1", "lots", "17592186044416"}) {
    ::setenv("RUNICORN_SHIP_QUOTA_MB", bad, 1);
    auto refused = Store::Open(dir.path() / "c", so);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == StatusCode::kInvalidArgument);
    CHECK(refused.status().message() ==
          fmt::format("RUNICORN_SHIP_QUOTA_MB must be a whole number of MiB (0: no quota), got '{}'", bad));
  }
  ::unsetenv("RUNICORN_SHIP_QUOTA_MB");
  auto unset = Store::Open(dir.path() / "d", so);
  REQUIRE(unset.ok());
  CHECK((*unset)->shipping_status()->quota_bytes == (uint64_t{1} << 30));
  // Shipping off: no status.
  auto off = Store::Open(dir.path() / "e", StoreOptions{.server = ""});
  REQUIRE(off.ok());
  if (std::getenv("RUNICORN_SERVER") == nullptr) CHECK_FALSE((*off)->shipping_status().has_value());
}

// A one-line progress bar for the long CLI operations (export, gc, artifact download). It is drawn
// on a FILE* (stderr in the CLI) and redrawn in place with '\r', so stdout — tables, --json, an
// export written to stdout — never carries a byte of it.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

namespace runicorn::cli {

enum class ProgressUnit {
  kCount,  // "115 / 256  120.0/s"
  kBytes,  // "12.3 MiB / 27.0 MiB  85.2 MiB/s"
};

// One line without '\r' or '\n':
//   `label [#########.........]  45%  12.3 MiB / 27.0 MiB  85.2 MiB/s`
// `width` cells between the brackets. `done` is clamped to `total`; total == 0 means there was
// nothing to do and draws as complete. The rate is done / elapsed_seconds, left out when
// elapsed_seconds <= 0 or done == 0. Pure, so tests can pin the exact text.
std::string RenderBar(std::string_view label, uint64_t done, uint64_t total, double elapsed_seconds, int width,
                      ProgressUnit unit);

// Draws RenderBar lines for a running operation. The first update is drawn at once, later ones at
// most every kRedrawInterval (an operation may report thousands of times a second), and Finish()
// draws the last reported state if it was throttled away, then ends the line. Not thread-safe.
class ProgressBar {
 public:
  static constexpr std::chrono::milliseconds kRedrawInterval{100};
  static constexpr int kWidth = 30;

  // `out` == nullptr disables the bar: every call is a no-op, so callers need no branches.
  ProgressBar(std::FILE* out, std::string label, ProgressUnit unit);
  // Finishes, so an early return still leaves the terminal on a fresh line.
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void Update(uint64_t done, uint64_t total);
  // Idempotent. Writes nothing if no update ever came.
  void Finish();
  // Update() as the (done, total) callback the library's and the server's long operations take.
  // The bar must outlive the operation.
  std::function<void(uint64_t, uint64_t)> Callback() {
    return [this](uint64_t done, uint64_t total) { Update(done, total); };
  }

 private:
  using Clock = std::chrono::steady_clock;
  void Draw(Clock::time_point now);

  std::FILE* out_;
  std::string label_;
  ProgressUnit unit_;
  Clock::time_point start_;
  Clock::time_point last_draw_{};
  uint64_t done_ = 0, total_ = 0;
  size_t last_length_ = 0;  // of the line on screen, to blank what a shorter line leaves behind
  bool drawn_ = false;      // some line is on screen (and needs a final '\n')
  bool pending_ = false;    // the latest update is not on screen yet
  bool finished_ = false;
};

}  // namespace runicorn::cli

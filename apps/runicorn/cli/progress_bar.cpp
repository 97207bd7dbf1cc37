#include "cli/progress_bar.h"

#include <algorithm>

#include <fmt/format.h>

#include "cli/cli.h"

namespace runicorn::cli {

std::string RenderBar(std::string_view label, uint64_t done, uint64_t total, double elapsed_seconds, int width,
                      ProgressUnit unit) {
  done = std::min(done, total);
  // 128-bit products: byte counts times 100 (or the width) can exceed 64 bits, and floating
  // point would show 28% for 29 of 100.
  using u128 = unsigned __int128;
  const size_t cells = static_cast<size_t>(std::max(width, 0));
  const size_t filled = total == 0 ? cells : static_cast<size_t>(u128(done) * cells / total);
  const unsigned percent = total == 0 ? 100 : static_cast<unsigned>(u128(done) * 100 / total);

  std::string line = fmt::format("{} [{}{}] {:>3}%  ", label, std::string(filled, '#'),
                                 std::string(cells - filled, '.'), percent);
  // Before anything is done a rate says nothing, so the 0% line has none.
  const bool show_rate = elapsed_seconds > 0 && done > 0;
  const double rate = show_rate ? static_cast<double>(done) / elapsed_seconds : 0;
  if (unit == ProgressUnit::kBytes) {
    line += FormatBytes(done) + " / " + FormatBytes(total);
    if (show_rate) line += "  " + FormatBytes(static_cast<uint64_t>(rate)) + "/s";
  } else {
    line += fmt::format("{} / {}", done, total);
    if (show_rate) line += fmt::format("  {:.1f}/s", rate);
  }
  return line;
}

ProgressBar::ProgressBar(std::FILE* out, std::string label, ProgressUnit unit)
    : out_(out), label_(std::move(label)), unit_(unit), start_(Clock::now()) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(uint64_t done, uint64_t total) {
  if (out_ == nullptr || finished_) return;
  done_ = done;
  total_ = total;
  const Clock::time_point now = Clock::now();
  if (drawn_ && now - last_draw_ < kRedrawInterval) {
    pending_ = true;
    return;
  }
  Draw(now);
}

void ProgressBar::Finish() {
  if (out_ == nullptr || finished_) return;
  finished_ = true;
  if (!drawn_) return;
  if (pending_) Draw(Clock::now());
  std::fputc('\n', out_);
  std::fflush(out_);
}

void ProgressBar::Draw(Clock::time_point now) {
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  std::string line = RenderBar(label_, done_, total_, elapsed, kWidth, unit_);
  const size_t length = line.size();
  if (length < last_length_) line.append(last_length_ - length, ' ');
  std::fputc('\r', out_);
  std::fputs(line.c_str(), out_);
  std::fflush(out_);
  last_length_ = length;
  last_draw_ = now;
  drawn_ = true;
  pending_ = false;
}

}  // namespace runicorn::cli

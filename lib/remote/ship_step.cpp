#include "remote/ship_step.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <random>

#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include "runtrack/json_parse.h"

#include "journal/journal_format.h"
#include "remote/frame_scan.h"
#include "util/files.h"

namespace runtrack {

Result<uint64_t> ReadShippedOffset(const StoreLayout& layout, std::string_view run_id) {
  auto text = util::ReadFile(layout.shipped_path(run_id));
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return uint64_t{0};
    return text.status();
  }
  uint64_t v = 0;
  std::string_view s = *text;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  // Empty: a crash right after an unsynced replace (see WriteShipped) on a file system that does
  // not order it; 0 only means resending what the server acknowledges again.
  if (s.empty()) return uint64_t{0};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size())
    return Status::Corruption(fmt::format("{} does not hold a byte offset", layout.shipped_path(run_id).string()));
  return v;
}

Result<std::string> ReadShippingStream(const StoreLayout& layout, std::string_view run_id) {
  auto text = util::ReadFile(layout.shipping_stream_path(run_id));
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return std::string(kDefaultJournalStream);
    return text.status();
  }
  std::string s = *text;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (Status v = ValidateJournalStream(s); !v.ok())
    return Status::Corruption(fmt::format("{}: {}", layout.shipping_stream_path(run_id).string(), v.message()));
  return s;
}

namespace remote {
namespace {

// Bytes [offset, offset + n) of the journal (shorter at end of file).
Result<std::string> ReadJournalRange(const std::filesystem::path& path, uint64_t offset, uint64_t n) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return util::ErrnoStatus("open", path);
  std::string buf(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, buf.data() + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      Status s = util::ErrnoStatus("read", path);
      ::close(fd);
      return s;
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  buf.resize(got);
  return buf;
}

Status WriteShipped(const StoreLayout& layout, std::string_view run_id, uint64_t offset) {
  // Written only after the ack, so it is never ahead of the server. Not fsynced: an offset a
  // machine crash rolls back only causes an idempotent resend (the server compares the overlap),
  // while two fsyncs per acknowledged batch (file and folder) each force a file-system journal
  // commit beside the training loop's own journal writes.
  return util::WriteFileAtomic(layout.shipped_path(run_id), std::to_string(offset), /*sync=*/false);
}

std::optional<uint64_t> JsonOffset(const std::string& body, const char* key) {
  boost::system::error_code ec;
  auto v = runtrack::ParseJson(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* f = v.as_object().if_contains(key);
  if (f == nullptr) return std::nullopt;
  if (f->is_uint64()) return f->as_uint64();
  if (f->is_int64() && f->as_int64() >= 0) return static_cast<uint64_t>(f->as_int64());
  return std::nullopt;
}

std::string Detail(const IngestReply& r) {
  boost::system::error_code ec;
  auto v = runtrack::ParseJson(r.body, ec);
  if (!ec && v.is_object())
    if (const auto* d = v.as_object().if_contains("detail"); d != nullptr && d->is_string())
      return std::string(d->as_string());
  return r.body.substr(0, 200);
}

}  // namespace

StepOutcome FailedReply(const IngestReply& r, std::string_view what) {
  std::string detail;
  if (r.status == 0) {
    detail = r.transport_error;
  } else {
    boost::system::error_code ec;
    auto v = runtrack::ParseJson(r.body, ec);
    const boost::json::value* d = !ec && v.is_object() ? v.as_object().if_contains("detail") : nullptr;
    detail = d != nullptr && d->is_string() ? fmt::format("HTTP {}: {}", r.status, std::string_view(d->as_string()))
                                            : fmt::format("HTTP {}", r.status);
  }
  StepOutcome out;
  out.error = Status::IOError(fmt::format("{}: {}", what, detail));
  const bool transient = r.status == 0 || r.status == 408 || r.status == 429 || r.status >= 500;
  out.kind = transient ? StepOutcome::kRetry : StepOutcome::kFatal;
  if (r.retry_after_seconds) out.retry_after = std::chrono::seconds(*r.retry_after_seconds);
  return out;
}

std::chrono::milliseconds Backoff(const ShipperOptions& options, int failures, std::chrono::milliseconds floor) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  double base = static_cast<double>(options.backoff_min.count());
  for (int i = 0; i < failures && base < static_cast<double>(options.backoff_max.count()); ++i) base *= 2;
  base = std::min(base, static_cast<double>(options.backoff_max.count()));
  double jittered = base * std::uniform_real_distribution<double>(0.5, 1.5)(rng);
  return std::max(floor, std::chrono::milliseconds(static_cast<int64_t>(jittered)));
}

StepOutcome ShipStep(const StoreLayout& layout, std::string_view run_id, IngestClient& client,
                     size_t* batch_bytes, ShipProgress* progress) {
  auto fatal = [](Status s) { return StepOutcome{StepOutcome::kFatal, std::move(s), {}}; };
  auto acked = ReadShippedOffset(layout, run_id);
  if (!acked.ok()) return fatal(acked.status());
  progress->acknowledged = *acked;
  auto stream = ReadShippingStream(layout, run_id);
  if (!stream.ok()) return fatal(stream.status());
  const std::filesystem::path path = layout.journal_path(run_id);

  // The next whole records after the acknowledged offset, at most one batch (but at least one
  // record, however large).
  auto bytes = ReadJournalRange(path, *acked, std::max<size_t>(*batch_bytes, journal::kHeaderSize));
  if (!bytes.ok()) return fatal(bytes.status());
  auto scan = ScanFrames(*bytes, *acked);
  if (!scan.ok()) return fatal(scan.status());
  if (scan->valid_end == *acked && scan->incomplete && bytes->size() >= 4 && *acked >= journal::kHeaderSize) {
    uint64_t whole = 8 + uint64_t{journal::GetU32(bytes->data())};
    if (whole > bytes->size() && whole <= journal::kMaxRecordLength + 8) {
      bytes = ReadJournalRange(path, *acked, whole);
      if (!bytes.ok()) return fatal(bytes.status());
      scan = ScanFrames(*bytes, *acked);
      if (!scan.ok()) return fatal(scan.status());
    }
  }
  progress->local = scan->valid_end;
  if (scan->valid_end == *acked) {
    if (!scan->stop_reason.empty() && !scan->incomplete)
      return fatal(Status::Corruption(fmt::format("journal of run {} is damaged ({}); shipping stops there",
                                                  run_id, scan->stop_reason)));
    return StepOutcome{};  // caught up (a writer may still be mid-append)
  }
  const size_t n = static_cast<size_t>(scan->valid_end - *acked);
  IngestReply reply = client.PutRecords(run_id, *stream, *acked, std::string_view(*bytes).substr(0, n));
  progress->requests += 1;
  progress->bytes_sent += n;
  return Answer(layout, run_id, reply, batch_bytes, progress);
}

StepOutcome ProbeStep(const StoreLayout& layout, std::string_view run_id, IngestClient& client,
                      ShipProgress* progress) {
  auto acked = ReadShippedOffset(layout, run_id);
  if (!acked.ok()) return StepOutcome{StepOutcome::kFatal, acked.status(), {}};
  auto stream = ReadShippingStream(layout, run_id);
  if (!stream.ok()) return StepOutcome{StepOutcome::kFatal, stream.status(), {}};
  IngestReply reply = client.Put(run_id, *stream, *acked, std::string());
  progress->requests += 1;
  size_t unused_batch = 1u << 20;
  StepOutcome out = Answer(layout, run_id, reply, &unused_batch, progress);
  if (out.kind == StepOutcome::kProgress) out.kind = StepOutcome::kCaughtUp;  // a probe moves nothing
  return out;
}

StepOutcome Answer(const StoreLayout& layout, std::string_view run_id, const IngestReply& reply,
                   size_t* batch_bytes, ShipProgress* progress) {
  auto fatal = [](Status s) { return StepOutcome{StepOutcome::kFatal, std::move(s), {}}; };
  auto retry = [](Status s, std::chrono::milliseconds after = {}) {
    return StepOutcome{StepOutcome::kRetry, std::move(s), after};
  };
  if (reply.status == 0)
    return retry(Status::IOError(fmt::format("cannot reach the server: {}", reply.transport_error)));
  if (reply.status == 200) {
    auto durable = JsonOffset(reply.body, "durable_offset");
    if (!durable) return retry(Status::IOError("server's answer has no durable_offset"));
    if (*durable != progress->acknowledged)
      if (Status s = WriteShipped(layout, run_id, *durable); !s.ok()) return fatal(s);
    progress->acknowledged = *durable;
    return StepOutcome{StepOutcome::kProgress, Status::Ok(), {}};
  }
  if (reply.status == 409) {
    auto expected = JsonOffset(reply.body, "expected_offset");
    if (!expected)  // not a gap: the server's copy differs from this journal
      return fatal(Status::FailedPrecondition(fmt::format("server refused run {}: {}", run_id, Detail(reply))));
    // The server has less than we believed (its store was restored, or our ack record is from
    // another server): resend from where it is.
    if (Status s = WriteShipped(layout, run_id, *expected); !s.ok()) return fatal(s);
    progress->acknowledged = *expected;
    return StepOutcome{StepOutcome::kProgress, Status::Ok(), {}};
  }
  if (reply.status == 413) {
    if (*batch_bytes <= 4096) return fatal(Status::InvalidArgument(fmt::format("server refused run {}: {}", run_id, Detail(reply))));
    *batch_bytes /= 2;
    return StepOutcome{StepOutcome::kProgress, Status::Ok(), {}};
  }
  if (reply.status == 429 || reply.status == 503 || reply.status >= 500 || reply.status == 408) {
    auto after = std::chrono::milliseconds(reply.retry_after_seconds.value_or(0) * 1000);
    return retry(Status::Busy(fmt::format("server answered {}: {}", reply.status, Detail(reply))), after);
  }
  return fatal(Status::FailedPrecondition(fmt::format("server answered {} for run {}: {}", reply.status, run_id, Detail(reply))));
}

}  // namespace remote
}  // namespace runtrack

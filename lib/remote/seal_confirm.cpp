#include "remote/seal_confirm.h"

#include <charconv>
#include <filesystem>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include "remote/ship_step.h"
#include "runtrack/json_parse.h"
#include "util/files.h"

namespace runtrack {

Result<uint64_t> ReadConfirmedOffset(const StoreLayout& layout, std::string_view run_id) {
  auto text = util::ReadFile(layout.ship_confirmed_path(run_id));
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return uint64_t{0};
    return text.status();
  }
  std::string_view s = *text;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  if (s.empty()) return uint64_t{0};  // a crash right after an unsynced replace: asked again
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size())
    return Status::Corruption(
        fmt::format("{} does not hold a byte offset", layout.ship_confirmed_path(run_id).string()));
  return v;
}

bool AwaitsSealConfirmation(const StoreLayout& layout, std::string_view run_id) {
  std::error_code ec;
  if (!std::filesystem::exists(layout.shipped_path(run_id), ec) ||
      !std::filesystem::exists(layout.ship_confirmed_path(run_id), ec))
    return false;
  const uint64_t size = std::filesystem::file_size(layout.journal_path(run_id), ec);
  if (ec) return false;
  auto acked = ReadShippedOffset(layout, run_id);
  if (!acked.ok() || *acked != size) return false;  // not acknowledged whole: shipping comes first
  auto confirmed = ReadConfirmedOffset(layout, run_id);
  return !confirmed.ok() || *confirmed < size;
}

namespace remote {
namespace {

struct StateReply {
  uint64_t durable_offset = 0;
  bool seal_required = false;
  bool final = false;
  bool sealed = false;
};

// The state answer's fields; nullopt when the body is not one (e.g. a server without the route).
std::optional<StateReply> ParseState(const std::string& body) {
  boost::system::error_code ec;
  auto v = ParseJson(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.as_object();
  const auto* offset = o.if_contains("durable_offset");
  if (offset == nullptr || !(offset->is_uint64() || (offset->is_int64() && offset->as_int64() >= 0)))
    return std::nullopt;
  StateReply r;
  r.durable_offset = offset->is_uint64() ? offset->as_uint64() : static_cast<uint64_t>(offset->as_int64());
  auto flag = [&](const char* key) {
    const auto* f = o.if_contains(key);
    return f != nullptr && f->is_bool() && f->as_bool();
  };
  r.seal_required = flag("seal_required");
  r.final = flag("final");
  r.sealed = flag("sealed");
  return r;
}

Status WriteConfirmed(const StoreLayout& layout, std::string_view run_id, uint64_t offset) {
  // Not fsynced, like `shipped`: a confirmation a machine crash rolls back only costs one more
  // question to the server.
  return util::WriteFileAtomic(layout.ship_confirmed_path(run_id), std::to_string(offset), /*sync=*/false);
}

}  // namespace

Status MarkAwaitingConfirmation(const StoreLayout& layout, std::string_view run_id) {
  std::error_code ec;
  if (std::filesystem::exists(layout.ship_confirmed_path(run_id), ec)) return Status::Ok();
  return util::WriteFileAtomic(layout.ship_confirmed_path(run_id), "0", /*sync=*/false);
}

ConfirmOutcome ConfirmStep(const StoreLayout& layout, std::string_view run_id, IngestClient& client,
                           ShipProgress* progress) {
  auto fatal = [](Status s) { return ConfirmOutcome{ConfirmOutcome::kFatal, std::move(s), {}}; };
  auto acked = ReadShippedOffset(layout, run_id);
  if (!acked.ok()) return fatal(acked.status());
  progress->acknowledged = *acked;
  auto stream = ReadShippingStream(layout, run_id);
  if (!stream.ok()) return fatal(stream.status());
  const IngestReply reply = client.GetState(run_id, *stream);
  std::optional<StateReply> state;
  if (reply.status == 200 || reply.status == 404) state = ParseState(reply.body);
  if (reply.status == 404 && !state) {
    // A server that predates the state route offers no sealing: the acknowledgement is all there is.
    if (Status s = WriteConfirmed(layout, run_id, *acked); !s.ok()) return fatal(s);
    progress->confirmed = true;
    return ConfirmOutcome{ConfirmOutcome::kConfirmed, Status::Ok(), {}};
  }
  if (reply.status != 200 && reply.status != 404) {
    size_t unused_batch = 1u << 20;
    StepOutcome other = Answer(layout, run_id, reply, &unused_batch, progress);
    if (other.kind == StepOutcome::kRetry) return ConfirmOutcome{ConfirmOutcome::kRetry, other.error, other.retry_after};
    return fatal(other.kind == StepOutcome::kFatal ? other.error
                                                   : Status::IOError(fmt::format("server answered {} for the state of "
                                                                                 "run {}", reply.status, run_id)));
  }
  if (!state) return ConfirmOutcome{ConfirmOutcome::kRetry, Status::IOError("server's state answer has no durable_offset"), {}};
  if (state->durable_offset < *acked) {
    // The replica answering has less than was acknowledged: most likely it took the run over from
    // an owner that died. The receiver decides with an empty PUT at the acknowledged offset (which
    // also makes the answering replica the owner): a gap rewinds `shipped` and the bytes go again.
    const IngestReply probe = client.Put(run_id, *stream, *acked, std::string());
    progress->requests += 1;
    size_t unused_batch = 1u << 20;
    StepOutcome step = Answer(layout, run_id, probe, &unused_batch, progress);
    if (step.kind == StepOutcome::kRetry) return ConfirmOutcome{ConfirmOutcome::kRetry, step.error, step.retry_after};
    if (step.kind == StepOutcome::kFatal) return fatal(step.error);
    if (progress->acknowledged < *acked) return ConfirmOutcome{ConfirmOutcome::kResend, Status::Ok(), {}};
    // Acknowledged whole after all (its copy is compacted, or was cut back and is whole again):
    // judged by the state's other fields.
  }
  if (!state->seal_required || state->sealed) {
    if (Status s = WriteConfirmed(layout, run_id, *acked); !s.ok()) return fatal(s);
    progress->confirmed = true;
    progress->awaiting_seal = false;
    return ConfirmOutcome{ConfirmOutcome::kConfirmed, Status::Ok(), {}};
  }
  if (!state->final) return ConfirmOutcome{ConfirmOutcome::kNotFinal, Status::Ok(), {}};
  progress->awaiting_seal = true;
  return ConfirmOutcome{ConfirmOutcome::kPending, Status::Ok(), {}};
}

}  // namespace remote
}  // namespace runtrack

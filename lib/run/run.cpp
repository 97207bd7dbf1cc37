#include <algorithm>
#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include <boost/json/serialize.hpp>

#include "util/json.h"
#include "run/run_impl.h"
#include "util/validation.h"

namespace runtrack {

using journal::NameKind;
using journal::PackedPoint;
using journal::PendingRecords;
using journal::RecordType;

namespace {

Status AlreadyFinished(const std::string& id) {
  return Status::FailedPrecondition(fmt::format("run {} is already finished", id));
}

}  // namespace

std::string_view RunStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning: return "running";
    case RunStatus::kFinished: return "finished";
    case RunStatus::kFailed: return "failed";
    case RunStatus::kInterrupted: return "interrupted";
  }
  return "unknown";
}

Result<RunStatus> ParseRunStatus(std::string_view name) {
  for (RunStatus s : {RunStatus::kRunning, RunStatus::kFinished, RunStatus::kFailed, RunStatus::kInterrupted})
    if (RunStatusName(s) == name) return s;
  return Status::InvalidArgument(fmt::format(
      "unknown run status '{}': expected one of running, finished, failed, interrupted",
      util::IsValidUtf8(name) ? name : "<binary>"));
}

std::string_view MetricModeName(MetricMode mode) { return mode == MetricMode::kMax ? "max" : "min"; }

Result<MetricMode> ParseMetricMode(std::string_view name) {
  if (name == "max") return MetricMode::kMax;
  if (name == "min") return MetricMode::kMin;
  return Status::InvalidArgument(fmt::format("unknown metric mode '{}': expected max or min",
                                             util::IsValidUtf8(name) ? name : "<binary>"));
}

uint32_t Run::Impl::Intern(PendingRecords& out, NameTable& table, NameKind kind, std::string_view name) {
  if (auto it = table.find(name); it != table.end()) return it->second;
  uint32_t id = next_name_id++;
  table.emplace(std::string(name), id);
  out.Add(RecordType::kName, journal::EncodeName(id, kind, name));
  return id;
}

// With journal shipping on, waits (bounded) until the server has the whole closed journal. A
// timeout or a refusal is not the run's failure: the journal is safe on disk and is shipped later,
// so it is reported on stderr and Finish() still succeeds.
static void DrainShipper(Run::Impl& impl) {
  if (!impl.shipper) return;
  const auto start = std::chrono::steady_clock::now();
  Status drained = impl.shipper->Drain(impl.id, impl.ship_timeout);
  if (!drained.ok())
    std::fprintf(stderr, "runtrack: run %s: journal not fully shipped: %s\n", impl.id.c_str(),
                 drained.ToString().c_str());
  if (!impl.system_stream) return;
  // One bound for both: the system stream shipped alongside, so it is usually done by now.
  auto left = impl.ship_timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - start);
  drained = impl.system_stream->Drain(std::max(left, std::chrono::milliseconds(0)));
  if (!drained.ok())
    std::fprintf(stderr, "runtrack: run %s: system-metrics stream not fully shipped: %s\n", impl.id.c_str(),
                 drained.ToString().c_str());
}

// Ends the system-metrics stream before the run's final record, so a viewer never sees a
// finished run whose system stream still grows. A failure is only the stream's (on stderr).
static void StopSystemStream(Run::Impl& impl) {
  if (!impl.system_stream) return;
  Status stopped = impl.system_stream->Stop();
  if (!stopped.ok())
    std::fprintf(stderr, "runtrack: run %s: system-metrics stream: %s\n", impl.id.c_str(), stopped.ToString().c_str());
}

Run::Run(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Run::~Run() {
  if (!impl_) return;
  bool finished = false;
  impl_->writer->Append([&](PendingRecords&) { finished = impl_->finished; });
  if (!finished) {
    StopSystemStream(*impl_);
    boost::json::object status{{"status", "interrupted"}, {"exit_reason", "not_finished"},
                               {"ended_at", util::NowSeconds()}};
    impl_->writer->Append([&](PendingRecords& out) {
      impl_->finished = true;
      out.Add(RecordType::kStatus, util::SerializeJson(status));
    });
    (void)impl_->writer->Close();
    DrainShipper(*impl_);
  }
}

const std::string& Run::id() const { return impl_->id; }
const std::string& Run::project() const { return impl_->project; }
const std::string& Run::name() const { return impl_->name; }
const std::filesystem::path& Run::dir() const { return impl_->dir; }
const std::optional<std::string>& Run::path() const { return impl_->path; }
const std::string& Run::alias() const { return impl_->alias; }

Status Run::Log(int64_t step, std::string_view metric, double value) {
  // Validation costs a UTF-8 scan, so it runs only for names this run has not seen yet.
  Status result;
  double now = util::NowSeconds();
  impl_->writer->Append([&](PendingRecords& out) {
    if (impl_->finished) {
      result = AlreadyFinished(impl_->id);
      return;
    }
    uint32_t id;
    if (impl_->last_metric_id != 0 && metric == impl_->last_metric) {  // loops log one name over and over
      id = impl_->last_metric_id;
    } else if (auto it = impl_->metric_ids.find(metric); it != impl_->metric_ids.end()) {
      id = it->second;
    } else {
      result = util::CheckMetricName(metric);
      if (!result.ok()) return;
      id = impl_->Intern(out, impl_->metric_ids, NameKind::kMetric, metric);
    }
    if (id != impl_->last_metric_id) {
      impl_->last_metric.assign(metric);
      impl_->last_metric_id = id;
    }
    impl_->step_counter = step;
    out.AddPoint(PackedPoint{id, 0, step, now, value});
  });
  return result;
}

Status Run::Log(std::span<const MetricValue> values, std::optional<int64_t> step, std::string_view stage) {
  Status result;
  double now = util::NowSeconds();
  impl_->writer->Append([&](PendingRecords& out) {
    if (impl_->finished) {
      result = AlreadyFinished(impl_->id);
      return;
    }
    for (const auto& [metric, value] : values) {
      if (impl_->metric_ids.find(metric) == impl_->metric_ids.end()) {
        result = util::CheckMetricName(metric);
        if (!result.ok()) return;
      }
    }
    uint32_t stage_id = 0;
    if (!stage.empty()) {
      if (impl_->stage_ids.find(stage) == impl_->stage_ids.end()) {
        result = util::CheckLabel("stage", stage);
        if (!result.ok()) return;
      }
      stage_id = impl_->Intern(out, impl_->stage_ids, NameKind::kStage, stage);
    }
    int64_t at = step ? *step : impl_->step_counter + 1;
    impl_->step_counter = at;
    for (const auto& [metric, value] : values) {
      uint32_t id = impl_->Intern(out, impl_->metric_ids, NameKind::kMetric, metric);
      out.AddPoint(PackedPoint{id, stage_id, at, now, value});
    }
  });
  return result;
}

namespace {

// Queues one JSON record unless the run is finished.
Status AppendJson(Run::Impl& impl, RecordType type, const boost::json::object& body) {
  std::string payload = util::SerializeJson(body);
  Status result;
  impl.writer->Append([&](PendingRecords& out) {
    if (impl.finished) {
      result = AlreadyFinished(impl.id);
      return;
    }
    out.Add(type, std::move(payload));
  });
  return result;
}

}  // namespace

Status Run::Summary(const boost::json::object& values) {
  return AppendJson(*impl_, RecordType::kSummary, values);
}

Status Run::SetPrimaryMetric(std::string_view metric, MetricMode mode) {
  RUNTRACK_RETURN_IF_ERROR(util::CheckMetricName(metric));
  return AppendJson(*impl_, RecordType::kPrimaryMetric,
                    {{"name", metric}, {"mode", MetricModeName(mode)}});
}

Status Run::LogText(std::string_view line) {
  if (!util::IsValidUtf8(line)) return Status::InvalidArgument("log text is not valid UTF-8");
  std::string text(line);
  if (text.empty() || text.back() != '\n') text.push_back('\n');
  Status result;
  impl_->writer->Append([&](PendingRecords& out) {
    if (impl_->finished) {
      result = AlreadyFinished(impl_->id);
      return;
    }
    out.Add(RecordType::kText, std::move(text));
  });
  return result;
}

Status Run::RecordArtifact(std::string_view relation, std::string_view name, std::string_view type,
                           int version) {
  if (relation != "produced" && relation != "used")
    return Status::InvalidArgument("artifact relation must be 'produced' or 'used'");
  RUNTRACK_RETURN_IF_ERROR(util::CheckLabel("artifact name", name));
  RUNTRACK_RETURN_IF_ERROR(util::CheckLabel("artifact type", type));
  if (version < 1) return Status::InvalidArgument("artifact version must be >= 1");
  return AppendJson(*impl_, RecordType::kArtifact,
                    {{"relation", relation}, {"name", name}, {"type", type}, {"version", version}});
}

Status Run::Flush() {
  bool finished = false;
  impl_->writer->Append([&](PendingRecords&) { finished = impl_->finished; });
  if (finished) return AlreadyFinished(impl_->id);
  return impl_->writer->Flush(/*sync=*/true);
}

Status Run::Finish(RunStatus status) {
  if (status == RunStatus::kRunning)
    return Status::InvalidArgument("a run cannot finish with status 'running'");
  StopSystemStream(*impl_);
  std::string body = util::SerializeJson(
      boost::json::object{{"status", RunStatusName(status)}, {"ended_at", util::NowSeconds()}});
  Status result;
  impl_->writer->Append([&](PendingRecords& out) {
    if (impl_->finished) {
      result = AlreadyFinished(impl_->id);
      return;
    }
    impl_->finished = true;  // in the same critical section, so only one Finish() wins
    out.Add(RecordType::kStatus, std::move(body));
  });
  RUNTRACK_RETURN_IF_ERROR(result);
  Status s = impl_->writer->Close();
  impl_->lock.Release();  // only after the final status is on disk
  DrainShipper(*impl_);
  return s;
}

Status Run::Finish(std::string_view status) {
  RUNTRACK_ASSIGN_OR_RETURN(RunStatus parsed, ParseRunStatus(status));
  return Finish(parsed);
}

Status Run::background_error() const { return impl_->writer->background_error(); }

}  // namespace runtrack

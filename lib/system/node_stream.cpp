#include "system/node_stream.h"

#include <unistd.h>

#include <boost/json/object.hpp>
#include <fmt/format.h>

#include "journal/journal_writer.h"
#include "system/host_lock.h"
#include "util/files.h"
#include "util/json.h"

namespace runtrack {

std::string SystemStreamName(std::string_view hostname) {
  std::string host(hostname.substr(0, 64 - kSystemStreamPrefix.size()));
  for (char& c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '.' || c == '-';
    if (!ok) c = '-';
  }
  if (host.empty()) host = "unknown";
  return std::string(kSystemStreamPrefix) + host;
}

namespace telemetry {
namespace {

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

// The journal is flushed by WriteSample after every sample; the writer's own timer only has to
// catch what that misses, so it wakes rarely (its wake-ups are most of an idle writer's cost).
constexpr journal::JournalWriter::Policy kWriterPolicy{std::chrono::seconds(30), 1u << 20};

}  // namespace

Result<std::unique_ptr<NodeSystemStream>> NodeSystemStream::Start(const StoreLayout& layout, const std::string& run_id,
                                                                  NodeStreamOptions options) {
  if (options.interval.count() <= 0)
    return Status::InvalidArgument(
        fmt::format("system metrics: interval must be positive, got {} ms", options.interval.count()));
  RUNTRACK_ASSIGN_OR_RETURN(std::unique_ptr<HostRunLock> lock, HostRunLock::TryAcquire(options.lock_dir, run_id));
  if (!lock) return std::unique_ptr<NodeSystemStream>();  // another rank on this host samples the run

  std::unique_ptr<NodeSystemStream> out(new NodeSystemStream());
  out->run_id_ = run_id;
  out->stream_ = SystemStreamName(HostName());
  out->after_sample_ = std::move(options.after_sample);
  out->lock_ = std::move(lock);
  const std::filesystem::path journal = layout.stream_journal_path(run_id, out->stream_);
  RUNTRACK_ASSIGN_OR_RETURN(out->writer_, journal::JournalWriter::Create(journal, kWriterPolicy));

  if (options.shipping) {
    // The shipper sends <root>/runs/<id>/journal of the store it is given; a hard link gives the
    // stream that shape without a second copy or a change to the shipping protocol.
    const StoreLayout ship(layout.system_ship_root(run_id));
    RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(ship.run_dir(run_id)));
    if (::link(journal.c_str(), ship.journal_path(run_id).c_str()) != 0)
      return util::ErrnoStatus("link system-metrics stream for shipping", ship.journal_path(run_id));
    out->shipper_ = std::make_unique<JournalShipper>(ship, *options.shipping);
    RUNTRACK_RETURN_IF_ERROR(out->shipper_->Track(run_id, out->stream_));
  }

  SystemSamplerOptions sampler;
  sampler.interval = options.interval;
  sampler.disk_path = options.disk_path;
  NodeSystemStream* self = out.get();
  // A failed sample (e.g. /proc unreadable for a moment) is skipped: the stream has a gap there.
  RUNTRACK_ASSIGN_OR_RETURN(out->sampler_, SystemSampler::Start(sampler, [self](const Result<SystemSample>& s) {
                              if (s.ok()) self->WriteSample(*s);
                            }));
  return out;
}

void NodeSystemStream::WriteSample(const SystemSample& sample) {
  const std::vector<std::pair<std::string, double>> values = SystemMetricValues(sample);
  const int64_t step = ++samples_;
  const double wall_time = sample.system.wall_time;
  writer_->Append([&](journal::PendingRecords& out) {
    for (const auto& [name, value] : values) {
      auto [it, inserted] = metric_ids_.try_emplace(name, static_cast<uint32_t>(metric_ids_.size() + 1));
      if (inserted) out.Add(journal::RecordType::kName, journal::EncodeName(it->second, journal::NameKind::kMetric, name));
      out.AddPoint(journal::PackedPoint{it->second, 0, step, wall_time, value});
    }
  });
  (void)writer_->Flush(/*sync=*/false);  // an I/O error ends the journal; Stop() reports it
  if (after_sample_) after_sample_(step);
}

Status NodeSystemStream::Stop() {
  std::lock_guard g(stop_mu_);
  if (stopped_) return *stopped_;
  if (sampler_) sampler_->Stop();  // joins: no WriteSample runs after this
  std::string body = util::SerializeJson(boost::json::object{{"status", "finished"}, {"ended_at", util::NowSeconds()}});
  writer_->Append([&](journal::PendingRecords& out) { out.Add(journal::RecordType::kStatus, std::move(body)); });
  Status closed = writer_->Close();
  lock_.reset();
  if (shipper_ && closed.ok()) (void)shipper_->Track(run_id_, stream_);  // wakes it for the final record
  stopped_ = closed;
  return closed;
}

Status NodeSystemStream::Drain(std::chrono::milliseconds timeout) {
  if (!shipper_) return Status::Ok();
  return shipper_->Drain(run_id_, timeout);
}

NodeSystemStream::~NodeSystemStream() {
  if (writer_) (void)Stop();
  sampler_.reset();
  shipper_.reset();  // stops its thread; what is not acknowledged stays for `runicorn sync`
}

}  // namespace telemetry
}  // namespace runtrack

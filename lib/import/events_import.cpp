#include "import/events_import.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>

#include "import/runicorn_json.h"
#include "util/files.h"
#include "util/json.h"
#include "util/validation.h"

namespace runtrack::importer {
namespace json = boost::json;
namespace {

constexpr int kMaxLineReports = 10;

// Calls on_line(line, terminated) for each line of a regular file opened without following links.
// A read error of the source is stored in *read_error (the lines before it were delivered); the
// return value is the first error of on_line.
template <typename OnLine>
Status ForEachLine(int fd, const fs::path& path, OnLine&& on_line, Status* read_error) {
  std::string buffer;
  std::string block(1 << 20, '\0');
  for (;;) {
    ssize_t n = ::read(fd, block.data(), block.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      *read_error = util::ErrnoStatus("read", path);
      return Status::Ok();
    }
    if (n == 0) break;
    buffer.append(block.data(), static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
      RUNTRACK_RETURN_IF_ERROR(on_line(std::string_view(buffer).substr(start, nl - start), true));
    }
    buffer.erase(0, start);
  }
  if (!buffer.empty()) RUNTRACK_RETURN_IF_ERROR(on_line(std::string_view(buffer), false));
  return Status::Ok();
}

std::optional<int64_t> AsStep(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return static_cast<int64_t>(v->get_uint64());
  if (v->is_double()) {
    double d = v->get_double();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2e18) return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

std::optional<double> AsNumber(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  return std::nullopt;
}

bool IsBlank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r') return false;
  return true;
}

class EventsReader {
 public:
  EventsReader(std::string item, const SkipLog& log, const PointSink& sink)
      : item_(std::move(item)), log_(log), sink_(sink) {}

  Status Line(std::string_view line, bool terminated) {
    ++line_no_;
    if (IsBlank(line)) return Status::Ok();
    auto parsed = ParseRunicornObject(line);
    if (!parsed.ok()) {
      if (!terminated) {
        log_.Add(item_, fmt::format("line {}: torn last line (no newline, incomplete JSON), skipped", line_no_));
      } else if (++bad_lines_ <= kMaxLineReports) {
        log_.Add(item_, fmt::format("line {}: invalid JSON, skipped ({})", line_no_, parsed.status().message()));
      }
      return Status::Ok();
    }
    const json::object& event = *parsed;
    std::optional<double> ts = AsNumber(event.if_contains("ts"));
    if (ts) Seen(*ts);
    const json::value* type = event.if_contains("type");
    const json::value* data = event.if_contains("data");
    std::string type_name = type && type->is_string() ? std::string(type->get_string()) : "<none>";
    if (data == nullptr || !data->is_object() || (type_name != "metrics" && type_name != "image")) {
      ++other_events_[type_name];
      return Status::Ok();
    }
    const json::object& d = data->get_object();
    if (type_name == "image") return Image(d, ts);
    return Metrics(d, ts);
  }

  void Finish() {
    if (bad_lines_ > kMaxLineReports)
      log_.Add(item_, fmt::format("{} more invalid lines skipped", bad_lines_ - kMaxLineReports));
    if (no_step_ > 0) log_.Add(item_, fmt::format("{} metrics events without global_step or step skipped", no_step_));
    for (const auto& [key, n] : non_numeric_)
      log_.Add(item_, fmt::format("metric '{}': {} non-numeric values (strings, nulls, lists) not imported", key, n));
    for (const auto& name : bad_names_)
      log_.Add(item_, fmt::format("metric name refused by our store, its values skipped: {}", name));
    for (const auto& stage : bad_stages_)
      log_.Add(item_, fmt::format("stage name refused by our store, its points imported without a stage: {}", stage));
    for (const auto& [type, n] : other_events_)
      log_.Add(item_, fmt::format("{} events of type '{}' not imported", n, type));
  }

  EventsSummary summary;

 private:
  void Seen(double t) {
    if (!summary.first_wall_time || t < *summary.first_wall_time) summary.first_wall_time = t;
    if (!summary.last_wall_time || t > *summary.last_wall_time) summary.last_wall_time = t;
  }

  Status Image(const json::object& d, std::optional<double> ts) {
    ImageEvent e;
    if (auto* k = d.if_contains("key"); k && k->is_string()) e.key = k->get_string();
    if (auto* p = d.if_contains("path"); p && p->is_string()) e.path = p->get_string();
    if (auto* s = d.if_contains("step")) e.step = *s;
    if (auto* c = d.if_contains("caption")) e.caption = *c;
    e.time = ts.value_or(0);
    summary.images.push_back(std::move(e));
    return Status::Ok();
  }

  Status Metrics(const json::object& d, std::optional<double> ts) {
    std::optional<int64_t> step = AsStep(d.if_contains("global_step"));
    if (!step) step = AsStep(d.if_contains("step"));
    if (!step) {
      ++no_step_;
      return Status::Ok();
    }
    std::optional<double> wall = AsNumber(d.if_contains("time"));
    if (!wall) wall = ts;
    if (wall) Seen(*wall);
    std::string stage;
    if (auto* s = d.if_contains("stage"); s && !s->is_null()) {
      stage = s->is_string() ? std::string(s->get_string()) : util::SerializeJson(*s);
      if (!util::CheckLabel("stage", stage).ok()) {
        bad_stages_.insert(util::IsValidUtf8(stage) ? stage : "<invalid UTF-8>");
        stage.clear();
      }
    }
    for (const auto& [key, value] : d) {
      if (key == "global_step" || key == "time" || key == "stage") continue;
      std::optional<double> v = AsNumber(&value);
      if (!v && value.is_bool()) v = value.get_bool() ? 1.0 : 0.0;
      if (!v) {
        ++non_numeric_[std::string(key)];
        continue;
      }
      if (!CheckName(key)) continue;
      RUNTRACK_RETURN_IF_ERROR(sink_(key, stage, *step, wall.value_or(0), *v));
      ++summary.points;
    }
    return Status::Ok();
  }

  bool CheckName(std::string_view name) {
    if (good_names_.count(std::string(name))) return true;
    if (!util::CheckMetricName(name).ok()) {
      bad_names_.insert(util::IsValidUtf8(name) ? std::string(name) : "<invalid UTF-8>");
      return false;
    }
    good_names_.insert(std::string(name));
    return true;
  }

  std::string item_;
  const SkipLog& log_;
  const PointSink& sink_;
  uint64_t line_no_ = 0;
  uint64_t bad_lines_ = 0;
  uint64_t no_step_ = 0;
  std::map<std::string, uint64_t> non_numeric_;
  std::map<std::string, uint64_t> other_events_;
  std::set<std::string> good_names_, bad_names_, bad_stages_;
};

}  // namespace

Result<EventsSummary> ReadEvents(const fs::path& file, const std::string& item, const SkipLog& log,
                                 const PointSink& sink) {
  EntryKind kind = KindOf(file);
  if (kind == EntryKind::kMissing) return EventsSummary{};
  if (kind != EntryKind::kFile) {
    log.Add(item, kind == EntryKind::kSymlink ? "symbolic link: links are never followed" : "not a regular file");
    return EventsSummary{};
  }
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    log.Add(item, util::ErrnoStatus("cannot be opened:", file).message());
    return EventsSummary{};
  }
  EventsReader reader(item, log, sink);
  Status read_error;
  Status s = ForEachLine(
      fd, file, [&](std::string_view line, bool terminated) { return reader.Line(line, terminated); }, &read_error);
  ::close(fd);
  RUNTRACK_RETURN_IF_ERROR(s);
  reader.Finish();
  if (!read_error.ok()) log.Add(item, read_error.message() + "; the lines before were imported");
  return std::move(reader.summary);
}

}  // namespace runtrack::importer

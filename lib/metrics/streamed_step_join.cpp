#include "metrics/streamed_step_join.h"

#include <string>
#include <vector>

namespace runtrack {
namespace {

// The points of one monotonic series with a step in range, in step order, read a batch at a time.
class StepCursor {
 public:
  StepCursor(const StoredSeries& series, int64_t step_min, int64_t step_max)
      : read_(&series.read), step_min_(step_min), step_max_(step_max) {
    const OrdinalRange range = series.pyramid->LocateStepRange(step_min, step_max);
    next_ordinal_ = range.begin;
    end_ordinal_ = range.empty() ? range.begin : range.end;
  }

  // The current point, or nullptr once the range is exhausted.
  Result<const MetricPoint*> Head() {
    while (pos_ == buffer_.size()) {
      if (next_ordinal_ >= end_ordinal_) return nullptr;
      RUNTRACK_RETURN_IF_ERROR(Refill());
    }
    return &buffer_[pos_];
  }
  void Pop() {
    ++pos_;
    ++points_in_range_;
  }
  uint64_t points_in_range() const { return points_in_range_; }

 private:
  // 64 raw chunks per read: few reader calls, small buffer.
  static constexpr uint64_t kBatch = 64 * LodPyramid::kRawChunkPoints;

  Status Refill() {
    const uint64_t end = std::min(end_ordinal_, next_ordinal_ + kBatch);
    buffer_.clear();
    pos_ = 0;
    RUNTRACK_RETURN_IF_ERROR((*read_)(next_ordinal_, end, &buffer_));
    if (buffer_.size() != end - next_ordinal_)
      return Status::Corruption("raw point reader returned " + std::to_string(buffer_.size()) +
                                " points for ordinals [" + std::to_string(next_ordinal_) + ", " +
                                std::to_string(end) + ")");
    next_ordinal_ = end;
    // Steps never decrease: points below the range lead, points above it end the range.
    while (pos_ < buffer_.size() && buffer_[pos_].step < step_min_) ++pos_;
    for (size_t i = pos_; i < buffer_.size(); ++i) {
      if (buffer_[i].step > step_max_) {
        buffer_.resize(i);
        end_ordinal_ = next_ordinal_;
        break;
      }
    }
    return Status::Ok();
  }

  const RawPointReader* read_;
  int64_t step_min_, step_max_;
  uint64_t next_ordinal_ = 0, end_ordinal_ = 0;
  std::vector<MetricPoint> buffer_;
  size_t pos_ = 0;
  uint64_t points_in_range_ = 0;
};

}  // namespace

Result<StreamedStepJoin> JoinOnStepStreamed(std::span<const StoredSeries> series, int64_t step_min,
                                            int64_t step_max, uint64_t max_rows, bool count_past_max_rows) {
  std::vector<StepCursor> cursors;
  cursors.reserve(series.size());
  for (const StoredSeries& s : series) {
    if (s.pyramid == nullptr || !s.pyramid->steps_monotonic() || !s.read)
      return Status::InvalidArgument("streamed join needs monotonic series with a reader");
    cursors.emplace_back(s, step_min, step_max);
  }
  StreamedStepJoin out;
  StepJoin& join = out.join;
  std::vector<const MetricPoint*> heads(series.size());
  for (;;) {
    // The smallest step at any cursor is the next row.
    bool any = false;
    int64_t step = 0;
    for (size_t m = 0; m < cursors.size(); ++m) {
      RUNTRACK_ASSIGN_OR_RETURN(heads[m], cursors[m].Head());
      if (heads[m] != nullptr && (!any || heads[m]->step < step)) {
        step = heads[m]->step;
        any = true;
      }
    }
    if (!any) break;
    const bool keep = max_rows == 0 || join.steps.size() < max_rows;
    if (!keep && !join.next_step) join.next_step = step;
    if (!keep && !count_past_max_rows) break;
    ++join.total_steps;
    if (keep) {
      join.steps.push_back(step);
      join.values.emplace_back(series.size());
      join.row_points.emplace_back();
    }
    // Same rule as JoinOnStep: a series' later point at a step replaces its earlier one; across
    // series the later wall time decides the row, a tie keeping the earlier series.
    size_t decided_by = SIZE_MAX;
    for (size_t m = 0; m < cursors.size(); ++m) {
      while (heads[m] != nullptr && heads[m]->step == step) {
        if (keep) {
          const MetricPoint& p = *heads[m];
          join.values.back()[m] = p.value;
          if (decided_by == SIZE_MAX || decided_by == m || p.wall_time > join.row_points.back().wall_time) {
            join.row_points.back() = p;
            decided_by = m;
          }
        }
        cursors[m].Pop();
        RUNTRACK_ASSIGN_OR_RETURN(heads[m], cursors[m].Head());
      }
    }
  }
  for (const StepCursor& c : cursors) out.points_in_range += c.points_in_range();
  return out;
}

}  // namespace runtrack

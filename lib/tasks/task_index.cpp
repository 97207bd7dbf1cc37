#include "tasks/task_index.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <unordered_set>

#include "tasks/task_info_store.h"
#include "util/files.h"

namespace runtrack::tasks {

namespace fs = std::filesystem;

namespace {

bool IsActive(TaskStatus s) { return s == TaskStatus::kRunning || s == TaskStatus::kQueued; }

// Compares digit runs by value, everything else bytewise.
bool NaturalLess(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    bool da = a[i] >= '0' && a[i] <= '9', db = b[j] >= '0' && b[j] <= '9';
    if (da && db) {
      size_t ie = i, je = j;
      while (ie < a.size() && a[ie] >= '0' && a[ie] <= '9') ++ie;
      while (je < b.size() && b[je] >= '0' && b[je] <= '9') ++je;
      std::string_view na = a.substr(i, ie - i), nb = b.substr(j, je - j);
      while (na.size() > 1 && na[0] == '0') na.remove_prefix(1);
      while (nb.size() > 1 && nb[0] == '0') nb.remove_prefix(1);
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (na != nb) return na < nb;
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

// The kernel stamps directory mtimes with a coarse clock, so a change within the same tick as
// our stat would look like no change. A stamp this recent is therefore not trusted.
bool RecentStamp(const struct timespec& ts) {
  struct timespec now {};
  clock_gettime(CLOCK_REALTIME, &now);
  double age = static_cast<double>(now.tv_sec - ts.tv_sec) + (now.tv_nsec - ts.tv_nsec) / 1e9;
  return age < 0.05;
}

bool StartsWithRotatedLine(const fs::path& log_path) {
  int fd = ::open(log_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::string head(kStatusLogRotatedLine.size(), '\0');
  ssize_t n = ::pread(fd, head.data(), head.size(), 0);
  ::close(fd);
  return n == static_cast<ssize_t>(head.size()) && head == kStatusLogRotatedLine;
}

}  // namespace

bool TaskListOrder(const TaskSummary& a, const TaskSummary& b) {
  if (a.pinned != b.pinned) return a.pinned;
  bool aa = IsActive(a.status), ba = IsActive(b.status);
  if (aa != ba) return aa;
  bool ao = a.task_order >= 0, bo = b.task_order >= 0;
  if (ao != bo) return bo;  // new, not yet ordered tasks show above the manually ordered ones
  if (a.task_order != b.task_order) return a.task_order < b.task_order;
  if (a.created_at != b.created_at) return a.created_at > b.created_at;
  return NaturalLess(a.name, b.name);
}

void TaskIndex::RecordLocked(std::string name, std::string event, std::string old_name) {
  TaskChange c;
  c.revision = ++revision_;
  c.name = std::move(name);
  c.event = std::move(event);
  c.old_name = std::move(old_name);
  changes_.push_back(std::move(c));
  if (changes_.size() > kKeptChanges) changes_.pop_front();
}

void TaskIndex::ReloadLocked(const std::string& name, bool record_diff) {
  auto info = LoadTaskInfo(tasks_dir_ / name);
  if (!info.ok()) {
    // Gone (trashed, renamed) or not a task: the directory scan decides whether it is listed.
    if (info.status().code() == StatusCode::kNotFound && tasks_.erase(name) > 0) {
      inodes_.erase(name);
      if (loaded_) RecordLocked(name, "deleted");
    }
    return;
  }
  TaskSummary now = SummaryFromInfo(name, *info);
  auto it = tasks_.find(name);
  // A task new to the index is reported by the directory scan (created or renamed).
  if (record_diff && loaded_ && it != tasks_.end()) {
    if (it->second.status != now.status) {
      RecordLocked(name, std::string(TaskStatusName(now.status)));
    } else if (it->second.task_order != now.task_order || it->second.pinned != now.pinned) {
      RecordLocked(name, "reordered");
    }
  }
  tasks_[name] = std::move(now);
}

Status TaskIndex::RefreshLocked(bool rescan) {
  struct stat dir_st {};
  if (::stat(tasks_dir_.c_str(), &dir_st) != 0) return util::ErrnoStatus("stat", tasks_dir_);
  bool dir_changed = !loaded_ || rescan || dir_st.st_mtim.tv_sec != dir_mtime_.tv_sec ||
                     dir_st.st_mtim.tv_nsec != dir_mtime_.tv_nsec;
  if (dir_changed) {
    DIR* d = ::opendir(tasks_dir_.c_str());
    if (!d) return util::ErrnoStatus("opendir", tasks_dir_);
    std::unordered_set<std::string> seen;
    std::vector<std::pair<std::string, ino_t>> added;
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name.empty() || name[0] == '.') continue;  // ., .., .trash, staging, locks, logs
      if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
      if (!CheckTaskName(name).ok()) continue;
      seen.insert(name);
      bool is_new = !tasks_.count(name);
      if (rescan || is_new) ReloadLocked(name, /*record_diff=*/true);
      if (!tasks_.count(name)) continue;  // not a task (no readable task_info.json)
      if (is_new) added.emplace_back(name, e->d_ino);
      else inodes_[name] = e->d_ino;
    }
    ::closedir(d);
    // A folder that left under one name and arrived under another is the same inode: a rename.
    std::unordered_map<ino_t, std::string> removed;
    for (auto it = tasks_.begin(); it != tasks_.end();) {
      if (seen.count(it->first)) {
        ++it;
        continue;
      }
      if (auto ino = inodes_.find(it->first); ino != inodes_.end()) {
        removed[ino->second] = it->first;
        inodes_.erase(ino);
      } else if (loaded_) {
        RecordLocked(it->first, "deleted");
      }
      it = tasks_.erase(it);
    }
    for (auto& [name, ino] : added) {
      inodes_[name] = ino;
      if (!loaded_) continue;
      if (auto r = removed.find(ino); r != removed.end()) {
        RecordLocked(name, "renamed", r->second);
        removed.erase(r);
      } else {
        RecordLocked(name, "created");
      }
    }
    if (loaded_)
      for (auto& [ino, name] : removed) RecordLocked(name, "deleted");
    dir_mtime_ = RecentStamp(dir_st.st_mtim) ? timespec{0, 0} : dir_st.st_mtim;
  }

  fs::path log_path = tasks_dir_ / kStatusLogFile;
  struct stat log_st {};
  if (::stat(log_path.c_str(), &log_st) == 0) {
    bool first = !loaded_;
    if (log_st.st_ino != status_log_ino_ || log_st.st_size < status_log_offset_) {
      // The log's first appearance since we loaded (the first status change ever): its lines
      // are all new, read them from the start. Otherwise a replaced or truncated log:
      // everything may have changed since we last looked.
      bool appeared = loaded_ && status_log_ino_ == 0;
      // ... unless it was replaced (AppendStatusLog) before we first saw it: lines are lost.
      if (appeared && StartsWithRotatedLine(log_path)) appeared = false;
      status_log_ino_ = log_st.st_ino;
      status_log_offset_ = 0;
      if (!first && !appeared) {
        // (ReloadLocked may erase: iterate over a copy of the names.)
        std::vector<std::string> names;
        names.reserve(tasks_.size());
        for (const auto& [name, s] : tasks_) names.push_back(name);
        for (const auto& name : names) ReloadLocked(name, /*record_diff=*/true);
        first = true;
      }
    }
    if (log_st.st_size > status_log_offset_) {
      int fd = ::open(log_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return util::ErrnoStatus("open", log_path);
      std::string buf(static_cast<size_t>(log_st.st_size - status_log_offset_), '\0');
      ssize_t n = ::pread(fd, buf.data(), buf.size(), status_log_offset_);
      ::close(fd);
      if (n < 0) return util::ErrnoStatus("read", log_path);
      buf.resize(static_cast<size_t>(n));
      size_t consumed = buf.rfind('\n');
      consumed = consumed == std::string::npos ? 0 : consumed + 1;
      status_log_offset_ += static_cast<off_t>(consumed);
      // On the first load every summary was just read from disk: the log adds nothing.
      if (!first) {
        // Every line is a change event; each changed task is reloaded once.
        std::unordered_set<std::string> changed;
        size_t pos = 0;
        while (pos < consumed) {
          size_t end = buf.find('\n', pos);
          size_t tab = buf.find('\t', pos);
          if (tab != std::string::npos && tab < end) {
            std::string name = buf.substr(pos, tab - pos);
            if (tasks_.count(name)) {
              RecordLocked(name, buf.substr(tab + 1, end - tab - 1));
              changed.insert(std::move(name));
            }
          }
          pos = end + 1;
        }
        for (const auto& name : changed)
          if (tasks_.count(name)) ReloadLocked(name, /*record_diff=*/false);
      }
    }
  }
  loaded_ = true;
  return Status::Ok();
}

Result<TaskPage> TaskIndex::List(const TaskListQuery& query) {
  std::lock_guard lock(mu_);
  RUNTRACK_RETURN_IF_ERROR(RefreshLocked(query.rescan));
  TaskPage page;
  page.offset = query.offset;
  std::vector<const TaskSummary*> matches;
  matches.reserve(tasks_.size());
  for (const auto& [name, s] : tasks_) {
    ++page.status_counts[static_cast<size_t>(s.status)];
    if (!query.status || *query.status == s.status) matches.push_back(&s);
  }
  page.total = matches.size();
  if (query.offset >= matches.size()) return page;
  size_t end = std::min(matches.size(), query.offset + query.limit);
  auto cmp = [](const TaskSummary* a, const TaskSummary* b) { return TaskListOrder(*a, *b); };
  std::partial_sort(matches.begin(), matches.begin() + static_cast<ptrdiff_t>(end), matches.end(), cmp);
  for (size_t k = query.offset; k < end; ++k) page.items.push_back(*matches[k]);
  page.has_more = end < matches.size();
  return page;
}

Result<TaskChanges> TaskIndex::ChangesSince(uint64_t since) {
  std::lock_guard lock(mu_);
  RUNTRACK_RETURN_IF_ERROR(RefreshLocked(false));
  TaskChanges out;
  out.revision = revision_;
  if (since >= revision_) return out;
  if (changes_.empty() || changes_.front().revision > since + 1) {
    out.truncated = true;  // what came between was dropped: the caller refetches
    return out;
  }
  for (const auto& c : changes_)
    if (c.revision > since) out.changes.push_back(c);
  return out;
}

Result<std::vector<TaskSummary>> TaskIndex::Active() {
  std::lock_guard lock(mu_);
  RUNTRACK_RETURN_IF_ERROR(RefreshLocked(false));
  std::vector<TaskSummary> out;
  for (const auto& [name, s] : tasks_)
    if (IsActive(s.status)) out.push_back(s);
  return out;
}

}  // namespace runtrack::tasks


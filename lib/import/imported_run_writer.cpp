#include "import/imported_run_writer.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

#include "util/files.h"
#include "util/json.h"

namespace runtrack::importer {

using journal::NameKind;
using journal::RecordType;

namespace {

constexpr std::string_view kTmpPrefix = ".import-";
constexpr size_t kWriteThreshold = 1u << 20;
constexpr size_t kMaxTextRecord = 1u << 20;

}  // namespace

Result<std::unique_ptr<ImportedRunWriter>> ImportedRunWriter::Create(const StoreLayout& layout,
                                                                     const std::string& run_id) {
  static std::atomic<uint64_t> counter{0};
  fs::path tmp = layout.runs_dir() / fmt::format("{}{}-{}-{}", kTmpPrefix, run_id, ::getpid(), counter++);
  auto staged = [&](const fs::path& final_path) { return tmp / final_path.lexically_relative(layout.run_dir(run_id)); };
  const fs::path journal = staged(layout.journal_path(run_id));
  if (::mkdir(tmp.c_str(), 0755) != 0) return util::ErrnoStatus("create import folder", tmp);
  auto cleanup = [&](Status s) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    return s;
  };
  Status touched = util::TouchFile(staged(layout.lock_path(run_id)));
  if (!touched.ok()) return cleanup(touched);
  int fd = ::open(journal.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return cleanup(util::ErrnoStatus("create journal", journal));
  std::string header = journal::EncodeHeader();
  Status wrote = util::WriteAll(fd, header.data(), header.size(), journal);
  if (!wrote.ok()) {
    ::close(fd);
    return cleanup(wrote);
  }
  return std::unique_ptr<ImportedRunWriter>(new ImportedRunWriter(layout, run_id, tmp, fd));
}

ImportedRunWriter::~ImportedRunWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!published_) {
    std::error_code ec;
    fs::remove_all(tmp_dir_, ec);
  }
}

uint32_t ImportedRunWriter::Intern(std::unordered_map<std::string, uint32_t>& table, NameKind kind,
                                   std::string_view name) {
  auto it = table.find(std::string(name));
  if (it != table.end()) return it->second;
  uint32_t id = next_name_id_++;
  table.emplace(std::string(name), id);
  pending_.Add(RecordType::kName, journal::EncodeName(id, kind, name));
  return id;
}

Status ImportedRunWriter::AddJson(RecordType type, const boost::json::object& body) {
  pending_.Add(type, util::SerializeJson(body));
  return WriteIfLarge();
}

Status ImportedRunWriter::AddPoint(std::string_view metric, std::string_view stage, int64_t step,
                                   double wall_time, double value) {
  uint32_t stage_id = stage.empty() ? 0 : Intern(stage_ids_, NameKind::kStage, stage);
  uint32_t metric_id = Intern(metric_ids_, NameKind::kMetric, metric);
  pending_.AddPoint(journal::PackedPoint{metric_id, stage_id, step, wall_time, value});
  return WriteIfLarge();
}

Status ImportedRunWriter::AddText(std::string_view text) {
  while (!text.empty()) {
    size_t n = std::min(text.size(), kMaxTextRecord);
    if (n < text.size()) {
      size_t newline = text.rfind('\n', n - 1);
      if (newline != std::string_view::npos) n = newline + 1;
    }
    pending_.Add(RecordType::kText, std::string(text.substr(0, n)));
    text.remove_prefix(n);
    RUNTRACK_RETURN_IF_ERROR(WriteIfLarge());
  }
  return Status::Ok();
}

Status ImportedRunWriter::WriteIfLarge() {
  return pending_.bytes() >= kWriteThreshold ? WritePending() : Status::Ok();
}

Status ImportedRunWriter::WritePending() {
  if (pending_.empty()) return Status::Ok();
  std::string framed;
  pending_.FrameInto(&framed);
  return util::WriteAll(fd_, framed.data(), framed.size(), Staged(layout_.journal_path(run_id_)));
}

Status ImportedRunWriter::Publish() {
  if (published_) return Status::FailedPrecondition("run " + run_id_ + " is already published");
  RUNTRACK_RETURN_IF_ERROR(WritePending());
  if (::fdatasync(fd_) != 0) return util::ErrnoStatus("fdatasync journal", Staged(layout_.journal_path(run_id_)));
  ::close(fd_);
  fd_ = -1;
  // Files the importer staged were fdatasynced when written; their directory entries are here.
  std::error_code ec;
  for (fs::recursive_directory_iterator it(tmp_dir_, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory() && !it->is_symlink()) RUNTRACK_RETURN_IF_ERROR(util::SyncDir(it->path()));
  }
  RUNTRACK_RETURN_IF_ERROR(util::SyncDir(tmp_dir_));
  fs::path final_dir = layout_.run_dir(run_id_);
  if (::renameat2(AT_FDCWD, tmp_dir_.c_str(), AT_FDCWD, final_dir.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) return Status::AlreadyExists("run " + run_id_ + " already exists");
    return util::ErrnoStatus("publish imported run", final_dir);
  }
  published_ = true;
  return util::SyncDir(layout_.runs_dir());
}

void RemoveStaleImportFolders(const fs::path& runs_dir) {
  std::error_code ec;
  for (fs::directory_iterator it(runs_dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!name.starts_with(kTmpPrefix)) continue;
    // .import-<id>-<pid>-<n>: the id has a fixed length of 22.
    size_t pid_at = kTmpPrefix.size() + 23;
    if (name.size() <= pid_at) continue;
    long pid = std::strtol(name.c_str() + pid_at, nullptr, 10);
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;  // owner alive
    std::error_code rm;
    fs::remove_all(it->path(), rm);
  }
}

}  // namespace runtrack::importer

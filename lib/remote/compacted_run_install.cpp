// InstallCompactedRun and the compacted-journal head readers (include/runtrack/compacted_run.h).
//
// Order of durable effects (a crash anywhere leaves the old run or the whole new one):
//   1. every byte is checked: the journal frame by frame (CRC-32C), its Compacted record decoded,
//      each sealed file with VerifySealedObject against that record (in memory, or mapped from
//      its stage file, CompactedRunStage);
//   2. each sealed file: temporary name beside it (or its stage file), fdatasync, rename, then one fsync of segments/
//      (new names; until 4 nothing refers to them);
//   3. the `reindex` marker, when a local journal is replaced (the catalog may have indexed it);
//   4. the journal: temporary file, fdatasync, rename over `journal`, fsync of the run folder.
// The catalog honours the marker only once the journal is compacted, so it never re-indexes
// the old copy in between.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

#include <fmt/format.h>

#include "journal/journal_compaction.h"
#include "journal/journal_format.h"
#include "remote/frame_scan.h"
#include "runtrack/compacted_run.h"
#include "runtrack/remote.h"
#include "runtrack/sealed_objects.h"
#include "runtrack/validation.h"
#include "util/crc32c.h"
#include "util/files.h"

namespace runtrack {
namespace fs = std::filesystem;
namespace {

constexpr size_t kHeadBytes = journal::kHeaderSize + journal::kRecordHeaderSize;  // header + first frame's head

// A name from another store, fit for a message: printable ASCII, at most 80 characters.
std::string Shown(std::string_view name) {
  std::string s(name.substr(0, 80));
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  return s;
}

CompactedJournalHead HeadOf(const StoreLayout& layout, std::string_view run_id, const journal::CompactionMarker& m) {
  CompactedJournalHead head;
  head.original_length = m.original_length;
  head.compacted_length = m.compacted_length;
  head.points = m.points;
  for (const auto& s : m.series) {
    head.files.push_back({layout.segment_path(run_id, s.series_id, s.point_count).filename().string(), s.segment_size});
    if (s.lod_size > 0)
      head.files.push_back({layout.lod_path(run_id, s.series_id, s.point_count).filename().string(), s.lod_size});
  }
  return head;
}

Result<std::optional<journal::CompactionMarker>> DecodeHead(std::string_view bytes, uint64_t* need) {
  if (need) *need = 0;
  if (bytes.size() < kHeadBytes || std::memcmp(bytes.data(), journal::kMagic, sizeof journal::kMagic) != 0 ||
      static_cast<journal::RecordType>(bytes[journal::kHeaderSize + 8]) != journal::kCompactedRecord)
    return std::optional<journal::CompactionMarker>();
  const uint32_t length = journal::GetU32(bytes.data() + journal::kHeaderSize);
  if (length == 0 || length > journal::kMaxRecordLength)
    return Status::Corruption(fmt::format("the journal's Compacted record has a bad length ({})", length));
  const uint64_t end = journal::kHeaderSize + 8 + uint64_t{length};
  if (bytes.size() < end) {
    if (need) *need = end;
    return std::optional<journal::CompactionMarker>();
  }
  std::string_view body = bytes.substr(journal::kHeaderSize + 8, length);
  if (util::Crc32c(body) != journal::GetU32(bytes.data() + journal::kHeaderSize + 4))
    return Status::Corruption("the journal's Compacted record fails its CRC-32C check");
  RUNTRACK_ASSIGN_OR_RETURN(journal::CompactionMarker marker, journal::DecodeCompactionMarker(body.substr(1)));
  return std::optional<journal::CompactionMarker>(std::move(marker));
}

// Writes `bytes` beside `path` under a temporary name, fdatasyncs it and renames it into place
// (no directory fsync: the caller syncs the folder once for all its files).
Status PublishFile(const fs::path& path, std::string_view bytes) { return util::WriteFileAtomic(path, bytes, false); }

// Checks a staged file as VerifySealedObject checks bytes, reading it mapped from disk (the kernel
// pages it in and out: no copy of the whole file is made). `*size` is set to its length.
Status VerifyStaged(const fs::path& path, const SealedObjectRef& ref, SealedObjectKind kind, uint64_t* size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return util::ErrnoStatus("open", path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Status s = util::ErrnoStatus("stat", path, errno);
    ::close(fd);
    return s;
  }
  *size = static_cast<uint64_t>(st.st_size);
  if (*size == 0) {
    ::close(fd);
    return VerifySealedObject(ref, kind, std::string_view());
  }
  void* map = ::mmap(nullptr, *size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);
  if (map == MAP_FAILED) return util::ErrnoStatus("mmap", path, err);
  Status v = VerifySealedObject(ref, kind, std::string_view(static_cast<const char*>(map), *size));
  ::munmap(map, *size);
  return v;
}

}  // namespace

Result<std::optional<CompactedJournalHead>> ReadCompactedJournalHead(std::string_view bytes, uint64_t* need) {
  RUNTRACK_ASSIGN_OR_RETURN(auto marker, DecodeHead(bytes, need));
  if (!marker) return std::optional<CompactedJournalHead>();
  // File names only: the layout's root is irrelevant to them.
  return std::optional<CompactedJournalHead>(HeadOf(StoreLayout(""), "r", *marker));
}

Result<std::optional<CompactedJournalHead>> ReadLocalCompactedHead(const StoreLayout& layout, std::string_view run_id,
                                                                   uint64_t* file_size) {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run_id));
  const fs::path journal = layout.journal_path(run_id);
  std::error_code ec;
  const uint64_t size = fs::file_size(journal, ec);
  if (ec) return std::optional<CompactedJournalHead>();
  if (file_size) *file_size = size;
  auto marker = journal::ReadCompactionMarker(journal);
  if (!marker.ok()) {
    if (marker.status().code() == StatusCode::kNotFound) return std::optional<CompactedJournalHead>();
    return marker.status();
  }
  if (!*marker) return std::optional<CompactedJournalHead>();
  return std::optional<CompactedJournalHead>(HeadOf(layout, run_id, **marker));
}

Result<CompactedInstall> InstallCompactedRun(const StoreLayout& layout, std::string_view run_id,
                                             const CompactedRunFiles& run, const std::function<void()>& before_lock) {
  RUNTRACK_RETURN_IF_ERROR(ValidateRunId(run_id));
  // 1. The journal: whole valid records, a Compacted record first, the run's Status record in.
  RUNTRACK_ASSIGN_OR_RETURN(remote::FrameScan scan, remote::ScanFrames(run.journal, 0));
  if (!scan.stop_reason.empty() || scan.valid_end != run.journal.size())
    return Status::Corruption(fmt::format("run {}: the compacted journal is damaged ({})", run_id,
                                          scan.stop_reason.empty() ? "trailing bytes" : scan.stop_reason));
  auto marker = DecodeHead(run.journal, nullptr);
  if (!marker.ok()) return Status::Corruption(fmt::format("run {}: {}", run_id, marker.status().message()));
  if (!*marker) return Status::InvalidArgument(fmt::format("run {}: the journal is not a compacted journal", run_id));
  const journal::CompactionMarker& m = **marker;
  if (m.compacted_length != run.journal.size() || !scan.has_status)
    return Status::Corruption(fmt::format("run {}: the compacted journal is {} bytes, its record says {}{}", run_id,
                                          run.journal.size(), m.compacted_length,
                                          scan.has_status ? "" : ", and it has no Status record"));

  // Which file is which: only names derived from the record are accepted, so no name from the
  // other store is ever used as a path.
  struct Expected {
    SealedObjectKind kind;
    SealedObjectRef ref;
    const CompactedRunFile* given = nullptr;
  };
  std::map<std::string, Expected, std::less<>> expected;
  for (const auto& s : m.series) {
    SealedObjectRef ref{std::string(run_id), s.series_id, s.point_count, s.footer_crc32c, s.segment_size, s.lod_size};
    expected[layout.segment_path(run_id, s.series_id, s.point_count).filename().string()] = {SealedObjectKind::kSegment, ref};
    if (s.lod_size > 0)
      expected[layout.lod_path(run_id, s.series_id, s.point_count).filename().string()] = {SealedObjectKind::kLod, ref};
  }
  for (const CompactedRunFile& f : run.files) {
    auto it = expected.find(f.name);
    if (it == expected.end())
      return Status::InvalidArgument(
          fmt::format("run {}: '{}' is not a file its compacted journal names; refused", run_id, Shown(f.name)));
    if (it->second.given != nullptr)
      return Status::InvalidArgument(fmt::format("run {}: file '{}' was given twice", run_id, f.name));
    it->second.given = &f;
  }
  uint64_t bytes = run.journal.size();
  for (const auto& [name, e] : expected) {
    if (e.given == nullptr) return Status::NotFound(fmt::format("run {}: segments/{} is missing", run_id, name));
    uint64_t size = e.given->bytes.size();
    Status v;
    if (!e.given->staged.empty()) {
      // Only a stage's file of this run (CompactedRunStage), never a path from elsewhere.
      if (e.given->staged.parent_path() != layout.run_dir(run_id) || e.given->staged.filename() != ".fetch-" + name)
        return Status::InvalidArgument(fmt::format("run {}: segments/{}: not staged in the run's folder", run_id, name));
      v = VerifyStaged(e.given->staged, e.ref, e.kind, &size);
    } else {
      v = VerifySealedObject(e.ref, e.kind, e.given->bytes);
    }
    if (!v.ok()) return Status::Corruption(fmt::format("run {}: segments/{}: {}", run_id, name, v.message()));
    bytes += size;
  }

  // The run's folder and lock: no writer or receiver may be at it while it is replaced.
  if (before_lock) before_lock();
  const fs::path dir = layout.run_dir(run_id);
  bool created_dir = ::mkdir(dir.c_str(), 0755) == 0;
  if (!created_dir && errno != EEXIST) return util::ErrnoStatus("create run directory", dir);
  if (created_dir) RUNTRACK_RETURN_IF_ERROR(util::SyncDir(layout.runs_dir()));
  util::FileLock lock;
  RUNTRACK_ASSIGN_OR_RETURN(bool got, util::FileLock::TryAcquire(layout.lock_path(run_id), &lock));
  if (!got) return Status::FailedPrecondition(fmt::format("run {} is being written in this store", run_id));

  std::error_code ec;
  const fs::path journal_path = layout.journal_path(run_id);
  uint64_t replaced = 0;
  const bool had_journal = fs::exists(journal_path, ec);
  if (had_journal) {
    replaced = fs::file_size(journal_path, ec);
    if (ec) return Status::IOError(fmt::format("size of {}: {}", journal_path.string(), ec.message()));
    if (auto local = journal::ReadCompactionMarker(journal_path); local.ok() && *local) {
      if ((*local)->original_length != m.original_length)
        return Status::FailedPrecondition(fmt::format(
            "run {}: the local copy is compacted from a journal of {} bytes, the other store's from {}: not the same run",
            run_id, (*local)->original_length, m.original_length));
      replaced = (*local)->original_length;
    } else if (replaced > m.original_length) {
      return Status::FailedPrecondition(fmt::format(
          "run {}: the local journal ({} bytes) is longer than the other store's before compaction ({}): not the same run",
          run_id, replaced, m.original_length));
    }
  }
  const std::string prefix(StoreLayout::journal_stream_prefix());
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0)
      return Status::FailedPrecondition(
          fmt::format("run {}: the local copy has other streams ({}); a compacted run has one", run_id,
                      e.path().filename().string()));

  // 2. Sealed files under their own names (immutable: a name always holds the same bytes).
  const fs::path segments = layout.segments_dir(run_id);
  RUNTRACK_RETURN_IF_ERROR(util::CreateDirectories(segments));
  RUNTRACK_RETURN_IF_ERROR(util::SyncDir(dir));
  for (const auto& [name, e] : expected) {
    if (e.given->staged.empty()) {
      RUNTRACK_RETURN_IF_ERROR(PublishFile(segments / name, e.given->bytes));
    } else if (::rename(e.given->staged.c_str(), (segments / name).c_str()) != 0) {  // fdatasync'ed by its stage
      return util::ErrnoStatus("rename", e.given->staged, errno);
    }
  }
  RUNTRACK_RETURN_IF_ERROR(util::SyncDir(segments));

  // 3. + 4. The marker, then the journal.
  const fs::path marker_path = layout.reindex_marker(run_id);
  if (had_journal) RUNTRACK_RETURN_IF_ERROR(util::WriteFileAtomic(marker_path, fmt::format("{}\n", replaced)));
  if (Status s = util::WriteFileAtomic(journal_path, run.journal); !s.ok()) {
    if (had_journal) fs::remove(marker_path, ec);  // the old copy stays, as it was indexed
    return s;
  }
  // Nothing arrives by shipping any more: the run is complete.
  fs::remove(layout.receiving_marker(run_id), ec);
  return CompactedInstall{replaced, expected.size(), bytes};
}

}  // namespace runtrack

#include "service/s3/run_file_publisher.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "runtrack/layout.h"
#include "runtrack/validation.h"
#include "service/run_file_source.h"
#include "service/s3/object_run_files.h"

namespace runicorn::service::s3 {

namespace fs = std::filesystem;
using runtrack::Result;
using runtrack::Status;
using runtrack::StatusCode;

namespace {

// Reads a regular file (never through a link) in 1 MiB pieces: each piece to `sink`.
template <typename Sink>
Status ReadPieces(const fs::path& path, const Sink& sink) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Status::IOError(fmt::format("cannot open {}", path.string()));
  std::string buf(1 << 20, '\0');
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      ::close(fd);
      return Status::IOError(fmt::format("cannot read {}", path.string()));
    }
    if (n == 0) break;
    sink(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  ::close(fd);
  return Status::Ok();
}

Result<std::pair<uint64_t, std::string>> HashFile(const fs::path& path) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  uint64_t size = 0;
  Status read = ReadPieces(path, [&](std::string_view piece) {
    EVP_DigestUpdate(ctx, piece.data(), piece.size());
    size += piece.size();
  });
  unsigned char digest[32];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx, digest, &n);
  EVP_MD_CTX_free(ctx);
  RUNTRACK_RETURN_IF_ERROR(read);
  std::string hex;
  for (unsigned i = 0; i < n; ++i) hex += fmt::format("{:02x}", digest[i]);
  return std::make_pair(size, std::move(hex));
}

// Relative names in a run folder that are not published (see the header), from StoreLayout.
struct Excluded {
  std::set<std::string> files, dirs;
  std::string stream_prefix;
  bool operator()(const std::string& rel) const {
    if (files.count(rel) || rel.rfind(stream_prefix, 0) == 0) return true;
    const std::string top = rel.substr(0, rel.find('/'));
    return top != rel && dirs.count(top);
  }
};

Excluded ExcludedNames(const runtrack::StoreLayout& layout, const std::string& id) {
  const fs::path dir = layout.run_dir(id);
  auto rel = [&](const fs::path& p) { return p.lexically_relative(dir).generic_string(); };
  Excluded e;
  for (const fs::path& p : {layout.journal_path(id), layout.lock_path(id), layout.deleted_marker(id),
                            layout.shipped_path(id), layout.receiving_marker(id), layout.shipping_stream_path(id),
                            layout.compacting_journal_path(id), layout.reindex_marker(id)})
    e.files.insert(rel(p));
  e.dirs = {rel(layout.segments_dir(id)), rel(layout.system_ship_root(id))};
  e.stream_prefix = std::string(runtrack::StoreLayout::journal_stream_prefix());
  return e;
}

}  // namespace

Result<RunFileSet> RunFilePublisher::Build(const std::string& run_id, std::string* log, RunFilePublishReport* report) {
  RunFileSet set;
  RUNTRACK_ASSIGN_OR_RETURN(set.folder_files, local_.CountRunFiles(run_id));
  RUNTRACK_ASSIGN_OR_RETURN(*log, local_.ReadLog(run_id, 0));
  set.log_size = log->size();
  if (!log->empty()) {
    set.log_sha256 = Sha256Hex(*log);
    set.log_key = RunFileObjectKey(client_->location(), run_id, set.log_sha256);
  }
  const runtrack::StoreLayout layout(root_);
  const fs::path dir = layout.run_dir(run_id);
  const Excluded excluded = ExcludedNames(layout, run_id);
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    const std::string rel = it->path().lexically_relative(dir).generic_string();
    if (excluded(rel)) continue;
    if (Status valid = ValidateRunFilePath(rel); !valid.ok()) {
      report->skipped.push_back(fmt::format("{}: {}", run_id, valid.message()));
      continue;
    }
    auto hashed = HashFile(it->path());
    if (!hashed.ok()) return hashed.status();
    if (hashed->first > kMaxFileBytes) {
      report->skipped.push_back(fmt::format("{}/{}: {} bytes, over the {} published per file", run_id, rel,
                                            hashed->first, kMaxFileBytes));
      continue;
    }
    RunFileRow row;
    row.path = rel;
    row.size = hashed->first;
    row.sha256 = std::move(hashed->second);
    row.object_key = RunFileObjectKey(client_->location(), run_id, row.sha256);
    set.files.push_back(std::move(row));
  }
  if (ec) return Status::IOError(fmt::format("cannot list {}: {}", dir.string(), ec.message()));
  std::sort(set.files.begin(), set.files.end(), [](const RunFileRow& a, const RunFileRow& b) { return a.path < b.path; });
  return set;
}

Status RunFilePublisher::Write(const std::string& run_id, const RunFileSet& set, const std::string& log,
                               RunFilePublishReport* report) {
  // What the index held before (this process's memory, or the rows a previous run of it wrote).
  std::optional<RunFileSet> before;
  if (auto it = written_.find(run_id); it != written_.end()) {
    before = it->second;
  } else {
    RUNTRACK_ASSIGN_OR_RETURN(before, index_->ReadSet(run_id));
  }
  std::set<std::string> old_keys;
  if (before) {
    if (!before->log_key.empty()) old_keys.insert(before->log_key);
    for (const RunFileRow& f : before->files) old_keys.insert(f.object_key);
  }
  std::set<std::string> keys;
  auto put = [&](const std::string& key, uint64_t size, const auto& upload) -> Status {
    if (!keys.insert(key).second) return Status::Ok();  // the same content twice in this run
    auto head = client_->HeadObject(key);
    if (head.ok() && head->size == size) return Status::Ok();  // content-addressed: already right
    if (!head.ok() && head.status().code() != StatusCode::kNotFound) return head.status();
    RUNTRACK_RETURN_IF_ERROR(upload());
    ++report->objects_put;
    return Status::Ok();
  };
  if (!set.log_key.empty())
    RUNTRACK_RETURN_IF_ERROR(put(set.log_key, set.log_size, [&] { return client_->PutObject(set.log_key, log); }));
  const fs::path dir = runtrack::StoreLayout(root_).run_dir(run_id);
  for (const RunFileRow& f : set.files)
    RUNTRACK_RETURN_IF_ERROR(put(f.object_key, f.size, [&]() -> Status {
      // Streamed, and committed only if the bytes sent still hash to the key's SHA-256: a file
      // changed since it was hashed would break the key's promise (Busy; a later pass retries).
      auto uploaded = UploadFile(*client_, f.object_key, dir / f.path, f.sha256, upload_);
      if (!uploaded.ok() && uploaded.status().code() == StatusCode::kBusy)
        return Status::Busy(fmt::format("run file {} of run {} changed while it was published; retried", f.path, run_id));
      return uploaded.status();
    }));
  RUNTRACK_RETURN_IF_ERROR(index_->ReplaceRun(run_id, set));
  written_[run_id] = set;
  ++report->runs_published;
  for (const std::string& key : old_keys)
    if (!keys.count(key)) {
      RUNTRACK_RETURN_IF_ERROR(client_->DeleteObject(key));
      ++report->objects_deleted;
    }
  return Status::Ok();
}

Status RunFilePublisher::Remove(const std::string& run_id, RunFilePublishReport* report) {
  RUNTRACK_RETURN_IF_ERROR(index_->RemoveRun(run_id));
  RUNTRACK_ASSIGN_OR_RETURN(auto objects, client_->ListAll(RunFileObjectPrefix(client_->location(), run_id)));
  for (const S3ObjectInfo& o : objects) {
    RUNTRACK_RETURN_IF_ERROR(client_->DeleteObject(o.key));
    ++report->objects_deleted;
  }
  written_.erase(run_id);
  seen_.erase(run_id);
  ++report->runs_removed;
  return Status::Ok();
}

Result<RunFilePublishReport> RunFilePublisher::Publish() {
  std::lock_guard pass(pass_mu_);
  const bool full = passes_++ % 15 == 0;
  runtrack::RunQuery query;
  query.include_deleted = true;
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::RunPage page, local_.ListRuns(query));
  RunFilePublishReport report;
  std::set<std::string> listed;
  for (const runtrack::RunSummary& run : page.runs) {
    if (!runtrack::ValidateRunId(run.id).ok()) continue;  // never from this catalog; never a key
    listed.insert(run.id);
    if (run.status == runtrack::RunStatus::kRunning) continue;  // live: its owner serves it
    const Listed now{run.updated_at, static_cast<int>(run.status), run.deleted_at};
    if (!full) {
      auto it = seen_.find(run.id);
      if (it != seen_.end() && it->second == now) continue;
    }
    std::string log;
    RUNTRACK_ASSIGN_OR_RETURN(RunFileSet set, Build(run.id, &log, &report));
    auto it = written_.find(run.id);
    if (it == written_.end() || !(it->second == set)) RUNTRACK_RETURN_IF_ERROR(Write(run.id, set, log, &report));
    seen_[run.id] = now;
  }
  std::vector<std::string> gone;
  for (const auto& [id, set] : written_)
    if (!listed.count(id)) gone.push_back(id);
  for (const std::string& id : gone) RUNTRACK_RETURN_IF_ERROR(Remove(id, &report));
  if (full) {
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    RUNTRACK_ASSIGN_OR_RETURN(report.stale_uploads_aborted,
                              AbortStaleMultipartUploads(*client_, client_->location().Key("runfiles/"), now,
                                                         kStaleMultipartUploadSeconds));
  }
  return report;
}

void RunFilePublisher::StartInBackground(std::chrono::milliseconds period) {
  background_.Start(period, [this, last_error = std::string(), reported = std::set<std::string>()]() mutable {
    auto published = Publish();
    if (!published.ok() && published.status().message() != last_error) {
      last_error = published.status().message();
      std::fprintf(stderr, "runicorn viewer: publishing run logs and files: %s (retrying)\n", last_error.c_str());
    } else if (published.ok()) {
      last_error.clear();
      for (const std::string& skipped : published->skipped)
        if (reported.insert(skipped).second)
          std::fprintf(stderr, "runicorn viewer: run file not published: %s\n", skipped.c_str());
    }
  });
}

void RunFilePublisher::Stop() { background_.Stop(); }

}  // namespace runicorn::service::s3

#include "service/archive_service.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <set>
#include <system_error>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "runtrack/json_codec.h"
#include "runtrack/json_parse.h"
#include "runtrack/run.h"

namespace runicorn::service {
namespace fs = std::filesystem;
namespace bj = boost::json;
using runtrack::Result;
using runtrack::Status;

namespace {

struct ReadCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteCloser {
  void operator()(archive* a) const { archive_write_free(a); }
};

// A private temporary folder (0700), removed with everything in it when this goes away.
class TempFolder {
 public:
  static Result<TempFolder> Create(const char* prefix) {
    std::error_code ec;
    fs::path base = fs::temp_directory_path(ec);
    if (ec) base = "/tmp";
    std::string templ = (base / (std::string(prefix) + "XXXXXX")).string();
    if (::mkdtemp(templ.data()) == nullptr)
      return Status::IOError(fmt::format("cannot create a temporary folder in {}: {}", base.string(), std::strerror(errno)));
    return TempFolder(templ);
  }
  TempFolder(TempFolder&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  TempFolder& operator=(TempFolder&&) = delete;
  ~TempFolder() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit TempFolder(fs::path p) : path_(std::move(p)) {}
  fs::path path_;
};

// The member's name as relative path segments, or why it is refused.
Result<std::vector<std::string>> MemberSegments(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("empty name");
  if (name.front() == '/' || name.front() == '\\') return Status::InvalidArgument("absolute path");
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&]() -> Status {
    if (cur == "..") return Status::InvalidArgument("path leaves the archive root ('..')");
    if (!cur.empty() && cur != ".") out.push_back(cur);
    cur.clear();
    return Status::Ok();
  };
  for (char c : name) {
    if (c == '\0') return Status::InvalidArgument("NUL in name");
    if (c == '/' || c == '\\') {
      RUNTRACK_RETURN_IF_ERROR(flush());
    } else {
      cur.push_back(c);
    }
  }
  RUNTRACK_RETURN_IF_ERROR(flush());
  if (!out.empty() && out.front().size() >= 2 && out.front()[1] == ':')
    return Status::InvalidArgument("absolute path (drive letter)");
  return out;
}

// Creates dest/segments[0..n-1] as real folders; refuses to pass through anything else.
Status MakeFolders(const fs::path& dest, const std::vector<std::string>& segments, size_t n, fs::path* out) {
  fs::path p = dest;
  for (size_t i = 0; i < n; ++i) {
    p /= segments[i];
    std::error_code ec;
    auto st = fs::symlink_status(p, ec);
    if (!ec && fs::exists(st)) {
      if (!fs::is_directory(st)) return Status::InvalidArgument("a parent folder is a file in the archive");
      continue;
    }
    if (!fs::create_directory(p, ec) && ec) return Status::IOError(fmt::format("cannot create {}: {}", p.string(), ec.message()));
  }
  *out = p;
  return Status::Ok();
}

Status WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(std::strerror(errno));
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

std::string Json(const bj::value& v) { return bj::serialize(v); }

// Python's json.dumps of a float as Runicorn writes it: finite numbers as JSON, non-finite as
// the bare tokens NaN / Infinity / -Infinity (which our importer reads back bit-exactly).
std::string PyFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return bj::serialize(bj::value(v));
}

class ZipWriter {
 public:
  explicit ZipWriter(archive* a) : a_(a) {}
  Status Add(const std::string& name, std::string_view data, double mtime) {
    RUNTRACK_RETURN_IF_ERROR(Header(name, data.size(), mtime));
    if (!data.empty() && archive_write_data(a_, data.data(), data.size()) < 0) return Error(name);
    return Status::Ok();
  }
  // A run file, streamed through one buffer: exactly stream.size() bytes, or the stream's error.
  Status AddStream(const std::string& name, RunFileStream& stream, double mtime) {
    RUNTRACK_RETURN_IF_ERROR(Header(name, stream.size(), mtime));
    std::vector<char> buf(256 * 1024);
    uint64_t written = 0;
    for (;;) {
      RUNTRACK_ASSIGN_OR_RETURN(size_t n, stream.Read(buf.data(), buf.size()));
      if (n == 0) break;
      if (archive_write_data(a_, buf.data(), n) < 0) return Error(name);
      written += n;
    }
    if (written != stream.size())
      return Status::Corruption(fmt::format("{}: {} bytes read of {}", name, written, stream.size()));
    return Status::Ok();
  }

 private:
  Status Header(const std::string& name, uint64_t size, double mtime) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(size));
    archive_entry_set_mtime(e.get(), static_cast<time_t>(mtime), 0);
    if (archive_write_header(a_, e.get()) != ARCHIVE_OK) return Error(name);
    return Status::Ok();
  }
  Status Error(const std::string& name) {
    return Status::IOError(fmt::format("cannot write {} into the zip: {}", name, archive_error_string(a_)));
  }
  archive* a_;
};

// Our SDK's image index in a run's media folder (written by the Python SDK's log_image and by the importer).
constexpr const char* kMediaIndex = "images.jsonl";

const char* RunicornStatus(runtrack::RunStatus s) { return runtrack::RunStatusName(s).data(); }

// `v` with every object's keys in bytewise order, at any depth.
bj::value SortedKeys(const bj::value& v) {
  if (v.is_array()) {
    bj::array out;
    for (const bj::value& e : v.as_array()) out.push_back(SortedKeys(e));
    return out;
  }
  if (!v.is_object()) return v;
  std::vector<const bj::key_value_pair*> fields;
  for (const bj::key_value_pair& kv : v.as_object()) fields.push_back(&kv);
  std::sort(fields.begin(), fields.end(), [](const auto* a, const auto* b) { return a->key() < b->key(); });
  bj::object out;
  for (const bj::key_value_pair* kv : fields) out.emplace(kv->key(), SortedKeys(kv->value()));
  return out;
}

// index.json with each run's summary in SortedKeys order, as its summary.json.
std::string IndexWithSortedSummaries(const std::string& index_json) {
  boost::system::error_code ec;
  bj::value index = runtrack::ParseJson(index_json, ec);
  if (ec || !index.is_object()) return index_json;
  bj::value* runs = index.as_object().if_contains("runs");
  if (runs == nullptr || !runs->is_array()) return index_json;
  for (bj::value& run : runs->as_array())
    if (bj::value* summary = run.is_object() ? run.as_object().if_contains("summary") : nullptr)
      *summary = SortedKeys(*summary);
  return bj::serialize(index);
}

// Calls `line` for each line of the stream (without its '\n'; a last line without one too), read
// through one buffer.
template <typename Line>
Status ForEachLine(RunFileStream& stream, const Line& line) {
  std::string pending;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    RUNTRACK_ASSIGN_OR_RETURN(size_t n, stream.Read(buf.data(), buf.size()));
    if (n == 0) break;
    pending.append(buf.data(), n);
    size_t start = 0;
    for (size_t nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n', start)) {
      line(std::string_view(pending).substr(start, nl - start));
      start = nl + 1;
    }
    pending.erase(0, start);
  }
  if (!pending.empty()) line(std::string_view(pending));
  return Status::Ok();
}

}  // namespace

Result<uint64_t> ExtractArchive(const fs::path& archive_file, const fs::path& dest, const ArchiveLimits& limits,
                                std::vector<runtrack::SkippedItem>* skipped) {
  std::unique_ptr<archive, ReadCloser> a(archive_read_new());
  archive_read_support_format_zip(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_none(a.get());
  if (archive_read_open_filename(a.get(), archive_file.c_str(), 64 * 1024) != ARCHIVE_OK)
    return Status::InvalidArgument(fmt::format("Invalid archive: {}", archive_error_string(a.get())));
  uint64_t files = 0, members = 0, total = 0;
  std::set<std::string> seen;
  std::vector<char> buf(64 * 1024);
  for (;;) {
    archive_entry* e = nullptr;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
      return Status::InvalidArgument(fmt::format("Invalid archive: {}", archive_error_string(a.get())));
    if (++members > limits.max_members)
      return Status::InvalidArgument(fmt::format("Invalid archive: more than {} members", limits.max_members));
    const char* raw_name = archive_entry_pathname(e);
    std::string name = raw_name ? raw_name : "";
    auto skip = [&](std::string reason) { skipped->push_back({name, std::move(reason)}); };
    auto segments = MemberSegments(name);
    if (!segments.ok()) {
      skip("refused member name: " + segments.status().message());
      continue;
    }
    const mode_t type = archive_entry_filetype(e);
    if (archive_entry_hardlink(e) != nullptr) {
      skip("hard link");
      continue;
    }
    if (type == AE_IFLNK || archive_entry_symlink(e) != nullptr) {
      skip("symbolic link");
      continue;
    }
    if (segments->empty()) continue;  // "./"
    fs::path target;
    if (type == AE_IFDIR) {
      if (Status s = MakeFolders(dest, *segments, segments->size(), &target); !s.ok()) {
        if (s.code() == runtrack::StatusCode::kIOError) return s;
        skip(s.message());
      }
      continue;
    }
    if (type != AE_IFREG) {
      skip("not a regular file or folder");
      continue;
    }
    std::string key;
    for (const auto& s : *segments) key += "/" + s;
    if (!seen.insert(key).second) {
      skip("repeats an earlier member");
      continue;
    }
    fs::path parent;
    if (Status s = MakeFolders(dest, *segments, segments->size() - 1, &parent); !s.ok()) {
      if (s.code() == runtrack::StatusCode::kIOError) return s;
      skip(s.message());
      continue;
    }
    target = parent / segments->back();
    int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (errno == EEXIST) {
        skip("a folder of the same name exists");
        continue;
      }
      return Status::IOError(fmt::format("cannot create {}: {}", target.string(), std::strerror(errno)));
    }
    Status status;
    for (;;) {
      la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
      if (n == 0) break;
      if (n < 0) {
        status = Status::InvalidArgument(fmt::format("Invalid archive: {}: {}", name, archive_error_string(a.get())));
        break;
      }
      total += static_cast<uint64_t>(n);
      if (total > limits.max_total_bytes) {
        status = Status::InvalidArgument(
            fmt::format("Invalid archive: it holds more than {} bytes of files", limits.max_total_bytes));
        break;
      }
      if (status = WriteAll(fd, buf.data(), static_cast<size_t>(n)); !status.ok()) break;
    }
    ::close(fd);
    if (!status.ok()) return status;
    ++files;
  }
  return files;
}

namespace {

// A private temporary file holding `bytes`, removed when this goes away.
class TempUpload {
 public:
  TempUpload() = default;
  TempUpload(const TempUpload&) = delete;
  TempUpload& operator=(const TempUpload&) = delete;
  ~TempUpload() {
    std::error_code ec;
    if (!path_.empty()) fs::remove(path_, ec);
  }
  Status Write(std::string_view bytes) {
    std::error_code ec;
    fs::path base = fs::temp_directory_path(ec);
    if (ec) base = "/tmp";
    std::string templ = (base / "runicorn-upload-XXXXXX").string();
    int fd = ::mkstemp(templ.data());
    if (fd < 0) return Status::IOError(fmt::format("cannot create a temporary file: {}", std::strerror(errno)));
    path_ = templ;
    while (!bytes.empty()) {
      ssize_t n = ::write(fd, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        Status s = Status::IOError(fmt::format("cannot write the upload: {}", std::strerror(errno)));
        ::close(fd);
        return s;
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    if (::close(fd) != 0) return Status::IOError(fmt::format("cannot write the upload: {}", std::strerror(errno)));
    return Status::Ok();
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

Result<ArchiveImportResult> ArchiveService::ImportUpload(std::string_view bytes, const ArchiveLimits& limits) const {
  TempUpload upload;
  RUNTRACK_RETURN_IF_ERROR(upload.Write(bytes));
  return Import(upload.path(), limits);
}

// The folder of a Runicorn store (its layout, docs/IMPORT.md; not ours) that holds run folders.
constexpr const char* kRunicornRunsDir = "runs";

Result<ArchiveImportResult> ArchiveService::Import(const fs::path& archive_file, const ArchiveLimits& limits) const {
  RUNTRACK_ASSIGN_OR_RETURN(TempFolder tmp, TempFolder::Create("runicorn-import-"));
  const fs::path src = tmp.path() / "store";
  std::error_code ec;
  fs::create_directory(src, ec);
  if (ec) return Status::IOError(fmt::format("cannot create {}: {}", src.string(), ec.message()));
  ArchiveImportResult out;
  RUNTRACK_ASSIGN_OR_RETURN(out.extracted_files, ExtractArchive(archive_file, src, limits, &out.skipped_members));
  // Runicorn's own path export puts run folders at the top (<run_id>/meta.json); the importer
  // finds runs under runs/, so such folders move there first.
  for (const auto& entry : fs::directory_iterator(src, ec)) {
    std::error_code fec;
    if (!entry.is_directory(fec) || entry.is_symlink(fec)) continue;
    const fs::path dir = entry.path();
    if (dir.filename() == "runs") continue;
    if (!fs::exists(dir / "meta.json", fec) && !fs::exists(dir / "status.json", fec)) continue;
    fs::create_directories(src / kRunicornRunsDir, fec);
    fs::rename(dir, src / kRunicornRunsDir / dir.filename(), fec);
    if (fec) out.skipped_members.push_back({dir.filename().string(), "cannot move run folder: " + fec.message()});
  }
  RUNTRACK_ASSIGN_OR_RETURN(out.report, runtrack::ImportRunicornStore(src, layout_.root()));
  return out;
}

Result<ExportedZip> ArchiveService::ExportZip(const std::vector<runtrack::RunDetail>& runs,
                                              const std::vector<std::string>& paths, const std::string& index_json) const {
  ExportedZip out;
  {
    std::error_code ec;
    fs::path base = fs::temp_directory_path(ec);
    if (ec) base = "/tmp";
    std::string templ = (base / "runicorn-export-XXXXXX.zip").string();
    int fd = ::mkstemps(templ.data(), 4);
    if (fd < 0) return Status::IOError(fmt::format("cannot create a temporary file: {}", std::strerror(errno)));
    ::close(fd);
    out.file = templ;
  }
  auto fail = [&](Status s) -> Result<ExportedZip> {
    std::error_code ec;
    fs::remove(out.file, ec);
    return s;
  };
  std::unique_ptr<archive, WriteCloser> a(archive_write_new());
  archive_write_set_format_zip(a.get());
  if (archive_write_open_filename(a.get(), out.file.c_str()) != ARCHIVE_OK)
    return fail(Status::IOError(fmt::format("cannot write {}: {}", out.file.string(), archive_error_string(a.get()))));
  ZipWriter zip(a.get());
  const double now = static_cast<double>(::time(nullptr));
  if (Status s = zip.Add("index.json", IndexWithSortedSummaries(index_json), now); !s.ok()) return fail(s);
  for (size_t i = 0; i < runs.size(); ++i) {
    const runtrack::RunSummary& r = runs[i].run;
    const std::string dir = "runs/" + (paths[i].empty() ? "" : paths[i] + "/") + r.id + "/";
    const double mtime = r.updated_at > 0 ? r.updated_at : r.created_at;
    bj::object meta{{"id", r.id},           {"project", r.project}, {"name", r.name},
                    {"path", paths[i]},     {"alias", nullptr},     {"created_at", runtrack::json::Number(r.created_at)},
                    {"hostname", r.hostname}, {"pid", r.pid},       {"tags", runtrack::json::Strings(r.tags)}};
    bj::object status{{"status", RunicornStatus(r.status)}, {"started_at", runtrack::json::Number(r.created_at)}};
    if (r.ended_at) status["ended_at"] = runtrack::json::Number(*r.ended_at);
    if (!r.exit_reason.empty()) status["exit_reason"] = r.exit_reason;
    bj::object summary = runtrack::json::Sanitized(runs[i].summary).as_object();
    if (!r.best_metric_name.empty()) {
      summary["best_metric_name"] = r.best_metric_name;
      summary["best_metric_mode"] = r.best_metric_mode;
      summary["best_metric_value"] = runtrack::json::Number(r.best_metric_value);
      summary["best_metric_step"] = r.best_metric_step ? bj::value(*r.best_metric_step) : bj::value(nullptr);
    }
    summary = SortedKeys(summary).as_object();  // JSONB (a shared back end's catalog) keeps no order
    for (auto [file, body] : {std::pair<const char*, bj::object*>{"meta.json", &meta}, {"status.json", &status},
                              {"summary.json", &summary}})
      if (Status s = zip.Add(dir + file, Json(*body), mtime); !s.ok()) return fail(s);
    // events.jsonl: one metrics event per step, in Runicorn's SDK format (notes §1.4).
    auto table = metrics_.QueryMetrics(r.id, runtrack::MetricQuery{}, {});
    if (!table.ok()) return fail(table.status());
    std::string events;
    const auto& rows = table->rows;
    for (size_t row = 0; row < rows.steps.size(); ++row) {
      std::string data;
      for (size_t m = 0; m < rows.values[row].size(); ++m) {
        if (!rows.values[row][m]) continue;
        data += bj::serialize(bj::value(bj::string_view(rows.columns[m + 1]))) + ": " + PyFloat(*rows.values[row][m]) + ", ";
      }
      const std::string t = PyFloat(table->wall_time[row]);
      data += fmt::format("\"global_step\": {}, \"time\": {}", rows.steps[row], t);
      if (!table->stage[row].empty()) data += ", \"stage\": " + bj::serialize(bj::value(bj::string_view(table->stage[row])));
      events += fmt::format("{{\"ts\": {}, \"type\": \"metrics\", \"data\": {{{}}}}}\n", t, data);
    }
    // Image events from our media index (media/images.jsonl: key, path, step, caption, time).
    const std::string media = folders_.Relative(r.id, layout_.media_dir(r.id));
    const std::string media_index = media + "/" + kMediaIndex;
    auto index_size = folders_.Size(r.id, media_index);
    if (!index_size.ok()) return fail(index_size.status());
    if (*index_size) {
      auto index = folders_.Open(r.id, media_index);
      if (!index.ok()) return fail(index.status());
      Status lines = ForEachLine(**index, [&](std::string_view line) {
        boost::system::error_code jec;
        bj::value v = runtrack::ParseJson(line, jec);
        if (jec || !v.is_object()) return;  // a torn last line of a live run
        bj::object& o = v.as_object();
        const bj::value* time = o.if_contains("time");
        const double ts = time != nullptr && time->is_number() ? time->to_number<double>() : mtime;
        bj::object data{{"key", o.contains("key") ? o["key"] : bj::value(nullptr)},
                        {"path", o.contains("path") ? o["path"] : bj::value(nullptr)},
                        {"step", o.contains("step") ? o["step"] : bj::value(nullptr)},
                        {"caption", o.contains("caption") ? o["caption"] : bj::value(nullptr)}};
        events += fmt::format("{{\"ts\": {}, \"type\": \"image\", \"data\": {}}}\n", PyFloat(ts), Json(data));
      });
      if (!lines.ok()) return fail(lines);
    }
    if (Status s = zip.Add(dir + "events.jsonl", events, mtime); !s.ok()) return fail(s);
    auto log = runs_.ReadLog(r.id, 0);
    if (!log.ok() && log.status().code() != runtrack::StatusCode::kNotFound) return fail(log.status());
    if (Status s = zip.Add(dir + "logs.txt", log.ok() ? *log : std::string(), mtime); !s.ok()) return fail(s);
    // Run files, streamed from this store's folder or, for another replica's run, the bucket.
    auto add_file = [&](const std::string& name, const std::string& path) -> Status {
      RUNTRACK_ASSIGN_OR_RETURN(auto stream, folders_.Open(r.id, path));
      return zip.AddStream(name, *stream, mtime);
    };
    const std::string environment = folders_.Relative(r.id, layout_.environment_path(r.id));
    auto environment_size = folders_.Size(r.id, environment);
    if (!environment_size.ok()) return fail(environment_size.status());
    if (*environment_size)
      if (Status s = add_file(dir + "environment.json", environment); !s.ok()) return fail(s);
    auto media_files = folders_.List(r.id, media);
    if (!media_files.ok()) return fail(media_files.status());
    for (const PublishedRunFile& f : *media_files) {
      if (f.path == media_index) continue;
      if (Status s = add_file(dir + f.path, f.path); !s.ok()) return fail(s);
    }
    ++out.runs;
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return fail(Status::IOError(fmt::format("cannot finish the zip: {}", archive_error_string(a.get()))));
  std::error_code ec;
  out.size = fs::file_size(out.file, ec);
  if (ec) return fail(Status::IOError(ec.message()));
  return out;
}

}  // namespace runicorn::service

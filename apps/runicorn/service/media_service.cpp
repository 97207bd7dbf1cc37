#include "service/media_service.h"

#include <sys/stat.h>

#include <cctype>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "runtrack/validation.h"

namespace runicorn::service {
namespace bj = boost::json;
using runtrack::Result;
using runtrack::Status;

namespace {

constexpr const char* kIndex = "images.jsonl";

bool SafeName(const std::string& name) {
  if (name.empty() || name.size() > 255 || name.front() == '.' || name == kIndex) return false;
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

std::string ContentType(const std::string& name) {
  std::string ext = name.substr(name.rfind('.') == std::string::npos ? name.size() : name.rfind('.') + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "gif") return "image/gif";
  if (ext == "webp") return "image/webp";
  if (ext == "bmp") return "image/bmp";
  return "application/octet-stream";
}

// Size of a regular file (not a link), or nullopt.
std::optional<uint64_t> RegularFileSize(const std::filesystem::path& p) {
  struct stat st;
  if (::lstat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return static_cast<uint64_t>(st.st_size);
}

// Whether this store has the run's folder (else another replica published it, if anyone did).
bool RunFolderHere(const runtrack::StoreLayout& layout, const std::string& run_id) {
  std::error_code ec;
  return std::filesystem::exists(layout.run_dir(run_id), ec) || ec;
}

}  // namespace

Status MediaService::CheckRun(const std::string& run_id) const {
  if (!runtrack::ValidateRunId(run_id).ok()) return Status::NotFound("Run not found");
  auto run = runs_.GetRun(run_id);
  if (!run.ok() && run.status().code() == runtrack::StatusCode::kNotFound) return Status::NotFound("Run not found");
  return run.status();
}

Result<std::vector<MediaImage>> MediaService::List(const std::string& run_id) const {
  RUNTRACK_RETURN_IF_ERROR(CheckRun(run_id));
  std::vector<MediaImage> out;
  const std::filesystem::path media = layout_.media_dir(run_id);
  // Another replica's run: its published index and files' sizes, read by the same loop below.
  std::function<std::optional<uint64_t>(const std::string&)> size_of = [&](const std::string& file) {
    return RegularFileSize(media / file);
  };
  std::map<std::string, uint64_t> published;
  std::istringstream in;
  if (remote_ && !RunFolderHere(layout_, run_id)) {
    RUNTRACK_ASSIGN_OR_RETURN(auto files, remote_->ListFiles(run_id));
    for (const PublishedRunFile& f : files)
      if (f.path.rfind("media/", 0) == 0) published[f.path.substr(6)] = f.size;
    if (!published.count(kIndex)) return out;
    RUNTRACK_ASSIGN_OR_RETURN(std::string index, remote_->ReadFile(run_id, std::string("media/") + kIndex));
    in.str(std::move(index));
    size_of = [&](const std::string& file) -> std::optional<uint64_t> {
      auto it = published.find(file);
      if (it == published.end()) return std::nullopt;
      return it->second;
    };
  } else {
    if (!RegularFileSize(media / kIndex)) return out;
    std::ifstream local(media / kIndex, std::ios::binary);
    std::ostringstream text;
    text << local.rdbuf();
    in.str(text.str());
  }
  for (std::string line; std::getline(in, line);) {
    boost::system::error_code ec;
    bj::value v = bj::parse(line, ec);
    if (ec || !v.is_object()) continue;  // a torn last line while the run writes
    const bj::object& o = v.as_object();
    const bj::value* path = o.if_contains("path");
    if (path == nullptr || !path->is_string()) continue;
    std::string file(path->as_string());
    if (file.rfind("media/", 0) == 0) file = file.substr(6);
    if (!SafeName(file)) continue;
    auto size = size_of(file);
    if (!size) continue;
    MediaImage img;
    img.file = file;
    img.size = *size;
    if (const bj::value* k = o.if_contains("key"); k && k->is_string()) img.key = std::string(k->as_string());
    if (const bj::value* s = o.if_contains("step"); s && s->is_int64()) img.step = s->as_int64();
    if (const bj::value* c = o.if_contains("caption"); c && c->is_string()) img.caption = std::string(c->as_string());
    if (const bj::value* t = o.if_contains("time"); t && t->is_number()) img.time = t->to_number<double>();
    out.push_back(std::move(img));
  }
  return out;
}

Result<MediaFile> MediaService::Open(const std::string& run_id, const std::string& file) const {
  RUNTRACK_RETURN_IF_ERROR(CheckRun(run_id));
  if (!SafeName(file)) return Status::InvalidArgument("Invalid media file name");
  MediaFile out;
  if (remote_ && !RunFolderHere(layout_, run_id)) {
    auto stream = remote_->OpenFile(run_id, "media/" + file);
    if (!stream.ok() && stream.status().code() == runtrack::StatusCode::kNotFound)
      return Status::NotFound("Media file not found");
    if (!stream.ok()) return stream.status();
    out.size = (*stream)->size();
    out.remote = std::move(*stream);
    out.content_type = ContentType(file);
    return out;
  }
  out.path = layout_.media_dir(run_id) / file;
  auto size = RegularFileSize(out.path);
  if (!size) return Status::NotFound("Media file not found");
  out.size = *size;
  out.content_type = ContentType(file);
  return out;
}

}  // namespace runicorn::service

#include "import/source_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import/runicorn_json.h"
#include "util/files.h"

namespace runtrack::importer {

EntryKind KindOf(const fs::path& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return EntryKind::kMissing;
  if (S_ISLNK(st.st_mode)) return EntryKind::kSymlink;
  if (S_ISREG(st.st_mode)) return EntryKind::kFile;
  if (S_ISDIR(st.st_mode)) return EntryKind::kDirectory;
  return EntryKind::kOther;
}

std::optional<std::string> ReadSourceFile(const fs::path& path, const std::string& item, const SkipLog& log) {
  switch (KindOf(path)) {
    case EntryKind::kMissing:
      return std::nullopt;
    case EntryKind::kSymlink:
      log.Add(item, "symbolic link: links are never followed");
      return std::nullopt;
    case EntryKind::kFile:
      break;
    default:
      log.Add(item, "not a regular file");
      return std::nullopt;
  }
  auto text = util::ReadFile(path);
  if (!text.ok()) {
    log.Add(item, "cannot be read: " + text.status().message());
    return std::nullopt;
  }
  return std::move(text).value();
}

std::optional<boost::json::object> ReadJsonObjectFile(const fs::path& path, const std::string& item,
                                                      const SkipLog& log, bool* present) {
  if (present) *present = KindOf(path) != EntryKind::kMissing;
  auto text = ReadSourceFile(path, item, log);
  if (!text) return std::nullopt;
  auto parsed = ParseRunicornObject(*text);
  if (!parsed.ok()) {
    log.Add(item, "half-written or invalid JSON, skipped (" + parsed.status().message() + ")");
    return std::nullopt;
  }
  return std::move(parsed).value();
}

Status CopyFileSynced(const fs::path& from, const fs::path& to) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (in < 0) return util::ErrnoStatus("open", from);
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) {
    Status s = util::ErrnoStatus("create", to);
    ::close(in);
    return s;
  }
  Status result;
  std::string buffer(1 << 20, '\0');
  for (;;) {
    ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      result = util::ErrnoStatus("read", from);
      break;
    }
    if (n == 0) break;
    result = util::WriteAll(out, buffer.data(), static_cast<size_t>(n), to);
    if (!result.ok()) break;
  }
  if (result.ok() && ::fdatasync(out) != 0) result = util::ErrnoStatus("fdatasync", to);
  ::close(in);
  ::close(out);
  return result;
}

}  // namespace runtrack::importer

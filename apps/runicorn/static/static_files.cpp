#include "static_files.h"

#include <sys/stat.h>


#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>

namespace runicorn::web {
namespace {

constexpr std::string_view kNoCache = "no-cache";
constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A segment is refused when it is empty ("a//b"), starts with a dot (".", "..", ".git", ".env":
// nothing the UI ships is hidden), or holds a byte no file of ours has in its name.
bool SegmentIsSafe(std::string_view segment) {
  if (segment.empty() || segment.front() == '.') return false;
  for (unsigned char c : segment) {
    if (c < 0x20 || c == 0x7f) return false;  // NUL and other control bytes
    if (c == '\\' || c == ':' || c == '%') return false;  // Windows separators, double encoding
  }
  return true;
}

// True for "name.<8+ hex digits>.ext": a file named after its content, safe to cache forever.
bool HasContentHash(std::string_view file_name) {
  const size_t last_dot = file_name.rfind('.');
  if (last_dot == std::string_view::npos || last_dot == 0) return false;
  const size_t prev_dot = file_name.rfind('.', last_dot - 1);
  if (prev_dot == std::string_view::npos) return false;
  const std::string_view hash = file_name.substr(prev_dot + 1, last_dot - prev_dot - 1);
  if (hash.size() < 8) return false;
  for (char c : hash) {
    if (HexValue(c) < 0) return false;
  }
  return true;
}

std::string Etag(std::string_view body) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  for (unsigned char c : body) {
    h ^= c;
    h *= 1099511628211ull;
  }
  std::array<char, 40> buf{};
  std::snprintf(buf.data(), buf.size(), "\"%016llx-%zx\"", static_cast<unsigned long long>(h),
                body.size());
  return buf.data();
}

bool EtagMatches(std::string_view if_none_match, std::string_view etag) {
  if (if_none_match.empty()) return false;
  // A comma-separated list of (possibly weak) validators, or "*".
  size_t pos = 0;
  while (pos < if_none_match.size()) {
    size_t end = if_none_match.find(',', pos);
    if (end == std::string_view::npos) end = if_none_match.size();
    std::string_view item = if_none_match.substr(pos, end - pos);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item.substr(0, 2) == "W/") item.remove_prefix(2);
    if (item == "*" || item == etag) return true;
    pos = end + 1;
  }
  return false;
}

StaticResponse Error(int status, std::string_view reason) {
  StaticResponse r;
  r.status = status;
  r.body = std::string(reason) + "\n";
  r.content_type = "text/plain; charset=utf-8";
  r.cache_control = "no-store";
  r.content_length = r.body.size();
  return r;
}

bool IsWithin(const std::filesystem::path& path, const std::filesystem::path& root) {
  auto p = path.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++p) {
    if (r->empty()) continue;  // trailing separator of the root
    if (p == path.end() || *p != *r) return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> ResolveTarget(std::string_view target) {
  // Origin-form only: "/path?query#fragment". Absolute-form ("http://h/x") and "*" are refused.
  const size_t cut = target.find_first_of("?#");
  const std::string_view path = target.substr(0, cut);
  if (path.empty() || path.front() != '/') return std::nullopt;

  std::string decoded;
  decoded.reserve(path.size());
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '%') {
      if (i + 2 >= path.size()) return std::nullopt;
      const int hi = HexValue(path[i + 1]);
      const int lo = HexValue(path[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      decoded.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      decoded.push_back(c);
    }
  }
  if (decoded == "/") return std::string("index.html");

  std::string_view rest(decoded);
  rest.remove_prefix(1);
  size_t pos = 0;
  while (true) {
    const size_t slash = rest.find('/', pos);
    const std::string_view segment =
        rest.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    if (!SegmentIsSafe(segment)) return std::nullopt;
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return std::string(rest);
}

std::string_view ContentTypeFor(std::string_view file_name) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json; charset=utf-8"},
      {".map", "application/json; charset=utf-8"},
      {".svg", "image/svg+xml; charset=utf-8"},
      {".txt", "text/plain; charset=utf-8"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".wasm", "application/wasm"},
  };
  const size_t dot = file_name.rfind('.');
  const size_t slash = file_name.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return "application/octet-stream";
  }
  std::string ext(file_name.substr(dot));
  for (char& c : ext) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  for (const auto& [suffix, type] : kTypes) {
    if (ext == suffix) return type;
  }
  return "application/octet-stream";
}

std::string_view CacheControlFor(std::string_view relative_path) {
  if (relative_path.substr(0, 7) == "vendor/") return kImmutable;
  const size_t slash = relative_path.rfind('/');
  const std::string_view file_name =
      slash == std::string_view::npos ? relative_path : relative_path.substr(slash + 1);
  if (HasContentHash(file_name)) return kImmutable;
  return kNoCache;
}

StaticFiles::StaticFiles(std::filesystem::path root, uint64_t max_file_bytes)
    : max_file_bytes_(max_file_bytes) {
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(root, ec);
  root_ = ec ? std::move(root) : std::move(canonical);
}

StaticResponse StaticFiles::Serve(std::string_view method, std::string_view target,
                                  std::string_view if_none_match, bool read_large_files) const {
  const bool head = method == "HEAD";
  if (method != "GET" && !head) return Error(405, "method not allowed");
  const std::optional<std::string> relative = ResolveTarget(target);
  if (!relative) return Error(400, "bad path");

  std::error_code ec;
  const std::filesystem::path full = root_ / *relative;
  const std::filesystem::path real = std::filesystem::canonical(full, ec);
  if (ec) return Error(404, "not found");
  if (!IsWithin(real, root_)) return Error(403, "forbidden");
  if (!std::filesystem::is_regular_file(real, ec)) return Error(404, "not found");
  const uint64_t size = std::filesystem::file_size(real, ec);
  if (ec) return Error(404, "not found");
  if (size > max_file_bytes_) return Error(403, "file too large");

  StaticResponse r;
  r.content_type = ContentTypeFor(*relative);
  r.cache_control = CacheControlFor(*relative);
  if (size > kHashedFileBytes) {
    struct stat st {};
    if (::stat(real.c_str(), &st) != 0) return Error(404, "not found");
    std::array<char, 64> tag{};
    std::snprintf(tag.data(), tag.size(), "\"m%llx-%llx-%llx\"", static_cast<unsigned long long>(st.st_size),
                  static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1000000000ull +
                      static_cast<unsigned long long>(st.st_mtim.tv_nsec),
                  static_cast<unsigned long long>(st.st_ino));
    r.etag = tag.data();
    if (EtagMatches(if_none_match, r.etag)) {
      r.status = 304;
      return r;
    }
    r.status = 200;
    r.content_length = size;
    if (!read_large_files) {
      if (!head) r.file = real;
      return r;
    }
  }

  std::ifstream in(real, std::ios::binary);
  if (!in) return Error(404, "not found");
  std::string body;
  body.resize(size);
  in.read(body.data(), static_cast<std::streamsize>(size));
  body.resize(static_cast<size_t>(in.gcount()));

  if (size > kHashedFileBytes) {
    if (!head) r.body = std::move(body);
    return r;
  }
  r.etag = Etag(body);
  if (EtagMatches(if_none_match, r.etag)) {
    r.status = 304;
    return r;
  }
  r.status = 200;
  r.content_length = body.size();
  if (!head) r.body = std::move(body);
  return r;
}

}  // namespace runicorn::web

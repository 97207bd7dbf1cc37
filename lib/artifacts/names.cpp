#include "artifacts/names.h"

#include <array>
#include <string>

#include "runtrack/artifacts.h"
#include "util/validation.h"

namespace runtrack {
namespace artifacts {

bool ParseVersionToken(std::string_view token, int* out) {
  if (token.size() < 2 || token.size() > 10 || token[0] != 'v' || token[1] == '0') return false;
  int v = 0;
  for (char c : token.substr(1)) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace artifacts

namespace {
constexpr std::array<std::string_view, 5> kTypeNames = {"model", "dataset", "config", "code", "custom"};

std::string Quoted(std::string_view s) { return "'" + std::string(s) + "'"; }
}  // namespace

std::string_view ArtifactTypeName(ArtifactType type) { return kTypeNames[static_cast<size_t>(type)]; }

Result<ArtifactType> ParseArtifactType(std::string_view name) {
  for (size_t i = 0; i < kTypeNames.size(); ++i) {
    if (kTypeNames[i] == name) return static_cast<ArtifactType>(i);
  }
  return Status::InvalidArgument("unknown artifact type " + Quoted(name) +
                                 "; valid types: model, dataset, config, code, custom");
}

Status ValidateArtifactName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("artifact name is empty");
  if (name.size() > 128) {
    return Status::InvalidArgument("artifact name is " + std::to_string(name.size()) +
                                   " bytes long; the limit is 128");
  }
  if (util::HasControlChar(name)) {
    return Status::InvalidArgument("artifact name contains a control character");
  }
  if (!util::IsValidUtf8(name)) return Status::InvalidArgument("artifact name is not valid UTF-8");
  for (char c : name) {
    if (std::string_view("/\\:*?\"<>|").find(c) != std::string_view::npos) {
      return Status::InvalidArgument("artifact name " + Quoted(name) + " contains '" + std::string(1, c) +
                                     "'; not allowed: / \\ : * ? \" < > |");
    }
  }
  if (name == "." || name.find("..") != std::string_view::npos) {
    return Status::InvalidArgument("artifact name " + Quoted(name) + " may not be '.' or contain '..'");
  }
  return Status::Ok();
}

Status ValidateAliasName(std::string_view alias) {
  Status s = ValidateArtifactName(alias);
  if (!s.ok()) return Status::InvalidArgument("alias: " + s.message());
  if (alias.front() == '.') return Status::InvalidArgument("alias may not start with '.'");
  if (alias == "latest") {
    return Status::InvalidArgument("alias 'latest' is maintained automatically and cannot be set");
  }
  if (alias.size() >= 2 && alias[0] == 'v' && alias.find_first_not_of("0123456789", 1) == std::string_view::npos) {
    return Status::InvalidArgument("alias " + Quoted(alias) + " looks like a version number");
  }
  return Status::Ok();
}

Status ValidateArtifactPath(std::string_view path) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("file path " +
                                   (util::HasControlChar(path) ? std::string("<binary>") : Quoted(path)) +
                                   " " + why);
  };
  if (path.empty()) return bad("is empty");
  if (path.size() > 4096) return bad("is longer than 4096 bytes");
  if (util::HasControlChar(path)) return bad("contains a control character");
  if (!util::IsValidUtf8(path)) return bad("is not valid UTF-8");
  if (path.find('\\') != std::string_view::npos) return bad("contains a backslash");
  if (path.front() == '/') return bad("is absolute; paths inside an artifact are relative");
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty()) return bad("has an empty component");
    if (part == "." || part == "..") return bad("has a '" + std::string(part) + "' component");
    if (part.size() > 255) return bad("has a component longer than 255 bytes");
    start = end + 1;
  }
  return Status::Ok();
}

}  // namespace runtrack

#include "util/json.h"
#include "artifacts/manifest.h"

#include <boost/json.hpp>
#include "runtrack/json_parse.h"

#include "artifacts/sha256.h"

namespace runtrack::artifacts {
namespace json = boost::json;

namespace {

constexpr std::string_view kDigestMember = ",\"manifest_digest\":\"sha256:";

json::value NullableString(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}

// Typed field access that reports Corruption instead of throwing.
struct Reader {
  std::string error;

  const json::value* Get(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    if (it == o.end()) {
      if (error.empty()) error = "missing field '" + std::string(key) + "'";
      return nullptr;
    }
    return &it->value();
  }
  std::string Str(const json::object& o, std::string_view key) {
    const json::value* v = Get(o, key);
    if (v == nullptr) return {};
    if (!v->is_string()) return Fail<std::string>(key);
    return std::string(v->get_string());
  }
  uint64_t U64(const json::object& o, std::string_view key) {
    const json::value* v = Get(o, key);
    if (v == nullptr) return 0;
    if (v->is_uint64()) return v->get_uint64();
    if (v->is_int64() && v->get_int64() >= 0) return static_cast<uint64_t>(v->get_int64());
    return Fail<uint64_t>(key);
  }
  double Num(const json::object& o, std::string_view key) {
    const json::value* v = Get(o, key);
    if (v == nullptr) return 0;
    if (v->is_double()) return v->get_double();
    if (v->is_int64()) return static_cast<double>(v->get_int64());
    if (v->is_uint64()) return static_cast<double>(v->get_uint64());
    return Fail<double>(key);
  }
  const json::object* Obj(const json::object& o, std::string_view key) {
    const json::value* v = Get(o, key);
    if (v == nullptr) return nullptr;
    if (!v->is_object()) return Fail<const json::object*>(key);
    return &v->get_object();
  }
  const json::array* Arr(const json::object& o, std::string_view key) {
    const json::value* v = Get(o, key);
    if (v == nullptr) return nullptr;
    if (!v->is_array()) return Fail<const json::array*>(key);
    return &v->get_array();
  }
  template <typename T>
  T Fail(std::string_view key) {
    if (error.empty()) error = "field '" + std::string(key) + "' has the wrong type";
    return T{};
  }
};

}  // namespace

std::string SerializeManifest(Manifest* m) {
  json::object o;
  o["format"] = "runtrack-artifact-manifest";
  o["format_version"] = m->format_version;
  o["name"] = m->name;
  o["type"] = std::string(ArtifactTypeName(m->type));
  o["version"] = m->version;
  o["description"] = m->description;
  o["metadata"] = m->metadata;
  json::array tags;
  for (const auto& t : m->tags) tags.emplace_back(t);
  o["tags"] = std::move(tags);
  o["created_by_run"] = m->created_by_run.empty() ? json::value(nullptr) : json::value(m->created_by_run);
  o["created_at"] = m->created_at;
  o["chunking"] = json::object{{"algorithm", kChunkingAlgorithm},
                               {"min_size", m->chunking.min_size},
                               {"avg_size", m->chunking.avg_size},
                               {"max_size", m->chunking.max_size}};
  o["size_bytes"] = m->size_bytes;
  json::array files;
  for (const auto& f : m->files) {
    json::array chunks;
    chunks.reserve(f.chunks.size());
    for (const auto& c : f.chunks) chunks.emplace_back(json::object{{"sha256", c.sha256}, {"size", c.size}});
    files.emplace_back(json::object{{"path", f.path}, {"size", f.size}, {"digest", f.digest},
                                    {"chunks", std::move(chunks)}});
  }
  o["files"] = std::move(files);
  json::array refs;
  for (const auto& r : m->references) {
    refs.emplace_back(json::object{{"uri", r.uri},
                                   {"checksum", NullableString(r.checksum)},
                                   {"size", r.size ? json::value(*r.size) : json::value(nullptr)}});
  }
  o["references"] = std::move(refs);

  std::string body = util::SerializeJson(o);  // "{...}"
  std::string hex = Sha256Hex(body);
  m->manifest_digest = "sha256:" + hex;
  body.pop_back();  // drop '}' and splice the digest in as the last member
  body.append(kDigestMember).append(hex).append("\"}\n");
  return body;
}

Result<Manifest> ParseManifest(std::string_view text) {
  // Verify the digest on the exact bytes first (see the header).
  size_t at = text.rfind(kDigestMember);
  if (at == std::string_view::npos) return Status::Corruption("manifest has no manifest_digest");
  std::string_view tail = text.substr(at + kDigestMember.size());
  if (tail.size() < 66 || tail.substr(64, 2) != "\"}" || !IsSha256Hex(tail.substr(0, 64)) ||
      tail.substr(66).find_first_not_of(" \r\n") != std::string_view::npos) {
    return Status::Corruption("manifest_digest is malformed");
  }
  std::string body(text.substr(0, at));
  body.push_back('}');
  std::string expected(tail.substr(0, 64));
  if (Sha256Hex(body) != expected) {
    return Status::Corruption("manifest digest mismatch (expected sha256:" + expected + ")");
  }

  json::error_code ec;
  json::value root = runtrack::ParseJson(body, ec);
  if (ec || !root.is_object()) return Status::Corruption("manifest is not a JSON object: " + ec.message());
  const json::object& o = root.get_object();
  Reader r;
  Manifest m;
  m.manifest_digest = "sha256:" + expected;
  if (r.Str(o, "format") != "runtrack-artifact-manifest") return Status::Corruption("not an artifact manifest");
  m.format_version = static_cast<int>(r.U64(o, "format_version"));
  if (m.format_version != kManifestFormatVersion) {
    return Status::Corruption("unsupported manifest format_version " + std::to_string(m.format_version));
  }
  m.name = r.Str(o, "name");
  auto type = ParseArtifactType(r.Str(o, "type"));
  if (!type.ok()) return Status::Corruption("manifest " + type.status().message());
  m.type = *type;
  m.version = static_cast<int>(r.U64(o, "version"));
  m.description = r.Str(o, "description");
  if (const json::object* md = r.Obj(o, "metadata")) m.metadata = *md;
  if (const json::array* tags = r.Arr(o, "tags")) {
    for (const auto& t : *tags) {
      if (!t.is_string()) return Status::Corruption("manifest tag is not a string");
      m.tags.emplace_back(t.get_string());
    }
  }
  if (const json::value* run = r.Get(o, "created_by_run"); run != nullptr && run->is_string()) {
    m.created_by_run = std::string(run->get_string());
  }
  m.created_at = r.Num(o, "created_at");
  if (const json::object* ch = r.Obj(o, "chunking")) {
    m.chunking.min_size = static_cast<uint32_t>(r.U64(*ch, "min_size"));
    m.chunking.avg_size = static_cast<uint32_t>(r.U64(*ch, "avg_size"));
    m.chunking.max_size = static_cast<uint32_t>(r.U64(*ch, "max_size"));
  }
  m.size_bytes = r.U64(o, "size_bytes");
  if (const json::array* files = r.Arr(o, "files")) {
    for (const auto& fv : *files) {
      if (!fv.is_object()) return Status::Corruption("manifest file entry is not an object");
      const json::object& fo = fv.get_object();
      FileRecord f;
      f.path = r.Str(fo, "path");
      f.size = r.U64(fo, "size");
      f.digest = r.Str(fo, "digest");
      if (const json::array* chunks = r.Arr(fo, "chunks")) {
        f.chunks.reserve(chunks->size());
        uint64_t total = 0;
        for (const auto& cv : *chunks) {
          if (!cv.is_object()) return Status::Corruption("manifest chunk entry is not an object");
          ChunkRef c{r.Str(cv.get_object(), "sha256"), r.U64(cv.get_object(), "size")};
          if (!IsSha256Hex(c.sha256)) return Status::Corruption("manifest names an invalid chunk");
          total += c.size;
          f.chunks.push_back(std::move(c));
        }
        if (r.error.empty() && total != f.size) {
          return Status::Corruption("manifest chunks of '" + f.path + "' do not add up to its size");
        }
      }
      // A manifest is data from disk: never let it name a path outside a download folder.
      if (r.error.empty() && !ValidateArtifactPath(f.path).ok()) {
        return Status::Corruption("manifest contains an unsafe file path");
      }
      m.files.push_back(std::move(f));
    }
  }
  if (const json::array* refs = r.Arr(o, "references")) {
    for (const auto& rv : *refs) {
      if (!rv.is_object()) return Status::Corruption("manifest reference is not an object");
      const json::object& ro = rv.get_object();
      ArtifactReferenceInfo ref;
      ref.uri = r.Str(ro, "uri");
      if (const json::value* c = ro.if_contains("checksum"); c && c->is_string()) {
        ref.checksum = std::string(c->get_string());
      }
      if (const json::value* s = ro.if_contains("size"); s && (s->is_uint64() || s->is_int64())) {
        ref.size = s->is_uint64() ? s->get_uint64() : static_cast<uint64_t>(s->get_int64());
      }
      m.references.push_back(std::move(ref));
    }
  }
  if (!r.error.empty()) return Status::Corruption("manifest " + r.error);
  return m;
}

}  // namespace runtrack::artifacts

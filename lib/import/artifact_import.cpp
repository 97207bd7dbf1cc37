#include "import/artifact_import.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "artifacts/layout.h"
#include "artifacts/lineage_index.h"
#include "artifacts/names.h"
#include "import/artifact_version_writer.h"
#include "import/runicorn_json.h"
#include "util/json.h"
#include "util/validation.h"

namespace runtrack::importer {
namespace json = boost::json;
using artifacts::Layout;

namespace {

std::vector<fs::path> SortedEntries(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) out.push_back(it->path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string Spec(const std::string& name, int version) { return name + ":v" + std::to_string(version); }
std::string TypedSpec(ArtifactType t, const std::string& name, int version) {
  return std::string(ArtifactTypeName(t)) + "/" + Spec(name, version);
}

// The version as our Artifact plus the data our manifest keeps beside it; nullopt (reported) when
// the version cannot be imported faithfully.
struct PreparedVersion {
  Artifact artifact;
  ImportedVersionSpec spec;
  std::map<std::string, int> metadata_aliases;  // alias -> this version
};

// No component of `rel` below `base` may be a link; the last must be a regular file.
bool IsPlainFileBelow(const fs::path& base, const std::string& rel) {
  fs::path p = base;
  for (const auto& part : fs::path(rel)) {
    p /= part;
    EntryKind kind = KindOf(p);
    if (kind == EntryKind::kSymlink || kind == EntryKind::kMissing) return false;
  }
  return KindOf(p) == EntryKind::kFile;
}

std::optional<PreparedVersion> Prepare(const SourceArtifactVersion& v, const SkipLog& log) {
  auto skip = [&](std::string reason) {
    log.Add(v.rel, "version not imported: " + reason);
    return std::nullopt;
  };
  auto meta = ReadJsonObjectFile(v.dir / "metadata.json", v.rel + "/metadata.json", log);
  auto manifest = ReadJsonObjectFile(v.dir / "manifest.json", v.rel + "/manifest.json", log);
  if (!manifest) return skip("manifest.json is missing or unreadable, so its files cannot be verified");
  auto artifact = Artifact::Create(v.name, v.type);
  if (!artifact.ok()) return skip(artifact.status().message());
  PreparedVersion out{std::move(artifact).value(), {}, {}};
  out.spec.version = v.version;
  const json::object empty;
  const json::object& m = meta ? *meta : empty;
  out.artifact.SetDescription(StringMember(m, "description"));
  if (auto* md = m.if_contains("metadata"); md && md->is_object()) out.artifact.AddMetadata(md->get_object());
  if (auto* tags = m.if_contains("tags"); tags && tags->is_array()) {
    for (const auto& t : tags->get_array()) {
      if (!t.is_string() || !out.artifact.AddTag(std::string(t.get_string())).ok())
        log.Add(v.rel + "/metadata.json", "tag refused by our store: " + util::SerializeJson(t));
    }
  }
  std::optional<double> created = NumberMember(m, "created_at");
  if (!created) created = NumberMember(*manifest, "created_at");
  if (!created) log.Add(v.rel, "no created_at in metadata.json or manifest.json: 0 is stored");
  out.spec.created_at = created.value_or(0);
  std::string producer = StringMember(m, "created_by_run");
  if (util::IsValidRunId(producer)) {
    out.spec.created_by_run = producer;
  } else if (!producer.empty()) {
    log.Add(v.rel + "/metadata.json", "created_by_run is not a valid run id; the version is imported without a producer");
  }
  out.spec.soft_deleted = KindOf(v.dir / ".deleted") != EntryKind::kMissing;
  if (auto* aliases = m.if_contains("aliases"); aliases && aliases->is_array()) {
    for (const auto& a : aliases->get_array())
      if (a.is_string() && a.get_string() != "latest") out.metadata_aliases[std::string(a.get_string())] = v.version;
  }

  fs::path files_dir = v.dir / "files";
  if (auto* files = manifest->if_contains("files"); files && files->is_array()) {
    for (const auto& f : files->get_array()) {
      if (!f.is_object()) return skip("manifest.json lists a file that is not an object");
      std::string path = StringMember(f.get_object(), "path");
      if (Status valid = ValidateArtifactPath(path); !valid.ok()) return skip(valid.message());
      if (!IsPlainFileBelow(files_dir, path))
        return skip("file '" + path + "' is missing, a link, or below a link under files/");
      if (Status added = out.artifact.AddFile(files_dir / path, path); !added.ok()) return skip(added.message());
      std::string digest = StringMember(f.get_object(), "digest");
      if (!digest.empty()) out.spec.expected_digests[path] = digest;
    }
  }
  if (auto* refs = manifest->if_contains("references"); refs && refs->is_array()) {
    for (const auto& r : refs->get_array()) {
      if (!r.is_object()) continue;
      const json::object& o = r.get_object();
      std::optional<std::string> checksum;
      if (auto* c = o.if_contains("checksum"); c && c->is_string()) checksum = std::string(c->get_string());
      std::optional<uint64_t> size;
      if (auto s = NumberMember(o, "size"); s && *s >= 0 && *s == std::floor(*s)) size = static_cast<uint64_t>(*s);
      if (!out.artifact.AddReference(StringMember(o, "uri"), checksum, size).ok())
        log.Add(v.rel + "/manifest.json", "reference refused: " + util::SerializeJson(o));
    }
  }
  if (out.artifact.files().empty() && out.artifact.references().empty())
    return skip("it has no files and no references");
  return out;
}

bool VersionExists(const Layout& layout, ArtifactType t, const std::string& name, int version) {
  std::error_code ec;
  return fs::exists(layout.version_dir(t, name, version), ec);
}

bool VersionReadable(const Layout& layout, ArtifactType t, const std::string& name, int version) {
  std::error_code ec;
  return fs::exists(layout.version_dir(t, name, version) / Layout::kManifest, ec);
}

}  // namespace

Result<SourceArtifacts> ScanRunicornArtifacts(const fs::path& from, const SkipLog& log) {
  SourceArtifacts out;
  fs::path root = from / "artifacts";
  EntryKind kind = KindOf(root);
  if (kind == EntryKind::kSymlink) log.Add("artifacts", "symbolic link: links are never followed");
  if (kind != EntryKind::kDirectory) return out;
  for (const fs::path& type_dir : SortedEntries(root)) {
    std::string type_name = type_dir.filename().string();
    std::string type_rel = "artifacts/" + type_name;
    if (type_name.starts_with(".")) continue;  // .dedup pool: reached through the versions' files
    EntryKind tk = KindOf(type_dir);
    if (tk == EntryKind::kSymlink) { log.Add(type_rel, "symbolic link: links are never followed"); continue; }
    if (tk != EntryKind::kDirectory) continue;
    auto type = ParseArtifactType(type_name);
    if (!type.ok()) { log.Add(type_rel, "unknown artifact type folder, not imported"); continue; }
    for (const fs::path& name_dir : SortedEntries(type_dir)) {
      std::string name = name_dir.filename().string();
      std::string name_rel = type_rel + "/" + name;
      EntryKind nk = KindOf(name_dir);
      if (nk == EntryKind::kSymlink) { log.Add(name_rel, "symbolic link: links are never followed"); continue; }
      if (nk != EntryKind::kDirectory) continue;
      if (Status valid = ValidateArtifactName(name); !valid.ok()) {
        log.Add(name_rel, "artifact name refused by our store, not imported: " + valid.message());
        continue;
      }
      SourceArtifactName entry{*type, name, name_rel, {}};
      if (auto index = ReadJsonObjectFile(name_dir / "versions.json", name_rel + "/versions.json", log)) {
        if (auto* aliases = index->if_contains("aliases"); aliases && aliases->is_object()) {
          for (const auto& [alias, v] : aliases->get_object()) {
            if (alias == "latest") continue;  // ours is computed: the newest ready version
            if (v.is_int64() && v.get_int64() >= 1 && v.get_int64() < (1 << 30))
              entry.aliases[std::string(alias)] = static_cast<int>(v.get_int64());
          }
        }
      }
      std::vector<SourceArtifactVersion> versions;
      for (const fs::path& vdir : SortedEntries(name_dir)) {
        int number = 0;
        std::string vname = vdir.filename().string();
        if (!artifacts::ParseVersionToken(vname, &number)) continue;  // versions.json, .lock
        EntryKind vk = KindOf(vdir);
        if (vk == EntryKind::kSymlink) { log.Add(name_rel + "/" + vname, "symbolic link: links are never followed"); continue; }
        if (vk != EntryKind::kDirectory) continue;
        versions.push_back({*type, name, number, vdir, name_rel + "/" + vname});
      }
      std::sort(versions.begin(), versions.end(),
                [](const auto& a, const auto& b) { return a.version < b.version; });
      out.versions.insert(out.versions.end(), versions.begin(), versions.end());
      out.names.push_back(std::move(entry));
    }
  }
  return out;
}

Status ImportArtifacts(const SourceArtifacts& source, const fs::path& /*from*/, const fs::path& root, bool dry_run,
                       const std::map<std::string, RunLinks>& links, const SkipLog& log, ImportReport* report,
                       const std::function<void(std::string_view)>& step) {
  bool any_links = false;
  for (const auto& [run, l] : links) any_links = any_links || !l.produced.empty() || !l.used.empty();
  if (source.versions.empty() && !any_links) return Status::Ok();
  Layout layout(root);
  std::optional<ArtifactStore> store;
  if (!dry_run) {
    RUNTRACK_ASSIGN_OR_RETURN(ArtifactStore opened, ArtifactStore::Open(root));
    store.emplace(std::move(opened));
  }

  // 1. Versions, each name's in ascending order.
  std::map<std::pair<ArtifactType, std::string>, std::map<std::string, int>> metadata_aliases;
  std::map<std::pair<ArtifactType, std::string>, std::set<int>> source_numbers;
  for (const SourceArtifactVersion& v : source.versions) {
    std::string spec = TypedSpec(v.type, v.name, v.version);
    source_numbers[{v.type, v.name}].insert(v.version);
    if (VersionExists(layout, v.type, v.name, v.version)) {
      report->existing_artifact_versions.push_back(spec);
      step(spec);
      continue;
    }
    std::optional<PreparedVersion> prepared = Prepare(v, log);
    if (prepared) {
      for (const auto& [alias, n] : prepared->metadata_aliases) metadata_aliases[{v.type, v.name}][alias] = n;
      Status written = dry_run ? CheckArtifactDigests(prepared->artifact, prepared->spec)
                               : WriteArtifactVersion(*store, prepared->artifact, prepared->spec);
      if (written.ok()) {
        report->imported_artifact_versions.push_back(spec);
        report->imported_files += prepared->artifact.files().size();
        // Its produced marker (not counted in a dry run, which writes no edges).
        if (!dry_run && !prepared->spec.created_by_run.empty()) ++report->lineage_edges;
      } else if (written.code() == StatusCode::kAlreadyExists && VersionExists(layout, v.type, v.name, v.version)) {
        report->existing_artifact_versions.push_back(spec);
      } else if (!dry_run && (written.code() == StatusCode::kIOError || written.code() == StatusCode::kInternal)) {
        return written;
      } else {
        log.Add(v.rel, "version not imported: " + written.message());
      }
    }
    step(spec);
  }
  if (dry_run) return Status::Ok();

  // 2. Numbers Runicorn no longer has below its newest version were permanently deleted there.
  for (const auto& [key, numbers] : source_numbers) {
    const auto& [type, name] = key;
    if (!std::any_of(numbers.begin(), numbers.end(),
                     [&](int n) { return VersionReadable(layout, type, name, n); }))
      continue;
    for (int n = 1; n < *numbers.rbegin(); ++n)
      if (!numbers.count(n)) RUNTRACK_RETURN_IF_ERROR(WritePurgedTombstone(*store, type, name, n));
  }

  // 3. Aliases: versions.json's, then those only a version's metadata.json claims (Runicorn's
  //    promote endpoint writes "production" there only). An alias already set in the target is
  //    left as it is.
  for (const SourceArtifactName& n : source.names) {
    std::map<std::string, int> wanted = n.aliases;
    for (const auto& [alias, version] : metadata_aliases[{n.type, n.name}]) wanted.emplace(alias, version);
    if (wanted.empty()) continue;
    auto current = store->Aliases(n.name);
    if (!current.ok()) continue;  // no version of this name was imported
    for (const auto& [alias, version] : wanted) {
      std::string item = n.rel + " alias " + alias;
      auto it = current->find(alias);
      if (it != current->end()) {
        if (it->second != version)
          log.Add(item, fmt::format("already points at v{} in the target, left unchanged (source: v{})", it->second, version));
        continue;
      }
      Status set = store->SetAlias(n.name, alias, version);
      if (!set.ok()) log.Add(item, "not imported: " + set.message());
    }
  }

  // 4. Lineage edges from the runs' own records (both directions are marker files, idempotent).
  for (const auto& [run_id, run_links] : links) {
    for (bool produced : {true, false}) {
      for (const ArtifactLink& l : produced ? run_links.produced : run_links.used) {
        std::string item = fmt::format("run {} {} {}", run_id, produced ? "produced" : "used", Spec(l.name, l.version));
        auto type = ParseArtifactType(l.type);
        if (!type.ok() || !ValidateArtifactName(l.name).ok() || !VersionReadable(layout, *type, l.name, l.version)) {
          log.Add(item, "lineage edge skipped: that artifact version is not in the target store");
          continue;
        }
        fs::path marker = layout.lineage_run_dir(run_id) / (produced ? "produced" : "used") /
                          artifacts::LineageKey(*type, l.name, l.version);
        std::error_code ec;
        if (fs::exists(marker, ec)) continue;
        Status s = produced ? artifacts::RecordProduced(layout, run_id, *type, l.name, l.version)
                            : artifacts::RecordUse(layout, run_id, *type, l.name, l.version);
        RUNTRACK_RETURN_IF_ERROR(s);
        ++report->lineage_edges;
      }
    }
  }
  return Status::Ok();
}

}  // namespace runtrack::importer

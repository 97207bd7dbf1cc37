#include "import/asset_import.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "artifacts/layout.h"
#include "artifacts/lineage_index.h"
#include "artifacts/sha256.h"
#include "artifacts/version_registry.h"
#include "import/artifact_version_writer.h"
#include "import/runicorn_json.h"
#include "util/json.h"

namespace runtrack::importer {
namespace json = boost::json;
using artifacts::Layout;

namespace {

constexpr int kMaxClaimAttempts = 64;

bool Saved(const json::object& o) {
  auto* v = o.if_contains("saved");
  return v && v->is_bool() && v->get_bool();
}

// The base name of a path or URI ("s3://b/data/train.tar" -> "train.tar").
std::string BaseName(std::string s) {
  while (!s.empty() && (s.back() == '/' || s.back() == '\\')) s.pop_back();
  size_t slash = s.find_last_of("/\\");
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

struct Candidate {
  ArtifactType type = ArtifactType::kCustom;
  std::string name;
  bool produced = false;
  std::string key;
  std::string item;
  json::object entry;
  std::string file_name;  // for a single archived file
};

// <from>/archive/<rel> for the part of `archive_path` after its last "/archive/", if every
// component exists, is no link and is not "." / "..".
std::optional<fs::path> ResolveArchivePath(const fs::path& from, const std::string& archive_path) {
  std::string s = archive_path;
  std::replace(s.begin(), s.end(), '\\', '/');
  size_t at = s.rfind("/archive/");
  std::string rel;
  if (at != std::string::npos) {
    rel = s.substr(at + 9);
  } else if (s.starts_with("archive/")) {
    rel = s.substr(8);
  } else {
    return std::nullopt;
  }
  fs::path p = from / "archive";
  if (KindOf(p) != EntryKind::kDirectory) return std::nullopt;
  size_t start = 0;
  while (start <= rel.size()) {
    size_t slash = rel.find('/', start);
    std::string part = rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty() || part == "." || part == "..") return std::nullopt;
    p /= part;
    EntryKind kind = KindOf(p);
    if (kind == EntryKind::kSymlink || kind == EntryKind::kMissing) return std::nullopt;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return p;
}

class RunAssetImporter {
 public:
  RunAssetImporter(const SourceRunDir& run, const fs::path& from, ArtifactStore* store,
                   std::set<std::string>* dry_run_keys, const SkipLog& log, ImportReport* report)
      : run_(run), from_(from), store_(store), dry_run_keys_(dry_run_keys), log_(log), report_(report) {}

  Result<RunLinks> Import() {
    RunLinks links;
    std::string item = run_.rel + "/assets.json";
    std::vector<SkippedItem> ignored;  // problems of assets.json are reported by the run import
    SkipLog quiet(&ignored);
    auto assets = ReadJsonObjectFile(run_.dir / "assets.json", item, quiet);
    if (!assets) return links;
    auto meta = ReadJsonObjectFile(run_.dir / "meta.json", "", quiet);
    run_created_at_ = meta ? NumberMember(*meta, "created_at").value_or(0) : 0;

    std::vector<Candidate> candidates;
    if (auto* code = assets->if_contains("code"); code && code->is_object()) {
      if (auto* snap = code->get_object().if_contains("snapshot"); snap && snap->is_object() && Saved(snap->get_object()))
        candidates.push_back({ArtifactType::kCode, "code-" + run_.project, true, "", item + " code.snapshot",
                              snap->get_object(), "code_snapshot.zip"});
    }
    struct Section {
      const char* key;
      ArtifactType type;
      bool produced;
      const char* source_member;
    };
    for (const Section& s : {Section{"datasets", ArtifactType::kDataset, false, "uri"},
                             Section{"pretrained", ArtifactType::kModel, false, "path_or_uri"},
                             Section{"outputs", ArtifactType::kCustom, true, "path"}}) {
      auto* list = assets->if_contains(s.key);
      if (list == nullptr || !list->is_array()) continue;
      size_t i = 0;
      for (const auto& e : list->get_array()) {
        std::string entry_item = fmt::format("{} {}[{}]", item, s.key, i++);
        if (!e.is_object()) continue;
        const json::object& o = e.get_object();
        candidates.push_back({s.type, StringMember(o, "name"), s.produced, "", entry_item, o,
                              BaseName(StringMember(o, s.source_member))});
      }
    }
    for (Candidate& c : candidates) {
      c.key = KeyOf(c);
      RUNTRACK_RETURN_IF_ERROR(ImportOne(c, &links));
    }
    return links;
  }

 private:
  static std::string KeyOf(const Candidate& c) {
    std::string section = std::string(ArtifactTypeName(c.type));
    std::string fp = StringMember(c.entry, "fingerprint");
    if (!fp.empty()) return section + ":" + fp;
    for (const char* uri : {"uri", "path_or_uri", "path"})
      if (!StringMember(c.entry, uri).empty()) return section + ":uri:" + StringMember(c.entry, uri);
    return "";
  }

  // Builds the artifact for `c`; nullopt (reported) when it cannot be imported faithfully.
  std::optional<std::pair<Artifact, ImportedVersionSpec>> Build(const Candidate& c) {
    auto skip = [&](const std::string& reason) {
      log_.Add(c.item, "asset not imported: " + reason);
      return std::nullopt;
    };
    if (Status valid = ValidateArtifactName(c.name); !valid.ok()) return skip("name refused: " + valid.message());
    if (c.key.empty()) return skip("it has neither a fingerprint nor a URI");
    auto created = Artifact::Create(c.name, c.type);
    if (!created.ok()) return skip(created.status().message());
    Artifact artifact = std::move(created).value();
    ImportedVersionSpec spec;
    artifact.SetDescription(StringMember(c.entry, "description"));
    json::object metadata{{"runicorn_asset_key", c.key}, {"runicorn_asset", c.entry}};
    artifact.AddMetadata(metadata);
    spec.created_at = NumberMember(c.entry, "archived_at").value_or(NumberMember(c.entry, "created_at").value_or(run_created_at_));
    if (c.produced) spec.created_by_run = run_.id;

    std::string archive_path = StringMember(c.entry, "archive_path");
    if (!Saved(c.entry) || archive_path.empty()) {
      std::string uri = StringMember(c.entry, c.type == ArtifactType::kModel ? "path_or_uri" : "uri");
      if (uri.empty() || c.produced) return skip("not saved in the archive and no URI to refer to");
      if (!artifact.AddReference(uri).ok()) return skip("its URI is refused as a reference");
      return std::make_pair(std::move(artifact), std::move(spec));
    }
    std::optional<fs::path> source = ResolveArchivePath(from_, archive_path);
    if (!source) return skip("archive_path does not resolve to a file below archive/ without links: " + archive_path);
    fs::path rel = source->lexically_relative(from_ / "archive");
    std::string top = rel.begin()->string();
    if (top == "blobs") {
      std::string sha = source->filename().string();
      if (!artifacts::IsSha256Hex(sha) || KindOf(*source) != EntryKind::kFile) return skip("not a blob: " + archive_path);
      std::string name = c.file_name.empty() ? c.name : c.file_name;
      if (Status added = artifact.AddFile(*source, name); !added.ok()) return skip(added.message());
      spec.expected_digests[name] = "sha256:" + sha;
    } else if (top == "manifests") {
      auto manifest = ReadJsonObjectFile(*source, c.item + " manifest", log_);
      if (!manifest) return skip("its archive manifest is unreadable");
      auto* files = manifest->if_contains("files");
      if (files == nullptr || !files->is_object()) return skip("its archive manifest has no files");
      for (const auto& [path, info] : files->get_object()) {
        std::string sha = info.is_object() ? StringMember(info.get_object(), "sha256") : "";
        if (!artifacts::IsSha256Hex(sha)) return skip("manifest entry without a sha256: " + std::string(path));
        auto blob = ResolveArchivePath(from_, "archive/blobs/" + sha.substr(0, 2) + "/" + sha);
        if (!blob || KindOf(*blob) != EntryKind::kFile) return skip("blob missing for " + std::string(path));
        if (Status added = artifact.AddFile(*blob, std::string(path)); !added.ok()) return skip(added.message());
        spec.expected_digests[std::string(path)] = "sha256:" + sha;
      }
    } else if (top == "outputs") {
      if (KindOf(*source) == EntryKind::kFile) {
        if (Status added = artifact.AddFile(*source, c.name); !added.ok()) return skip(added.message());
      } else {
        std::error_code ec;
        for (fs::recursive_directory_iterator it(*source, ec), end; !ec && it != end; it.increment(ec)) {
          EntryKind kind = KindOf(it->path());
          if (kind == EntryKind::kSymlink) return skip("link inside the archived folder: " + it->path().string());
          if (kind != EntryKind::kFile || it->path().filename() == ".complete") continue;
          std::string path = it->path().lexically_relative(*source).generic_string();
          if (Status added = artifact.AddFile(it->path(), path); !added.ok()) return skip(added.message());
        }
        if (ec) return skip("archived folder cannot be listed: " + ec.message());
      }
    } else {
      return skip("archive_path is not below archive/blobs, archive/manifests or archive/outputs");
    }
    if (artifact.files().empty()) return skip("no files");
    return std::make_pair(std::move(artifact), std::move(spec));
  }

  // The version of `name` whose metadata carries `key`, or 0.
  int FindByKey(ArtifactType type, const std::string& name, const std::string& key) {
    if (store_ == nullptr) return dry_run_keys_->count(name + "\n" + key) ? -1 : 0;
    auto versions = store_->ListVersions(name, /*include_deleted=*/true);
    if (!versions.ok()) return 0;
    for (const auto& v : *versions) {
      auto* k = v.metadata.if_contains("runicorn_asset_key");
      if (v.type == type && k && k->is_string() && k->get_string() == key) return v.version;
    }
    return 0;
  }

  Status ImportOne(const Candidate& c, RunLinks* links) {
    int version = ValidateArtifactName(c.name).ok() && !c.key.empty() ? FindByKey(c.type, c.name, c.key) : 0;
    if (version == 0) {
      auto built = Build(c);
      if (!built) return Status::Ok();
      if (store_ == nullptr) {
        if (Status s = CheckArtifactDigests(built->first, built->second); !s.ok()) {
          log_.Add(c.item, "asset not imported: " + s.message());
          return Status::Ok();
        }
        dry_run_keys_->insert(c.name + "\n" + c.key);
        report_->imported_artifact_versions.push_back(fmt::format("{}/{}:new", ArtifactTypeName(c.type), c.name));
        return Status::Ok();
      }
      Status s;
      Layout layout(store_->root());
      for (int attempt = 0; attempt < kMaxClaimAttempts; ++attempt) {
        RUNTRACK_ASSIGN_OR_RETURN(auto entries, artifacts::ScanVersions(layout.name_dir(c.type, c.name)));
        built->second.version = entries.empty() ? 1 : entries.back().version + 1;
        s = WriteArtifactVersion(*store_, built->first, built->second);
        if (s.code() != StatusCode::kAlreadyExists || !VersionTaken(layout, c, built->second.version)) break;
      }
      if (s.code() == StatusCode::kIOError || s.code() == StatusCode::kInternal) return s;
      if (!s.ok()) {
        log_.Add(c.item, "asset not imported: " + s.message());
        return Status::Ok();
      }
      version = built->second.version;
      report_->imported_artifact_versions.push_back(fmt::format("{}/{}:v{}", ArtifactTypeName(c.type), c.name, version));
      report_->imported_files += built->first.files().size();
      if (c.produced) ++report_->lineage_edges;  // created_by_run wrote the produced marker
    } else if (version > 0) {
      report_->existing_artifact_versions.push_back(fmt::format("{}/{}:v{}", ArtifactTypeName(c.type), c.name, version));
    }
    if (store_ == nullptr || version <= 0) return Status::Ok();
    (c.produced ? links->produced : links->used)
        .push_back({c.name, std::string(ArtifactTypeName(c.type)), version});
    return RecordEdge(c, version);
  }

  static bool VersionTaken(const Layout& layout, const Candidate& c, int version) {
    std::error_code ec;
    return fs::exists(layout.version_dir(c.type, c.name, version), ec);
  }

  Status RecordEdge(const Candidate& c, int version) {
    Layout layout(store_->root());
    fs::path marker = layout.lineage_run_dir(run_.id) / (c.produced ? "produced" : "used") /
                      artifacts::LineageKey(c.type, c.name, version);
    std::error_code ec;
    if (fs::exists(marker, ec)) return Status::Ok();
    RUNTRACK_RETURN_IF_ERROR(c.produced ? artifacts::RecordProduced(layout, run_.id, c.type, c.name, version)
                                        : artifacts::RecordUse(layout, run_.id, c.type, c.name, version));
    ++report_->lineage_edges;
    return Status::Ok();
  }

  const SourceRunDir& run_;
  const fs::path& from_;
  ArtifactStore* store_;
  std::set<std::string>* dry_run_keys_;
  const SkipLog& log_;
  ImportReport* report_;
  double run_created_at_ = 0;
};

}  // namespace

Result<RunLinks> ImportRunAssets(const SourceRunDir& run, const fs::path& from, ArtifactStore* store,
                                 std::set<std::string>* dry_run_keys, const SkipLog& log, ImportReport* report) {
  RunAssetImporter importer(run, from, store, dry_run_keys, log, report);
  return importer.Import();
}

}  // namespace runtrack::importer

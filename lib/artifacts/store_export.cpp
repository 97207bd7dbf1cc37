// ArtifactStore::Export and HandleFromManifest: the two doors another catalog of this store's
// versions needs (the PostgreSQL back end, apps/runicorn/service/pg): a lossless read of every
// claimed version, and a handle over a manifest that catalog kept.
#include "artifacts/alias_table.h"
#include "artifacts/handle_impl.h"
#include "artifacts/lineage_index.h"
#include "artifacts/store_reader.h"
#include "util/files.h"
#include "util/guard.h"
#include "artifacts/names.h"
#include "artifacts/version_registry.h"

namespace runtrack {
using namespace artifacts;

namespace {

constexpr auto& kAllTypes = artifacts::kAllArtifactTypes;

}  // namespace

Result<std::vector<ExportedArtifactName>> ArtifactStore::Export() {
  return util::GuardStatus("export artifacts", [&]() -> Result<std::vector<ExportedArtifactName>> {
    Layout layout(root_);
    std::vector<ExportedArtifactName> out;
    for (ArtifactType t : kAllTypes) {
      RUNTRACK_ASSIGN_OR_RETURN(auto names, ListNames(layout, t));
      for (const auto& name : names) {
        ExportedArtifactName n;
        n.name = name;
        n.type = t;
        RUNTRACK_ASSIGN_OR_RETURN(auto entries, ScanVersions(layout.name_dir(t, name)));
        for (const auto& e : entries) {
          ExportedArtifactVersion v;
          v.version = e.version;
          v.state = artifacts::VersionStateName(e.state);
          if (e.state == VersionState::kReady || e.state == VersionState::kDeleted) {
            fs::path path = layout.version_dir(t, name, e.version) / Layout::kManifest;
            auto text = util::ReadFile(path);
            if (!text.ok() && text.status().code() == StatusCode::kNotFound) {
              v.state = "purged";  // permanently deleted between the scan and the read
            } else {
              RUNTRACK_RETURN_IF_ERROR(text.status());
              // The bytes parsed are the bytes copied: no second read that a writer could race.
              std::string spec = name + ":v" + std::to_string(e.version);
              auto parsed = ParseManifest(*text);
              if (!parsed.ok()) return Status::Corruption(spec + ": " + parsed.status().message());
              Manifest m = std::move(parsed).value();
              if (m.name != name || m.version != e.version || m.type != t)
                return Status::Corruption(spec + ": manifest belongs to " + m.name + ":v" + std::to_string(m.version));
              v.info = MakeVersionInfo(m, e.state, {});
              for (const auto& f : m.files) {
                v.files.push_back(MakeFileInfo(f));
                for (const auto& c : f.chunks) v.chunks.emplace(c.sha256, c.size);
              }
              v.references = m.references;
              v.manifest_text = std::move(text).value();
            }
          }
          v.used_by_runs = RunsUsing(layout, t, name, e.version);
          n.versions.push_back(std::move(v));
        }
        RUNTRACK_ASSIGN_OR_RETURN(n.aliases, ReadAliases(layout.aliases_dir(t, name)));
        out.push_back(std::move(n));
      }
    }
    return out;
  });
}

Result<ArtifactHandle> ArtifactStore::HandleFromManifest(std::string_view manifest_text,
                                                         std::vector<std::string> aliases) const {
  return util::GuardStatus("open artifact manifest", [&]() -> Result<ArtifactHandle> {
    RUNTRACK_ASSIGN_OR_RETURN(Manifest m, ParseManifest(manifest_text));
    auto impl = std::make_shared<ArtifactHandle::Impl>(ArtifactHandle::Impl{Layout(root_), std::move(m), {}, {}});
    impl->info = MakeVersionInfo(impl->manifest, VersionState::kReady, std::move(aliases));
    for (const auto& f : impl->manifest.files) impl->files.push_back(MakeFileInfo(f));
    return ArtifactHandle(std::move(impl));
  });
}

}  // namespace runtrack

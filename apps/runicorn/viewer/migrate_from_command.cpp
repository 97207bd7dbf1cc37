// `runicorn migrate --from postgresql://… --objects s3://… [--storage DIR] [--json]`
// (docs/SCALE-OUT.md "Migrating a store"): the team back end copied back into an embedded store.
//
//   1. The sources are opened and read first (URL checks, the bucket's HEAD, PostgreSQL: the
//      schema must be there, every artifact row in one snapshot, the bucket's segment listing),
//      so a bad URL, credentials or a missing bucket leave the destination untouched; then the
//      destination's catalog (kBusy while a viewer holds it).
//   2. Runs: every finished run of PostgreSQL not yet in the store is installed as its sealed
//      segment and LOD objects (each read whole from the bucket and verified before it is
//      written) plus a compacted journal written last (runtrack::InstallRunFromSealedObjects), so the
//      catalog indexes it exactly as the source store had it: points from the segments, the row
//      from the journal's records. Runs still running are not copied (their tail is on a
//      replica's disk); text logs and run files are in neither PostgreSQL nor the bucket.
//   3. Artifacts: every chunk of every ready or deleted version from the bucket into blobs/
//      (verified against its SHA-256 name), then each name with every claimed number, the exact
//      manifests, aliases and lineage (runtrack::ImportArtifactName).
//   4. The catalog indexes the new runs (Refresh), then everything is read back and compared:
//      each run's listing row, config and summary against PostgreSQL; each run's sealed series in
//      the local catalog against the bucket's objects (count, footer CRC, sizes; the files were
//      verified byte for byte when installed); every artifact version and file list.
// Resumable: a run with a journal, a chunk present and a version present are left alone, so a
// second run copies nothing twice and an interrupted one is finished by running it again (a run
// interrupted before its journal is installed again whole). PostgreSQL and the bucket are only
// read (opening the catalog does bring an older schema up to date, as a viewer would).
#include "viewer/migrate_from_command.h"

#include <cstdio>
#include <memory>
#include <set>
#include <string>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "runtrack/layout.h"
#include "runtrack/store_install.h"
#include "service/embedded_storage.h"
#include "service/file_artifacts.h"
#include "service/s3/object_chunk_store.h"
#include "service/s3/object_segment_store.h"
#include "service/s3/objects_option.h"
#include "viewer/migrate_common.h"
#include "viewer/migrate_verify.h"
#ifdef RUNICORN_HAVE_PG
#include "service/pg/pg_artifact_repository.h"
#include "service/pg/pg_run_catalog.h"
#include "service/pg/pg_viewer_catalog.h"
#include "viewer/migrate_from_sources.h"
#endif

namespace runicorn::viewer {

using cli::kExitError;
using cli::kExitOk;
using cli::kExitUsage;
namespace bj = boost::json;

namespace {

constexpr const char* kUsage =
    "usage: runicorn migrate --from postgresql://[USER@]HOST[:PORT]/DATABASE\n"
    "                        --objects s3://BUCKET/PREFIX?endpoint=URL&region=R [--storage DIR] [--json]\n"
    "  Copies the team back end (finished runs with their sealed metric segments, artifacts and\n"
    "  their chunks) into an embedded store, then reads everything back to check it. Resumable:\n"
    "  run it again after an interruption. Text logs and run files are not in the back end.\n"
    "  Passwords and keys come from PGPASSWORD/~/.pgpass and AWS_* variables or a credentials file.\n";

#ifdef RUNICORN_HAVE_PG

struct CopyCounts {
  uint64_t runs = 0, runs_copied = 0, runs_present = 0, runs_running = 0;
  uint64_t segment_objects = 0, segment_bytes = 0;
  uint64_t chunks = 0, chunks_present = 0, chunk_bytes = 0;
  runtrack::ArtifactImportReport artifacts;
};

// The first `count` of `refs`: PostgreSQL's row counts the run's journal artifact records, the
// lineage tables hold the edges (a version logged without the run's record has an edge only).
std::vector<runtrack::ArtifactRef> FirstOf(const std::vector<runtrack::ArtifactRef>* refs, int count) {
  if (refs == nullptr) return {};
  return {refs->begin(), refs->begin() + std::min<size_t>(refs->size(), static_cast<size_t>(std::max(count, 0)))};
}

runtrack::Status CopyRun(const runtrack::StoreLayout& layout, service::pg::PgRunCatalog& runs_pg,
                         service::s3::ObjectSegmentStore& bucket, const PgArtifactSnapshot& artifacts,
                         const runtrack::RunSummary& row, const std::vector<runtrack::SealedObjectRef>& series,
                         CopyCounts* counts) {
  RUNTRACK_ASSIGN_OR_RETURN(runtrack::RunDetail detail, runs_pg.GetRun(row.id));
  for (const auto& ref : series)
    for (auto kind : {runtrack::SealedObjectKind::kSegment, runtrack::SealedObjectKind::kLod}) {
      const uint64_t size = ref.size_of(kind);
      if (size == 0) continue;
      // One object in memory at a time (a 10^7-point segment is ~53 MB).
      RUNTRACK_ASSIGN_OR_RETURN(std::string bytes, bucket.ReadRange(ref, kind, 0, size));
      auto written = runtrack::InstallSealedObject(layout, ref, kind, bytes);
      if (!written.ok())
        return runtrack::Status(written.status().code(),
                                fmt::format("{}: {}", bucket.Describe(ref, kind), written.status().message()));
      if (*written) {
        ++counts->segment_objects;
        counts->segment_bytes += size;
      }
    }
  runtrack::InstalledRun run;
  run.run = detail.run;
  run.config = std::move(detail.config);
  run.summary = std::move(detail.summary);
  auto produced = artifacts.produced.find(row.id);
  auto used = artifacts.used.find(row.id);
  run.artifacts_created =
      FirstOf(produced == artifacts.produced.end() ? nullptr : &produced->second, detail.run.artifacts_created_count);
  run.artifacts_used = FirstOf(used == artifacts.used.end() ? nullptr : &used->second, detail.run.artifacts_used_count);
  RUNTRACK_ASSIGN_OR_RETURN(bool installed, runtrack::InstallRunFromSealedObjects(layout, run, series));
  ++(installed ? counts->runs_copied : counts->runs_present);
  return runtrack::Status::Ok();
}

runtrack::Status CopyArtifacts(const std::filesystem::path& root, service::s3::ObjectChunkStore& bucket,
                               const PgArtifactSnapshot& snapshot, CopyCounts* counts) {
  std::set<std::string> seen;  // versions share chunks: each distinct one is counted once
  for (const PgArtifactExport& e : snapshot.names) {
    // Chunks first: a version's manifest is installed only once all of its chunks are here.
    for (const auto& v : e.name.versions) {
      if (v.manifest_text.empty()) continue;
      auto chunks = runtrack::ManifestChunks(v.manifest_text);
      if (!chunks.ok())
        return runtrack::Status::Corruption(fmt::format("{}:v{}: {}", e.name.name, v.version, chunks.status().message()));
      for (const auto& [hex, size] : *chunks) {
        if (!seen.insert(hex).second) continue;
        ++counts->chunks;
        if (runtrack::ArtifactChunkPresent(root, hex, size)) {
          ++counts->chunks_present;
          continue;
        }
        RUNTRACK_ASSIGN_OR_RETURN(std::string bytes, bucket.Get(hex, size));  // verified against its name
        RUNTRACK_ASSIGN_OR_RETURN(bool written, runtrack::InstallArtifactChunk(root, hex, bytes));
        if (written) counts->chunk_bytes += size;
        else ++counts->chunks_present;
      }
    }
    RUNTRACK_ASSIGN_OR_RETURN(auto report, runtrack::ImportArtifactName(root, e.name, e.last_version));
    counts->artifacts.versions_installed += report.versions_installed;
    counts->artifacts.versions_present += report.versions_present;
    counts->artifacts.numbers_reserved += report.numbers_reserved;
    counts->artifacts.aliases_written += report.aliases_written;
    counts->artifacts.uses_recorded += report.uses_recorded;
  }
  return runtrack::Status::Ok();
}

// Each copied run's sealed series in the local catalog are the bucket's objects, and its journal
// was indexed without damage.
runtrack::Status VerifySeries(service::EmbeddedStorage& storage,
                              const std::map<std::string, std::vector<runtrack::SealedObjectRef>>& bucket_series,
                              const std::set<std::string>& runs, Verification* v) {
  RUNTRACK_ASSIGN_OR_RETURN(auto local, storage.catalog().ListSealedObjects());
  std::map<std::pair<std::string, uint32_t>, runtrack::SealedObjectRef> indexed;
  for (const auto& ref : local) indexed[{ref.run_id, ref.series}] = ref;
  for (const std::string& id : runs) {
    auto detail = storage.GetRun(id);
    if (!detail.ok()) continue;  // VerifyRuns names it
    if (detail->journal_corrupt)
      v->Mismatch(fmt::format("run {}: the store could not read {} bytes of its copied points", id,
                              detail->journal_skipped_bytes));
    auto it = bucket_series.find(id);
    if (it == bucket_series.end()) continue;
    for (const auto& ref : it->second) {
      v->segment_objects += ref.lod_size > 0 ? 2 : 1;
      auto have = indexed.find({id, ref.series});
      if (have == indexed.end() || !(have->second == ref))
        v->Mismatch(fmt::format("run {} series {:08x}: the store's catalog does not index the bucket's {}", id,
                                ref.series, service::s3::ObjectSegmentStore::NameOf(ref)));
      else
        v->bytes_compared += ref.segment_size + ref.lod_size;
    }
  }
  return runtrack::Status::Ok();
}

int MigrateFrom(const cli::Args& args) {
  const std::string from = *args.Get("from");
  // Sources first: nothing is written to the destination before they have all answered.
  int exit_code = kExitError;
  auto back_end = OpenTeamBackEnd(from, "--from", *args.Get("objects"), &exit_code);
  if (!back_end) return exit_code;
  const std::shared_ptr<service::s3::ObjectChunkStore>& bucket = back_end->bucket;
  service::s3::ObjectSegmentStore segment_bucket(std::shared_ptr<service::s3::S3Client>(bucket, &bucket->client()));
  auto has_schema = HasRunicornSchema(from);
  if (!has_schema.ok()) return MigrateFail("PostgreSQL", has_schema.status());
  if (!*has_schema) {
    std::fprintf(stderr, "runicorn migrate: --from: the database holds no runicorn catalog (no runs table); nothing to copy\n");
    return kExitError;
  }
  auto runs_pg = service::pg::PgRunCatalog::Open(from);
  if (!runs_pg.ok()) return MigrateFail("PostgreSQL", runs_pg.status());
  runtrack::RunQuery all;
  all.include_deleted = true;
  auto source_runs = (*runs_pg)->ListRuns(all);
  if (!source_runs.ok()) return MigrateFail("list runs", source_runs.status());
  auto snapshot = ReadPgArtifacts(from);
  if (!snapshot.ok()) return MigrateFail("read artifacts", snapshot.status());
  auto series = ListBucketSeries(segment_bucket);
  if (!series.ok()) return MigrateFail("list metric segments", series.status());

  const std::filesystem::path root = cli::ResolveStorage(args);
  const runtrack::StoreLayout layout(root);
  auto storage = service::EmbeddedStorage::Open(root);
  if (!storage.ok()) {
    if (storage.status().code() == runtrack::StatusCode::kBusy)
      std::fprintf(stderr,
                   "runicorn migrate: the catalog of %s is held by another process (a running `runicorn viewer`?); "
                   "stop it first\n",
                   root.string().c_str());
    return storage.status().code() == runtrack::StatusCode::kBusy ? cli::kExitBusy
                                                                   : MigrateFail("open the store", storage.status());
  }

  CopyCounts counts;
  std::set<std::string> copied_runs;
  const std::vector<runtrack::SealedObjectRef> none;
  for (const auto& row : source_runs->runs) {
    ++counts.runs;
    if (row.status == runtrack::RunStatus::kRunning) {
      ++counts.runs_running;
      continue;
    }
    auto it = series->find(row.id);
    if (auto s = CopyRun(layout, **runs_pg, segment_bucket, *snapshot, row, it == series->end() ? none : it->second,
                         &counts);
        !s.ok())
      return MigrateFail(fmt::format("copy run {}", row.id), s);
    copied_runs.insert(row.id);
  }
  // The artifact store's folders are created by opening it, as for any store.
  if (auto s = CopyArtifacts(root, *bucket, *snapshot, &counts); !s.ok()) return MigrateFail("copy artifacts", s);

  runtrack::Catalog& catalog = (*storage)->catalog();
  auto indexed = catalog.Refresh();
  if (!indexed.ok()) return MigrateFail("index the store", indexed.status());

  Verification check;
  const SideNames sides{"PostgreSQL", "the store"};
  if (auto s = VerifyRuns(**runs_pg, **storage, sides,
                          [](const runtrack::RunSummary& r) { return r.status != runtrack::RunStatus::kRunning; },
                          &check);
      !s.ok())
    return MigrateFail("verify runs", s);
  if (auto s = VerifySeries(**storage, *series, copied_runs, &check); !s.ok()) return MigrateFail("verify segments", s);
  service::pg::PgArtifactOptions artifact_options;
  artifact_options.chunk_root = root;
  auto artifacts_pg = service::pg::PgArtifactRepository::Open(from, artifact_options);
  if (!artifacts_pg.ok()) return MigrateFail("PostgreSQL", artifacts_pg.status());
  if (auto s = VerifyArtifacts(**artifacts_pg, (*storage)->artifacts(), sides, &check); !s.ok())
    return MigrateFail("verify artifacts", s);
  check.chunks = counts.chunks;

  if (args.Has("json")) {
    bj::object out{
        {"runs", counts.runs},
        {"runs_copied", counts.runs_copied},
        {"runs_already_there", counts.runs_present},
        {"runs_still_running", counts.runs_running},
        {"segment_objects_downloaded", counts.segment_objects},
        {"segment_bytes_downloaded", counts.segment_bytes},
        {"artifact_versions_copied", counts.artifacts.versions_installed},
        {"artifact_versions_already_there", counts.artifacts.versions_present},
        {"artifact_numbers_reserved", counts.artifacts.numbers_reserved},
        {"aliases_copied", counts.artifacts.aliases_written},
        {"chunks_downloaded", counts.chunks - counts.chunks_present},
        {"chunks_already_there", counts.chunks_present},
        {"chunk_bytes_downloaded", counts.chunk_bytes},
        {"not_copied", bj::array{"text logs", "run files"}},
        {"verified", bj::object{{"runs", check.runs},
                                {"artifact_versions", check.versions},
                                {"chunks", check.chunks},
                                {"segment_objects", check.segment_objects},
                                {"segment_bytes_compared", check.bytes_compared},
                                {"mismatches", check.mismatches}}},
    };
    bj::array problems;
    for (const auto& p : check.problems) problems.emplace_back(p);
    out["problems"] = std::move(problems);
    std::printf("%s\n", bj::serialize(out).c_str());
  } else {
    auto n = [](uint64_t v) { return static_cast<unsigned long long>(v); };
    std::printf("runs: %llu in PostgreSQL: %llu copied, %llu already in the store, %llu still running (not copied)\n",
                n(counts.runs), n(counts.runs_copied), n(counts.runs_present), n(counts.runs_running));
    std::printf("metric segments: %llu objects downloaded (%s)\n", n(counts.segment_objects),
                cli::FormatBytes(counts.segment_bytes).c_str());
    std::printf("artifacts: %llu versions copied, %llu already there, %llu aliases\n",
                n(counts.artifacts.versions_installed), n(counts.artifacts.versions_present),
                n(counts.artifacts.aliases_written));
    std::printf("chunks: %llu downloaded (%s), %llu already in blobs/\n", n(counts.chunks - counts.chunks_present),
                cli::FormatBytes(counts.chunk_bytes).c_str(), n(counts.chunks_present));
    std::printf("verified: %llu runs, %llu artifact versions, %llu chunks, %llu segment objects: %s\n", n(check.runs),
                n(check.versions), n(check.chunks), n(check.segment_objects),
                check.mismatches == 0 ? "identical" : fmt::format("{} differences", check.mismatches).c_str());
    std::printf("note: text logs and run files are not kept in PostgreSQL or the bucket; they are not copied\n");
  }
  for (const auto& p : check.problems) std::fprintf(stderr, "runicorn migrate: %s\n", p.c_str());
  return check.mismatches == 0 ? kExitOk : kExitError;
}

#endif  // RUNICORN_HAVE_PG

}  // namespace

int RunMigrateFrom(const cli::Args& args) {
  if (args.Has("help") || !args.positional().empty() ||
      !args.Unknown({"from", "objects", "storage", "json", "help"}).empty() || !args.Get("objects")) {
    std::fputs(kUsage, args.Has("help") ? stdout : stderr);
    return args.Has("help") ? kExitOk : kExitUsage;
  }
#ifdef RUNICORN_HAVE_PG
  return MigrateFrom(args);
#else
  std::fputs("runicorn migrate: this runicorn was built without libpq (libpq-dev)\n", stderr);
  return kExitUsage;
#endif
}

}  // namespace runicorn::viewer

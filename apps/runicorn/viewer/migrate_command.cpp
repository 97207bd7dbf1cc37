// `runicorn migrate --to postgresql://… --objects s3://… [--storage DIR] [--json]`
// (docs/SCALE-OUT.md "Migrating a store").
//
// Copies an embedded store into the team back end, then checks the copy:
//   1. the local catalog is brought up to date (Refresh) and every finished run sealed;
//   2. runs → PostgreSQL (PgRunMirror: upserts in batches);
//   3. artifact names, versions, aliases and lineage → PostgreSQL (PgArtifactRepository::CopyFrom);
//   4. artifact chunks → the bucket (ObjectChunkMirror: HEAD before PUT), with this store's
//      reference list for `gc --objects`;
//   5. sealed segment and LOD objects → the bucket (ObjectSegmentPublisher), with their list;
//   6. verification: every run's listing row read back from PostgreSQL, every artifact version
//      and file list, every referenced chunk present, every segment and LOD object read back
//      whole and compared byte for byte with the local file (identical objects hold identical
//      points: the readers decode the same bytes).
// Every step is idempotent (upserts, rows already present left alone, HEAD before PUT), so an
// interrupted migration is resumed by running the same command again; nothing is sent twice
// that the back end already holds. The local store is only read (and sealed, as a viewer would).
// The unsealed points of runs still running stay in this store: a replica owns a live run's tail
// (docs/SCALE-OUT.md); migrate them once they have finished.
#include "viewer/migrate_command.h"

#include <cstdio>
#include <memory>
#include <string>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/cli.h"
#include "runtrack/artifacts.h"
#include "runtrack/catalog.h"
#include "runtrack/layout.h"
#include "runtrack/sealed_objects.h"
#include "service/embedded_storage.h"
#include "service/file_artifacts.h"
#include "service/s3/object_chunk_mirror.h"
#include "service/s3/object_segment_publisher.h"
#include "service/s3/object_segment_store.h"
#include "service/s3/objects_option.h"
#include "service/text_file.h"
#include "viewer/migrate_from_command.h"
#include "viewer/migrate_common.h"
#include "viewer/migrate_verify.h"
#ifdef RUNICORN_HAVE_PG
#include "service/pg/pg_artifact_repository.h"
#include "service/pg/pg_run_mirror.h"
#include "service/pg/pg_viewer_catalog.h"
#endif

namespace runicorn::viewer {

using cli::kExitError;
using cli::kExitOk;
using cli::kExitUsage;
namespace bj = boost::json;

namespace {

constexpr const char* kUsage =
    "usage: runicorn migrate --to postgresql://[USER@]HOST[:PORT]/DATABASE\n"
    "                        --objects s3://BUCKET/PREFIX?endpoint=URL&region=R [--storage DIR] [--json]\n"
    "  Copies the store (runs, artifacts, chunks, sealed metric segments) into PostgreSQL and the\n"
    "  bucket, then reads everything back to check it. Resumable: run it again after an interruption.\n"
    "  Passwords and keys come from PGPASSWORD/~/.pgpass and AWS_* variables or a credentials file.\n"
    "   or: runicorn migrate --from postgresql://… --objects s3://… [--storage DIR] [--json]\n"
    "  Copies the team back end back into an embedded store (`runicorn migrate --from URL --help`).\n";

#ifdef RUNICORN_HAVE_PG

runtrack::Status VerifyChunks(const std::vector<std::string>& referenced, service::s3::ObjectChunkStore& bucket,
                              Verification* v) {
  for (const auto& hex : referenced) {
    ++v->chunks;
    RUNTRACK_ASSIGN_OR_RETURN(bool present, bucket.Contains(hex));
    if (!present) v->Mismatch(fmt::format("chunk {} is not in the bucket", hex));
  }
  return runtrack::Status::Ok();
}

// One object at a time: memory is the largest segment twice (local + bucket copy).
runtrack::Status VerifySegments(const runtrack::StoreLayout& layout, const std::vector<runtrack::SealedObjectRef>& refs,
                                service::s3::ObjectSegmentStore& bucket, Verification* v) {
  for (const auto& ref : refs) {
    for (auto kind : {runtrack::SealedObjectKind::kSegment, runtrack::SealedObjectKind::kLod}) {
      const uint64_t size = ref.size_of(kind);
      if (size == 0) continue;
      ++v->segment_objects;
      const auto path = kind == runtrack::SealedObjectKind::kSegment
                            ? layout.segment_path(ref.run_id, ref.series, ref.point_count)
                            : layout.lod_path(ref.run_id, ref.series, ref.point_count);
      RUNTRACK_ASSIGN_OR_RETURN(std::string local, service::ReadTextFile(path));
      auto copy = bucket.ReadRange(ref, kind, 0, size);
      if (!copy.ok()) {
        v->Mismatch(fmt::format("{}: {}", bucket.Describe(ref, kind), copy.status().ToString()));
      } else if (*copy != local) {
        v->Mismatch(fmt::format("{} differs from {}", bucket.Describe(ref, kind), path.string()));
      } else {
        v->bytes_compared += size;
      }
    }
  }
  return runtrack::Status::Ok();
}

int Migrate(const cli::Args& args) {
  const std::string to = *args.Get("to");
  // Every destination is opened before the store is touched, so a bad URL or credentials change
  // nothing.
  int exit_code = kExitError;
  auto back_end = OpenTeamBackEnd(to, "--to", *args.Get("objects"), &exit_code);
  if (!back_end) return exit_code;
  const std::shared_ptr<service::s3::ObjectChunkStore>& bucket = back_end->bucket;
  auto segment_bucket = std::make_shared<service::s3::ObjectSegmentStore>(
      std::shared_ptr<service::s3::S3Client>(bucket, &bucket->client()));
  auto runs_pg = service::pg::PgRunCatalog::Open(to);
  if (!runs_pg.ok()) return MigrateFail("PostgreSQL", runs_pg.status());

  const std::filesystem::path root = cli::ResolveStorage(args);
  const runtrack::StoreLayout layout(root);
  auto storage = service::EmbeddedStorage::Open(root);
  if (!storage.ok()) {
    if (storage.status().code() == runtrack::StatusCode::kBusy)
      std::fprintf(stderr,
                   "runicorn migrate: the catalog of %s is held by another process (a running `runicorn viewer`?); "
                   "stop it first, or restart it with --catalog and --objects, which keep the back end current\n",
                   root.string().c_str());
    return storage.status().code() == runtrack::StatusCode::kBusy ? cli::kExitBusy
                                                                   : MigrateFail("open the store", storage.status());
  }
  runtrack::Catalog& catalog = (*storage)->catalog();
  auto indexed = catalog.Refresh();
  if (!indexed.ok()) return MigrateFail("index the store", indexed.status());
  auto sealed = catalog.SealFinishedRuns();
  if (!sealed.ok()) return MigrateFail("seal finished runs", sealed.status());

  service::pg::PgRunMirror mirror(**storage, **runs_pg);
  if (auto s = mirror.Pass(/*local_changed=*/true); !s.ok()) return MigrateFail("copy runs", s);

  service::pg::PgArtifactOptions artifact_options;
  artifact_options.chunk_root = root;
  auto artifacts_pg = service::pg::PgArtifactRepository::Open(to, artifact_options);
  if (!artifacts_pg.ok()) return MigrateFail("PostgreSQL", artifacts_pg.status());
  auto source_artifacts = runtrack::ArtifactStore::Open(root);
  if (!source_artifacts.ok()) return MigrateFail("open the artifact store", source_artifacts.status());
  auto copied = (*artifacts_pg)->CopyFrom(*source_artifacts);
  if (!copied.ok()) return MigrateFail("copy artifacts", copied.status());

  service::FileArtifactRepository& local_artifacts = (*storage)->artifacts();
  service::s3::ObjectChunkMirror chunks(layout.blobs_dir(), bucket);
  chunks.PublishReferencesOf(root, [&local_artifacts] { return local_artifacts.ReferencedChunks(); });
  auto chunk_report = chunks.Push();
  if (!chunk_report.ok()) return MigrateFail("upload artifact chunks", chunk_report.status());

  service::s3::ObjectSegmentPublisher segments(root, segment_bucket, [&catalog] { return catalog.ListSealedObjects(); });
  auto segment_report = segments.Push();
  if (!segment_report.ok()) return MigrateFail("upload metric segments", segment_report.status());

  Verification check;
  const SideNames sides;  // the store is the source, PostgreSQL the copy
  if (auto s = VerifyRuns(**storage, **runs_pg, sides, [](const runtrack::RunSummary&) { return true; }, &check);
      !s.ok())
    return MigrateFail("verify runs", s);
  if (auto s = VerifyArtifacts(local_artifacts, **artifacts_pg, sides, &check); !s.ok()) return MigrateFail("verify artifacts", s);
  auto referenced = local_artifacts.ReferencedChunks();
  if (!referenced.ok()) return MigrateFail("verify chunks", referenced.status());
  if (auto s = VerifyChunks(*referenced, *bucket, &check); !s.ok()) return MigrateFail("verify chunks", s);
  auto refs = catalog.ListSealedObjects();
  if (!refs.ok()) return MigrateFail("verify segments", refs.status());
  if (auto s = VerifySegments(layout, *refs, *segment_bucket, &check); !s.ok()) return MigrateFail("verify segments", s);

  runtrack::RunQuery running;
  running.include_deleted = true;
  running.statuses = {runtrack::RunStatus::kRunning};
  auto live = (*storage)->ListRuns(running);
  const uint64_t live_runs = live.ok() ? live->total : 0;

  if (args.Has("json")) {
    bj::object out{
        {"runs", check.runs},
        {"runs_written", mirror.last_pass().upserted},
        {"runs_sealed_now", sealed->runs_sealed},
        {"runs_still_running", live_runs},
        {"artifact_versions_copied", copied->versions_copied},
        {"artifact_versions_already_there", copied->versions_skipped},
        {"aliases_copied", copied->aliases_copied},
        {"chunks_uploaded", chunk_report->uploaded},
        {"chunks_already_there", chunk_report->already_present},
        {"chunk_bytes_uploaded", chunk_report->bytes_uploaded},
        {"segment_series", segment_report->series},
        {"segment_objects_uploaded", segment_report->uploaded},
        {"segment_objects_already_there", segment_report->already_present},
        {"segment_bytes_uploaded", segment_report->bytes_uploaded},
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
    std::printf("runs: %llu in PostgreSQL (%llu written now; %llu sealed now)\n",
                static_cast<unsigned long long>(check.runs),
                static_cast<unsigned long long>(mirror.last_pass().upserted),
                static_cast<unsigned long long>(sealed->runs_sealed));
    std::printf("artifacts: %llu versions copied, %llu already there, %llu aliases\n",
                static_cast<unsigned long long>(copied->versions_copied),
                static_cast<unsigned long long>(copied->versions_skipped),
                static_cast<unsigned long long>(copied->aliases_copied));
    std::printf("chunks: %llu uploaded (%s), %llu already in the bucket\n",
                static_cast<unsigned long long>(chunk_report->uploaded), cli::FormatBytes(chunk_report->bytes_uploaded).c_str(),
                static_cast<unsigned long long>(chunk_report->already_present));
    std::printf("metric segments: %llu sealed series, %llu objects uploaded (%s)\n",
                static_cast<unsigned long long>(segment_report->series),
                static_cast<unsigned long long>(segment_report->uploaded),
                cli::FormatBytes(segment_report->bytes_uploaded).c_str());
    std::printf("verified: %llu runs, %llu artifact versions, %llu chunks, %llu segment objects (%s compared): %s\n",
                static_cast<unsigned long long>(check.runs), static_cast<unsigned long long>(check.versions),
                static_cast<unsigned long long>(check.chunks), static_cast<unsigned long long>(check.segment_objects),
                cli::FormatBytes(check.bytes_compared).c_str(),
                check.mismatches == 0 ? "identical" : fmt::format("{} differences", check.mismatches).c_str());
    if (live_runs > 0)
      std::printf("note: %llu %s still running; %s points stay in this store until %s (run migrate again then)\n",
                  static_cast<unsigned long long>(live_runs), live_runs == 1 ? "run is" : "runs are",
                  live_runs == 1 ? "its" : "their", live_runs == 1 ? "it finishes" : "they finish");
  }
  for (const auto& p : check.problems) std::fprintf(stderr, "runicorn migrate: %s\n", p.c_str());
  return check.mismatches == 0 ? kExitOk : kExitError;
}

#endif  // RUNICORN_HAVE_PG

}  // namespace

int RunMigrate(const std::vector<std::string>& argv) {
  auto args = cli::Args::Parse(argv, {"json", "help"});
  if (args.ok() && args->Get("from") && !args->Get("to")) return RunMigrateFrom(*args);
  if (!args.ok() || args->Has("help") || !args->positional().empty() ||
      !args->Unknown({"to", "objects", "storage", "json", "help"}).empty() || !args->Get("to") || !args->Get("objects")) {
    std::fputs(kUsage, args.ok() && args->Has("help") ? stdout : stderr);
    return args.ok() && args->Has("help") ? kExitOk : kExitUsage;
  }
#ifdef RUNICORN_HAVE_PG
  return Migrate(*args);
#else
  std::fputs("runicorn migrate: this runicorn was built without libpq (libpq-dev)\n", stderr);
  return kExitUsage;
#endif
}

}  // namespace runicorn::viewer

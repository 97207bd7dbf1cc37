// `runicorn artifacts ...` (download: artifact_download.cpp) and `runicorn gc`.
#include <chrono>
#include <cstdio>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/progress_bar.h"
#include "encode/api_json.h"
#include "runtrack/json_codec.h"
#include "service/file_artifacts.h"
#include "service/s3/object_chunk_gc.h"
#include "service/s3/objects_option.h"

namespace runicorn::cli {
namespace bj = boost::json;
namespace json = runtrack::json;
using runtrack::Result;

namespace {

constexpr const char* kUsage =
    "usage: runicorn artifacts list [--type T] [--json]\n"
    "       runicorn artifacts versions NAME [--deleted] [--json]\n"
    "       runicorn artifacts info NAME VERSION [--json]          (VERSION: 3 or v3)\n"
    "       runicorn artifacts alias set NAME VERSION ALIAS | alias remove NAME ALIAS | alias list NAME\n"
    "       runicorn artifacts delete NAME VERSION [--permanent] | restore NAME VERSION\n"
    "       runicorn artifacts stats [--json]\n"
    "       runicorn artifacts download NAME[:VERSION] --output DIR [--json] [--progress | --no-progress]\n"
    "                                  [--objects s3://BUCKET/PREFIX?endpoint=URL&region=R]\n"
    "                                  [--catalog postgresql://... (with --objects; password: PGPASSWORD/.pgpass)]\n"
    "                                   (VERSION: 3, v3, latest or an alias; default latest)\n"
    "  common: [--storage DIR]\n";

int Usage() {
  std::fputs(kUsage, stderr);
  return kExitUsage;
}

// "/api/artifacts/<name>/v<version><suffix>" for the viewer's routes.
std::string VersionPath(const service::VersionRef& ref, const char* suffix = "") {
  return fmt::format("/api/artifacts/{}/v{}{}", PercentEncode(ref.name), ref.version, suffix);
}

}  // namespace

int RunArtifacts(const std::vector<std::string>& argv, const CatalogArtifactsOpener& open_catalog) {
  auto args = Args::Parse(argv, {"json", "deleted", "permanent", "progress", "no-progress"});
  if (!args.ok() || args->positional().empty()) return Usage();
  // download opens only the artifact files, not the catalog, and has flags of its own.
  if (args->positional()[0] == "download") return RunArtifactDownload(*args, open_catalog);
  if (!args->Unknown({"json", "deleted", "permanent", "type", "storage"}).empty()) return Usage();
  const auto& pos = args->positional();
  const std::string& sub = pos[0];
  const bool as_json = args->Has("json");
  auto need = [&](size_t n) { return pos.size() == n; };
  static const std::set<std::string> kSubs = {"list", "versions", "info", "alias", "delete", "restore", "stats"};
  if (!kSubs.count(sub)) return Usage();
  if ((sub == "list" || sub == "stats") && !need(1)) return Usage();
  if (sub == "versions" && !need(2)) return Usage();
  if ((sub == "info" || sub == "delete" || sub == "restore") && !need(3)) return Usage();
  if (sub == "alias" && !((pos.size() == 5 && pos[1] == "set") || (pos.size() == 4 && pos[1] == "remove") ||
                          (pos.size() == 3 && pos[1] == "list")))
    return Usage();

  int code = 0;
  auto access = OpenStore(*args, &code);
  if (!access.ok()) return code;
  StoreAccess& store = **access;
  // NAME VERSION of info / delete / restore.
  auto version_ref = [&]() -> Result<service::VersionRef> {
    RUNTRACK_ASSIGN_OR_RETURN(int version, service::ParseVersion(pos[2]));
    return service::VersionRef{pos[1], version, std::nullopt};
  };
  Result<bj::value> result = runtrack::Status::Internal("unreachable");
  if (sub == "list") {
    std::optional<runtrack::ArtifactType> type;
    std::vector<std::pair<std::string, std::string>> q;
    if (auto t = args->Get("type"); t && !t->empty()) {
      auto parsed = runtrack::ParseArtifactType(*t);
      if (!parsed.ok())
        return Fail(runtrack::Status::InvalidArgument(
            fmt::format("Invalid query parameter 'type': {}", parsed.status().message())));
      type = *parsed;
      q.emplace_back("type", *t);
    }
    result = store.Call([&](service::Services& s) -> Result<bj::value> {
      RUNTRACK_ASSIGN_OR_RETURN(auto list, s.artifacts.List(type));
      return bj::value(encode::ArtifactList(list));
    }, ApiCall::Get("/api/artifacts", q));
  } else if (sub == "stats") {
    result = store.Call([&](service::Services& s) -> Result<bj::value> {
      RUNTRACK_ASSIGN_OR_RETURN(auto stats, s.artifacts.Stats());
      return bj::value(json::ArtifactStats(stats));
    }, ApiCall::Get("/api/artifacts/stats"));
  } else if (sub == "versions") {
    const bool deleted = args->Has("deleted");
    result = store.Call([&](service::Services& s) -> Result<bj::value> {
      RUNTRACK_ASSIGN_OR_RETURN(auto versions, s.artifacts.Versions(pos[1], std::nullopt, deleted));
      return bj::value(encode::ArtifactVersions(versions));
    }, ApiCall::Get("/api/artifacts/" + PercentEncode(pos[1]) + "/versions",
                    {{"include_deleted", deleted ? "true" : "false"}}));
  } else if (sub == "info" || sub == "delete" || sub == "restore") {
    auto ref = version_ref();
    if (!ref.ok()) return Fail(ref.status());
    if (sub == "info") {
      result = store.Call([&](service::Services& s) -> Result<bj::value> {
        RUNTRACK_ASSIGN_OR_RETURN(auto info, s.artifacts.Version(*ref));
        return bj::value(json::ArtifactVersion(info));
      }, ApiCall::Get(VersionPath(*ref)));
    } else if (sub == "delete") {
      const bool permanent = args->Has("permanent");
      result = store.Call([&](service::Services& s) -> Result<bj::value> {
        RUNTRACK_RETURN_IF_ERROR(s.artifacts.Delete(*ref, permanent));
        return bj::value(encode::ArtifactDeleted(*ref, permanent));
      }, ApiCall{"DELETE", VersionPath(*ref), {{"permanent", permanent ? "true" : "false"}}, {}});
    } else {
      result = store.Call([&](service::Services& s) -> Result<bj::value> {
        RUNTRACK_RETURN_IF_ERROR(s.artifacts.Restore(*ref));
        return bj::value(encode::ArtifactRestored(*ref));
      }, ApiCall{"POST", VersionPath(*ref, "/restore"), {}, "{}"});
    }
  } else if (pos[1] == "set") {
    auto v = ParseInt64(pos[3].size() > 1 && (pos[3][0] == 'v' || pos[3][0] == 'V') ? pos[3].substr(1) : pos[3]);
    if (!v.ok()) return Usage();
    if (*v < 1 || *v > 1000000000)
      return Fail(runtrack::Status::InvalidArgument("version is required and must be an integer >= 1"));
    const int version = static_cast<int>(*v);
    const std::string &name = pos[2], &alias = pos[4];
    result = store.Call([&](service::Services& s) -> Result<bj::value> {
      RUNTRACK_ASSIGN_OR_RETURN(auto aliases, s.artifacts.SetAlias(name, alias, version));
      return bj::value(encode::AliasSet(name, alias, version, aliases));
    }, ApiCall{"PUT", "/api/artifacts/" + PercentEncode(name) + "/aliases/" + PercentEncode(alias), {},
               bj::serialize(bj::object{{"version", version}})});
  } else if (pos[1] == "remove") {
    const std::string &name = pos[2], &alias = pos[3];
    result = store.Call([&](service::Services& s) -> Result<bj::value> {
      RUNTRACK_RETURN_IF_ERROR(s.artifacts.RemoveAlias(name, alias));
      return bj::value(encode::AliasRemoved(name, alias));
    }, ApiCall{"DELETE", "/api/artifacts/" + PercentEncode(name) + "/aliases/" + PercentEncode(alias), {}, {}});
  } else {
    const std::string& name = pos[2];
    result = store.Call([&](service::Services& s) -> Result<bj::value> {
      RUNTRACK_ASSIGN_OR_RETURN(auto aliases, s.artifacts.Aliases(name));
      return bj::value(json::ArtifactAliases(name, aliases));
    }, ApiCall::Get("/api/artifacts/" + PercentEncode(name) + "/aliases"));
  }
  if (!result.ok()) return Fail(result.status());
  const bj::value& v = *result;
  if (as_json) return PrintJson(v), kExitOk;

  if (sub == "list") {
    std::vector<std::vector<std::string>> rows;
    for (const auto& a : v.as_array()) {
      const auto& o = a.as_object();
      std::string aliases;
      for (const auto& [k, ver] : o.at("aliases").as_object())
        aliases += fmt::format("{}{}=v{}", aliases.empty() ? "" : ",", std::string(k), FormatValue(ver));
      rows.push_back({FormatValue(o.at("name")), FormatValue(o.at("type")), FormatValue(o.at("num_versions")),
                      "v" + FormatValue(o.at("latest_version")), FormatBytes(o.at("size_bytes").to_number<uint64_t>()),
                      FormatTime(o.at("updated_at").to_number<double>()), aliases});
    }
    PrintTable({"NAME", "TYPE", "VERSIONS", "LATEST", "SIZE", "UPDATED", "ALIASES"}, rows);
  } else if (sub == "versions") {
    std::vector<std::vector<std::string>> rows;
    for (const auto& x : v.as_array()) {
      const auto& o = x.as_object();
      std::string aliases;
      for (const auto& a : o.at("aliases").as_array()) aliases += (aliases.empty() ? "" : ",") + FormatValue(a);
      rows.push_back({"v" + FormatValue(o.at("version")), FormatValue(o.at("status")),
                      FormatBytes(o.at("size_bytes").to_number<uint64_t>()), FormatValue(o.at("num_files")),
                      FormatValue(o.at("created_by_run")), FormatTime(o.at("created_at").to_number<double>()), aliases});
    }
    PrintTable({"VERSION", "STATUS", "SIZE", "FILES", "CREATED BY", "CREATED", "ALIASES"}, rows);
  } else if (sub == "stats") {
    const auto& o = v.as_object();
    std::printf("artifacts        %s\nversions         %s (%s soft-deleted)\nfiles            %s\n",
                FormatValue(o.at("total_artifacts")).c_str(), FormatValue(o.at("total_versions")).c_str(),
                FormatValue(o.at("deleted_versions")).c_str(), FormatValue(o.at("total_files")).c_str());
    std::printf("logical size     %s\nstored (dedup)   %s\nsaved            %s (ratio %.3f)\nblob pool        %s\n",
                FormatBytes(o.at("total_size_bytes").to_number<uint64_t>()).c_str(),
                FormatBytes(o.at("dedup_pool_size_bytes").to_number<uint64_t>()).c_str(),
                FormatBytes(o.at("space_saved_bytes").to_number<uint64_t>()).c_str(),
                o.at("dedup_ratio").is_null() ? 0.0 : o.at("dedup_ratio").to_number<double>(),
                FormatBytes(o.at("blob_pool_bytes").to_number<uint64_t>()).c_str());
  } else if (sub == "info") {
    for (const auto& [k, val] : v.as_object()) std::printf("%-16s %s\n", std::string(k).c_str(), FormatValue(val).c_str());
  } else if (v.is_object() && v.as_object().contains("message")) {
    std::puts(v.as_object().at("message").as_string().c_str());
  } else {
    PrintJson(v);
  }
  return kExitOk;
}

int RunGc(const std::vector<std::string>& argv) {
  constexpr const char* kUsage =
      "usage: runicorn gc [--dry-run] [--grace-seconds N] [--json] [--progress | --no-progress] [--storage DIR]\n"
      "                   [--objects s3://BUCKET/PREFIX?endpoint=URL&region=R]\n";
  auto args = Args::Parse(argv, {"dry-run", "json", "progress", "no-progress"});
  if (!args.ok() || !args->positional().empty() ||
      !args->Unknown({"dry-run", "json", "grace-seconds", "storage", "progress", "no-progress", "objects"}).empty()) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  int64_t grace = 3600;
  if (auto g = args->Get("grace-seconds")) {
    auto v = ParseInt64(*g);
    if (!v.ok() || *v < 0) {
      std::fputs(kUsage, stderr);
      return kExitUsage;
    }
    grace = *v;
  }
  // gc only touches artifacts/ and blobs/ (plain files), so it does not need the catalog and works
  // while a viewer is running.
  auto repository = service::FileArtifactRepository::Open(ResolveStorage(*args));
  if (!repository.ok()) {
    std::fprintf(stderr, "runicorn gc: %s\n", repository.status().ToString().c_str());
    return ExitCodeFor(repository.status());
  }
  service::ArtifactService artifacts(**repository, /*runs=*/nullptr);
  // --objects (docs/SCALE-OUT.md "Garbage collection"): the bucket's unreferenced chunk objects
  // too, after blobs/. Opened first, so a bad URL or credentials stop gc before it removes anything.
  std::shared_ptr<service::s3::ObjectChunkStore> bucket;
  if (auto url = args->Get("objects")) {
    auto opened = service::s3::OpenObjectChunkStore(*url);
    if (!opened.ok()) {
      std::fprintf(stderr, "runicorn gc: %s\n", opened.status().message().c_str());
      return opened.status().code() == runtrack::StatusCode::kInvalidArgument ? kExitUsage : ExitCodeFor(opened.status());
    }
    bucket = std::move(*opened);
  }
  auto collect_bucket = [&](bool dry_run) -> runtrack::Result<bj::object> {
    RUNTRACK_ASSIGN_OR_RETURN(auto referenced, (*repository)->ReferencedChunks());
    service::s3::BucketGcOptions options;
    options.grace = std::chrono::seconds(grace);
    options.dry_run = dry_run;
    RUNTRACK_ASSIGN_OR_RETURN(auto r, service::s3::CollectBucketChunks(*bucket, ResolveStorage(*args), referenced, options));
    // "objects": chunk objects; "segment_objects": sealed segment and LOD objects.
    return bj::object{
        {"objects", bj::object{{"objects_removed", r.objects_removed},
                               {"bytes_freed", r.bytes_freed},
                               {"objects_kept", r.objects_kept},
                               {"objects_in_grace", r.objects_in_grace},
                               {"reference_lists", r.reference_lists}}},
        {"segment_objects", bj::object{{"objects_removed", r.segments.objects_removed},
                                       {"bytes_freed", r.segments.bytes_freed},
                                       {"objects_kept", r.segments.objects_kept},
                                       {"objects_in_grace", r.segments.objects_in_grace},
                                       {"reference_lists", r.segments.reference_lists}}}};
  };
  auto print_bucket = [&](const bj::object& o, const bj::object& segments, bool dry_run) {
    std::printf("bucket: %s %s: %llu chunk objects %s, %llu kept (referenced by %llu stores' lists), %llu unreferenced "
                "but within the grace period\n",
                dry_run ? "would free" : "freed", FormatBytes(o.at("bytes_freed").to_number<uint64_t>()).c_str(),
                static_cast<unsigned long long>(o.at("objects_removed").to_number<uint64_t>()),
                dry_run ? "to remove" : "removed",
                static_cast<unsigned long long>(o.at("objects_kept").to_number<uint64_t>()),
                static_cast<unsigned long long>(o.at("reference_lists").to_number<uint64_t>()),
                static_cast<unsigned long long>(o.at("objects_in_grace").to_number<uint64_t>()));
    std::printf("bucket: %s %s: %llu segment objects %s, %llu kept (named by %llu stores' lists), %llu unnamed "
                "but within the grace period\n",
                dry_run ? "would free" : "freed", FormatBytes(segments.at("bytes_freed").to_number<uint64_t>()).c_str(),
                static_cast<unsigned long long>(segments.at("objects_removed").to_number<uint64_t>()),
                dry_run ? "to remove" : "removed",
                static_cast<unsigned long long>(segments.at("objects_kept").to_number<uint64_t>()),
                static_cast<unsigned long long>(segments.at("reference_lists").to_number<uint64_t>()),
                static_cast<unsigned long long>(segments.at("objects_in_grace").to_number<uint64_t>()));
  };
  bj::object out;
  if (args->Has("dry-run")) {
    auto preview = artifacts.PreviewGc();
    if (!preview.ok()) {
      std::fprintf(stderr, "runicorn gc: %s\n", preview.status().ToString().c_str());
      return ExitCodeFor(preview.status());
    }
    out = bj::object{{"dry_run", true},
                     {"blob_pool_bytes", preview->blob_pool_bytes},
                     {"referenced_bytes", preview->referenced_bytes},
                     {"unreferenced_bytes", preview->unreferenced_bytes},
                     {"grace_seconds", grace}};
    if (bucket) {
      auto objects = collect_bucket(/*dry_run=*/true);
      if (!objects.ok()) {
        std::fprintf(stderr, "runicorn gc: %s\n", objects.status().ToString().c_str());
        return ExitCodeFor(objects.status());
      }
      out["objects"] = std::move(objects->at("objects"));
      out["segment_objects"] = std::move(objects->at("segment_objects"));
    }
    if (args->Has("json")) return PrintJson(out), kExitOk;
    std::printf("dry run: %s in the blob pool, %s referenced, up to %s reclaimable (chunks younger than %llds are kept)\n",
                FormatBytes(preview->blob_pool_bytes).c_str(), FormatBytes(preview->referenced_bytes).c_str(),
                FormatBytes(preview->unreferenced_bytes).c_str(), static_cast<long long>(grace));
    if (bucket) print_bucket(out.at("objects").as_object(), out.at("segment_objects").as_object(), true);
    return kExitOk;
  }
  auto report = [&] {
    // The bar's line ends (destructor) before a result or an error is printed.
    ProgressBar bar(ProgressOutput(*args), "scanning blobs", ProgressUnit::kCount);
    return artifacts.Gc(std::chrono::seconds(grace), bar.Callback());
  }();
  if (!report.ok()) {
    std::fprintf(stderr, "runicorn gc: %s\n", report.status().ToString().c_str());
    return ExitCodeFor(report.status());
  }
  out = bj::object{{"dry_run", false},
                   {"bytes_freed", report->bytes_freed},
                   {"chunks_removed", report->chunks_removed},
                   {"chunks_kept", report->chunks_kept},
                   {"chunks_in_grace", report->chunks_in_grace}};
  if (bucket) {
    auto objects = collect_bucket(/*dry_run=*/false);
    if (!objects.ok()) {
      std::fprintf(stderr, "runicorn gc: bucket: %s\n", objects.status().ToString().c_str());
      return ExitCodeFor(objects.status());
    }
    out["objects"] = std::move(objects->at("objects"));
    out["segment_objects"] = std::move(objects->at("segment_objects"));
  }
  if (args->Has("json")) return PrintJson(out), kExitOk;
  std::printf("freed %s: %llu chunks removed, %llu kept, %llu unreferenced but within the grace period\n",
              FormatBytes(report->bytes_freed).c_str(), static_cast<unsigned long long>(report->chunks_removed),
              static_cast<unsigned long long>(report->chunks_kept), static_cast<unsigned long long>(report->chunks_in_grace));
  if (bucket) print_bucket(out.at("objects").as_object(), out.at("segment_objects").as_object(), false);
  return kExitOk;
}

}  // namespace runicorn::cli

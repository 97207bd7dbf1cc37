#include "cli/import_command.h"

#include <cstdio>

#include <boost/json.hpp>

#include "cli/cli.h"
#include "cli/progress_bar.h"
#include "encode/compat_json.h"
#include "service/import_service.h"

namespace runicorn::cli {

namespace {

constexpr const char* kUsage =
    "usage: runicorn import --from-runicorn DIR [--dry-run] [--json] [--progress | --no-progress] [--storage DIR]\n"
    "  converts the Runicorn store DIR (v0.1, v0.5 and v0.6 layouts) into the store; runs and artifact\n"
    "  versions already there are left alone, so importing twice imports nothing new\n";

void PrintList(const char* title, const std::vector<std::string>& items) {
  if (items.empty()) return;
  std::printf("%s (%zu):\n", title, items.size());
  for (const auto& item : items) std::printf("  %s\n", item.c_str());
}

void PrintSummary(const runtrack::ImportReport& r, const std::string& from, const std::string& store) {
  const char* verb = r.dry_run ? "would import" : "imported";
  std::printf("%s%s %zu runs and %zu artifact versions (%llu files, %llu lineage edges) from %s into %s\n",
              r.dry_run ? "dry run: " : "", verb, r.imported_runs.size(), r.imported_artifact_versions.size(),
              static_cast<unsigned long long>(r.imported_files), static_cast<unsigned long long>(r.lineage_edges),
              from.c_str(), store.c_str());
  if (!r.imported_runs.empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& run : r.imported_runs)
      rows.push_back({run.run_id, run.source, std::to_string(run.points), FormatBytes(run.log_bytes),
                      std::to_string(run.media_files)});
    PrintTable({"RUN", "SOURCE", "POINTS", "LOG", "MEDIA"}, rows);
  }
  PrintList("artifact versions", r.imported_artifact_versions);
  PrintList("runs already in the store", r.existing_runs);
  PrintList("artifact versions already in the store", r.existing_artifact_versions);
  if (!r.skipped.empty()) {
    std::printf("skipped (%zu):\n", r.skipped.size());
    for (const auto& s : r.skipped) std::printf("  %s: %s\n", s.item.c_str(), s.reason.c_str());
  }
  if (r.nothing_imported()) std::printf("nothing new to import\n");
}

}  // namespace

int RunImport(const std::vector<std::string>& argv) {
  auto args = Args::Parse(argv, {"dry-run", "json", "progress", "no-progress"});
  if (!args.ok() || !args->positional().empty() ||
      !args->Unknown({"from-runicorn", "dry-run", "json", "storage", "progress", "no-progress"}).empty()) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  auto from = args->Get("from-runicorn");
  if (!from || from->empty()) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  // The import writes run folders and artifact versions directly (no catalog), so it works while a
  // viewer holds the catalog; the viewer indexes the new runs on its next pass.
  const std::filesystem::path store = ResolveStorage(*args);
  runtrack::ImportOptions options;
  options.dry_run = args->Has("dry-run");
  auto report = [&] {
    // The bar's line ends (destructor) before a summary or an error is printed.
    ProgressBar bar(ProgressOutput(*args), options.dry_run ? "checking" : "importing", ProgressUnit::kCount);
    options.progress = [&bar](std::string_view, uint64_t done, uint64_t total) { bar.Update(done, total); };
    return service::ImportRunicornStore(*from, store, options);
  }();
  if (!report.ok()) {
    std::fprintf(stderr, "runicorn import: %s\n", report.status().message().c_str());
    return ExitCodeFor(report.status());
  }
  if (args->Has("json")) return PrintJson(encode::ImportReport(*report, *from, store.string())), kExitOk;
  PrintSummary(*report, *from, store.string());
  return kExitOk;
}

}  // namespace runicorn::cli

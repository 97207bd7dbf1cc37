// `runicorn runs`, `export`, `config`: each calls a service (or, through StoreAccess, the running
// viewer's route for it) and prints the API's JSON for --json, or a table of the same data.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/export_output.h"
#include "cli/progress_bar.h"
#include "encode/api_json.h"
#include "encode/export_stream.h"
#include "runtrack/json_codec.h"
#include "service/build_info.h"

namespace runicorn::cli {
namespace bj = boost::json;
using runtrack::Result;

namespace {

bj::value RunIdsBody(const std::vector<std::string>& ids) {
  return bj::object{{"run_ids", runtrack::json::Strings(ids)}};
}

// A comma-separated list, items trimmed, empty items dropped (as the API reads ?status=).
std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = std::min(text.find(',', start), text.size());
    std::string item = text.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

ApiCall Post(std::string path, const bj::value& body) { return {"POST", std::move(path), {}, bj::serialize(body)}; }

int Usage(const char* text) {
  std::fputs(text, stderr);
  return kExitUsage;
}

// Writes `body` to `path` in slices so the bar can follow a multi-GiB export.
constexpr const char* kRunsUsage =
    "usage: runicorn runs list [--project P] [--name N] [--status S] [--deleted] [--json]\n"
    "       runicorn runs show RUN_ID [--json]\n"
    "       runicorn runs delete RUN_ID... [--permanent] [--json]\n"
    "       runicorn runs restore RUN_ID... [--json]\n"
    "  common: [--storage DIR]\n";

}  // namespace

int RunRuns(const std::vector<std::string>& argv) {
  auto args = Args::Parse(argv, {"json", "deleted", "permanent"});
  if (!args.ok() || args->positional().empty()) return Usage(kRunsUsage);
  auto unknown = args->Unknown({"json", "deleted", "permanent", "project", "name", "status", "storage"});
  if (!unknown.empty()) return Usage(kRunsUsage);
  const std::string& sub = args->positional()[0];
  std::vector<std::string> ids(args->positional().begin() + 1, args->positional().end());
  const bool as_json = args->Has("json");
  int code = 0;
  if (sub != "list" && sub != "show" && sub != "delete" && sub != "restore") return Usage(kRunsUsage);
  if ((sub == "show" && ids.size() != 1) || ((sub == "delete" || sub == "restore") && ids.empty()))
    return Usage(kRunsUsage);
  auto access = OpenStore(*args, &code);
  if (!access.ok()) return code;
  StoreAccess& store = **access;

  if (sub == "list") {
    Result<bj::value> v = runtrack::Status::Internal("unreachable");
    if (args->Has("deleted")) {
      v = store.Call([](service::Services& s) -> Result<bj::value> {
        RUNTRACK_ASSIGN_OR_RETURN(auto page, s.runs.ListDeleted());
        return bj::value(encode::RecycleBin(page, s.layout));
      }, ApiCall::Get("/api/recycle-bin"));
    } else {
      runtrack::RunQuery q;
      std::vector<std::pair<std::string, std::string>> query;
      if (auto p = args->Get("project")) q.project = *p, query.emplace_back("project", *p);
      if (auto n = args->Get("name")) q.name = *n, query.emplace_back("name", *n);
      if (auto st = args->Get("status")) {
        query.emplace_back("status", *st);
        for (const auto& one : SplitList(*st)) {
          auto parsed = runtrack::ParseRunStatus(one);
          if (!parsed.ok()) return Fail(runtrack::Status::InvalidArgument(
                                fmt::format("Invalid query parameter 'status': {}", parsed.status().message())));
          q.statuses.push_back(*parsed);
        }
      }
      v = store.Call([&](service::Services& s) -> Result<bj::value> {
        RUNTRACK_ASSIGN_OR_RETURN(auto page, s.runs.List(q));
        return bj::value(encode::RunList(page, s.layout));
      }, ApiCall::Get("/api/runs", query));
    }
    if (!v.ok()) return Fail(v.status());
    if (as_json) return PrintJson(*v), kExitOk;
    const bj::array& runs = v->is_object() ? v->at("deleted_runs").as_array() : v->as_array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& x : runs) {
      const auto& o = x.as_object();
      std::string best = "-";
      if (const auto* n = o.if_contains("best_metric_name"); n && n->is_string())
        best = fmt::format("{}={}", n->as_string().c_str(), FormatValue(o.at("best_metric_value")));
      rows.push_back({FormatValue(o.at("id")), FormatValue(o.at("project")), FormatValue(o.at("name")),
                      FormatValue(o.contains("status") ? o.at("status") : o.at("original_status")),
                      FormatTime(o.at("created_time").is_double() ? o.at("created_time").as_double() : 0), best});
    }
    PrintTable({"ID", "PROJECT", "NAME", "STATUS", "CREATED", "BEST"}, rows);
    return kExitOk;
  }
  if (sub == "show") {
    const std::string& id = ids[0];
    auto v = store.Call([&](service::Services& s) -> Result<bj::value> {
      RUNTRACK_ASSIGN_OR_RETURN(auto detail, s.runs.Get(id));
      return bj::value(runtrack::json::RunDetail(detail, s.layout));
    }, ApiCall::Get("/api/runs/" + PercentEncode(id)));
    if (!v.ok()) return Fail(v.status());
    if (as_json) return PrintJson(*v), kExitOk;
    const auto& o = v->as_object();
    for (const char* f : {"id", "project", "name", "status", "exit_reason", "hostname", "pid", "best_metric_name",
                          "best_metric_value", "best_metric_step", "log_bytes"})
      std::printf("%-18s %s\n", f, FormatValue(o.at(f)).c_str());
    std::printf("%-18s %s\n", "created", FormatTime(o.at("created_time").as_double()).c_str());
    std::printf("%-18s %s\n", "tags", bj::serialize(o.at("tags")).c_str());
    std::printf("%-18s %s\n", "config", bj::serialize(o.at("config")).c_str());
    std::printf("%-18s %s\n", "summary", bj::serialize(o.at("summary")).c_str());
    std::vector<std::vector<std::string>> rows;
    for (const auto& m : o.at("metric_info").as_array()) {
      const auto& mo = m.as_object();
      rows.push_back({FormatValue(mo.at("name")), FormatValue(mo.at("count")),
                      FormatValue(mo.at("min_step")) + ".." + FormatValue(mo.at("max_step")), FormatValue(mo.at("min")),
                      FormatValue(mo.at("max")), FormatValue(mo.at("last_value"))});
    }
    std::puts("");
    PrintTable({"METRIC", "POINTS", "STEPS", "MIN", "MAX", "LAST"}, rows);
    return kExitOk;
  }
  // delete / restore: every id is validated before anything changes.
  Result<bj::value> v = runtrack::Status::Internal("unreachable");
  if (sub == "restore") {
    v = store.Call([&](service::Services& s) -> Result<bj::value> {
      RUNTRACK_ASSIGN_OR_RETURN(auto outcome, s.runs.Restore(ids));
      return bj::value(encode::BatchResult(outcome, "restored_count", "Restored"));
    }, Post("/api/recycle-bin/restore", RunIdsBody(ids)));
  } else if (!args->Has("permanent")) {
    v = store.Call([&](service::Services& s) -> Result<bj::value> {
      RUNTRACK_ASSIGN_OR_RETURN(auto outcome, s.runs.SoftDelete(ids));
      return bj::value(encode::BatchResult(outcome, "deleted_count", "Soft deleted"));
    }, Post("/api/runs/soft-delete", RunIdsBody(ids)));
  } else {
    // Permanent delete of named runs (the Runicorn API only empties the whole recycle bin).
    v = store.Call([&](service::Services& s) -> Result<bj::value> {
      RUNTRACK_ASSIGN_OR_RETURN(auto outcome, s.runs.PermanentDelete(ids));
      return bj::value(encode::BatchResult(outcome, "permanently_deleted", nullptr));
    }, Post("/api/runs/permanent-delete", RunIdsBody(ids)));
  }
  if (!v.ok()) return Fail(v.status());
  if (as_json) PrintJson(*v);
  else if (const auto* m = v->as_object().if_contains("message")) std::puts(m->as_string().c_str());
  else std::printf("permanently deleted %s of %zu runs\n", FormatValue(v->at("permanently_deleted")).c_str(), ids.size());
  int worst = kExitOk;
  for (const auto& [id, res] : v->as_object().at("results").as_object()) {
    if (res.as_object().at("success").as_bool()) continue;
    std::string err = FormatValue(res.as_object().at("error"));
    if (!as_json) std::fprintf(stderr, "  %s: %s\n", std::string(id).c_str(), err.c_str());
    worst = std::max(worst, err.find("not found") != std::string::npos ? int(kExitNotFound) : int(kExitConflict));
  }
  return worst;
}

int RunExport(const std::vector<std::string>& argv) {
  constexpr const char* kUsage =
      "usage: runicorn export --run-id ID [--format json|csv] [--output FILE] [--metrics a,b]\n"
      "                       [--progress | --no-progress] [--storage DIR]\n";
  auto args = Args::Parse(argv, {"progress", "no-progress"});
  if (!args.ok() || !args->Get("run-id") || !args->positional().empty() ||
      !args->Unknown({"run-id", "format", "output", "metrics", "storage", "progress", "no-progress"}).empty())
    return Usage(kUsage);
  std::string format = args->Get("format").value_or("json");
  if (format != "json" && format != "csv") return Usage(kUsage);
  int code = 0;
  auto access = OpenStore(*args, &code);
  if (!access.ok()) return code;
  const std::string id = *args->Get("run-id");
  service::MetricTableQuery query;  // exact: an export is never downsampled
  std::vector<std::pair<std::string, std::string>> params;
  if (auto m = args->Get("metrics")) {
    query.metrics = SplitList(*m);
    params.emplace_back("metrics", *m);
  }
  const ApiCall remote = ApiCall::Get("/api/export/" + PercentEncode(id) + "/" + format, params);
  ExportOutput output(args->Get("output"));
  auto write = [&output](std::string_view piece) { return output.Write(piece); };
  runtrack::Status status = [&] {
    // Rows exported so far against the run's rows (known locally; through a viewer, the bytes
    // received). The bar's line ends (destructor) before an error or the summary is printed.
    ProgressBar bar(ProgressOutput(*args), "exporting", (*access)->remote() ? ProgressUnit::kBytes : ProgressUnit::kCount);
    auto sink = [&](std::string_view piece) {
      RUNTRACK_RETURN_IF_ERROR(write(piece));
      if ((*access)->remote()) bar.Update(output.bytes(), output.bytes());
      return runtrack::Status::Ok();
    };
    return (*access)->CallStream([&](service::Services& s, const StoreAccess::Sink& emit) -> runtrack::Status {
      const auto fmt = format == "csv" ? encode::ExportStream::Format::kCsv : encode::ExportStream::Format::kJson;
      RUNTRACK_ASSIGN_OR_RETURN(auto stream, encode::ExportStream::Start(s, id, query, fmt, service::NowSeconds()));
      std::string piece;
      for (;;) {
        bar.Update(stream->rows_written(), stream->total_rows());
        piece.clear();
        RUNTRACK_ASSIGN_OR_RETURN(bool more, stream->Next(piece));
        if (!more) return runtrack::Status::Ok();
        RUNTRACK_RETURN_IF_ERROR(emit(piece));
      }
    }, remote, sink);
  }();
  if (status.ok() && format == "json" && !args->Get("output")) status = write("\n");
  if (status.ok()) status = output.Commit();
  if (!status.ok()) {
    if (output.failed()) {
      std::fprintf(stderr, "runicorn export: %s\n", status.message().c_str());
      return kExitError;
    }
    return Fail(status);
  }
  if (auto out = args->Get("output")) std::fprintf(stderr, "wrote %s (%s)\n", out->c_str(), FormatBytes(output.bytes()).c_str());
  return kExitOk;
}

int RunConfig(const std::vector<std::string>& argv) {
  constexpr const char* kUsage = "usage: runicorn config --show [--json] | --set-user-root DIR\n";
  auto args = Args::Parse(argv, {"show", "json"});
  if (!args.ok() || !args->Unknown({"show", "json", "set-user-root", "storage"}).empty()) return Usage(kUsage);
  // Same validation and file as POST /api/config/user_root_dir, without opening any store.
  service::ConfigService config(UserConfigFile(), std::filesystem::absolute(ResolveStorage(*args)), service::RunicornVersion());
  if (auto root = args->Get("set-user-root")) {
    std::error_code ec;
    std::filesystem::path abs = std::filesystem::absolute(*root, ec);
    auto change = config.SetUserRootDir(abs.string());
    if (!change.ok()) return Fail(change.status());
    std::printf("user_root_dir = %s (saved in %s)\n", abs.string().c_str(), config.config_file().string().c_str());
    return kExitOk;
  }
  if (!args->Has("show")) return Usage(kUsage);
  bj::object v = encode::Config(config.Get());
  const char* env = std::getenv("RUNICORN_DIR");
  v["RUNICORN_DIR"] = env ? bj::value(env) : bj::value(nullptr);
  v["RUNICORN_TOKEN_set"] = std::getenv("RUNICORN_TOKEN") != nullptr;
  if (args->Has("json")) return PrintJson(v), kExitOk;
  for (const auto& [k, val] : v) std::printf("%-20s %s\n", std::string(k).c_str(), FormatValue(val).c_str());
  return kExitOk;
}

}  // namespace runicorn::cli

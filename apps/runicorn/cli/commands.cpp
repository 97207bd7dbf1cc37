// `runicorn runs`, `export`, `artifacts`, `gc`, `config`: each calls the same handler the HTTP API
// uses, so `--json` prints exactly the API's JSON and the tables show the same data.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/progress_bar.h"
#include "server/handlers.h"
#include "server/json_codec.h"
#include "server/params.h"

namespace runicorn::cli {
namespace bj = boost::json;
using server::Request;
using server::Response;

namespace {

bj::value ParseBody(const Response& r) { return bj::parse(r.body); }

int Usage(const char* text) {
  std::fputs(text, stderr);
  return kExitUsage;
}

// Writes `body` to `path` in slices so the bar can follow a multi-GiB export.
bool WriteWithProgress(const std::string& path, std::string_view body, std::FILE* progress_out) {
  constexpr size_t kSlice = 4 << 20;
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return false;
  ProgressBar bar(progress_out, "writing " + path, ProgressUnit::kBytes);
  bar.Update(0, body.size());
  for (size_t at = 0; f && at < body.size(); at += kSlice) {
    const size_t n = std::min(kSlice, body.size() - at);
    f.write(body.data() + at, static_cast<std::streamsize>(n));
    bar.Update(at + n, body.size());
  }
  f.close();
  return !f.fail();
}

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
  auto ctx = OpenStore(*args, &code);
  if (!ctx.ok()) return code;
  const server::AppContext& c = **ctx;

  if (sub == "list") {
    Response r;
    if (args->Has("deleted")) {
      r = server::HandleRecycleBin(c, CliRequest({}));
    } else {
      std::vector<std::pair<std::string, std::string>> q;
      for (const char* f : {"project", "name", "status"})
        if (auto v = args->Get(f)) q.emplace_back(f, *v);
      r = server::HandleListRuns(c, CliRequest({}, q));
    }
    if (int e = ReportIfError(r)) return e;
    bj::value v = ParseBody(r);
    if (as_json) return PrintJson(v), kExitOk;
    const bj::array& runs = v.is_object() ? v.at("deleted_runs").as_array() : v.as_array();
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
    Response r = server::HandleGetRun(c, CliRequest({{"run_id", ids[0]}}));
    if (int e = ReportIfError(r)) return e;
    bj::value v = ParseBody(r);
    if (as_json) return PrintJson(v), kExitOk;
    const auto& o = v.as_object();
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
  // delete / restore: ids validated by the handler before anything changes.
  bj::object body{{"run_ids", server::json::Strings(ids)}};
  Response r;
  if (sub == "restore") {
    r = server::HandleRestore(c, CliRequest({}, {}, bj::serialize(body)));
  } else if (!args->Has("permanent")) {
    r = server::HandleSoftDelete(c, CliRequest({}, {}, bj::serialize(body)));
  } else {
    // Permanent delete of named runs (the API only empties the whole recycle bin).
    bj::object results;
    int done = 0, worst = kExitOk;
    for (const auto& id : ids) {
      runtrack::Status s = server::CheckRunIdParam(id);
      if (s.ok()) s = c.catalog->PermanentDelete(id);
      results[id] = s.ok() ? bj::object{{"success", true}} : bj::object{{"success", false}, {"error", s.message()}};
      if (s.ok()) ++done;
      else worst = std::max(worst, ExitCodeFor(s));
    }
    bj::object out{{"permanently_deleted", done}, {"results", std::move(results)}};
    if (as_json) PrintJson(out);
    else std::printf("permanently deleted %d of %zu runs\n", done, ids.size());
    for (const auto& [id, res] : out.at("results").as_object())
      if (!as_json && !res.as_object().at("success").as_bool())
        std::fprintf(stderr, "  %s: %s\n", std::string(id).c_str(), FormatValue(res.as_object().at("error")).c_str());
    return worst;
  }
  if (int e = ReportIfError(r)) return e;
  bj::value v = ParseBody(r);
  if (as_json) PrintJson(v);
  else std::puts(v.as_object().at("message").as_string().c_str());
  int worst = kExitOk;
  for (const auto& [id, res] : v.as_object().at("results").as_object()) {
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
  auto ctx = OpenStore(*args, &code);
  if (!ctx.ok()) return code;
  std::vector<std::pair<std::string, std::string>> q;
  if (auto m = args->Get("metrics")) q.emplace_back("metrics", *m);
  Request req = CliRequest({{"run_id", *args->Get("run-id")}}, q);
  std::FILE* progress_out = ProgressOutput(*args);
  Response r = [&] {
    // The bar's line ends (destructor) before an error or the export is printed.
    ProgressBar bar(progress_out, "reading metrics", ProgressUnit::kCount);
    return format == "csv" ? server::ExportCsv(**ctx, req, bar.Callback())
                           : server::ExportJson(**ctx, req, bar.Callback());
  }();
  if (int e = ReportIfError(r)) return e;
  if (auto out = args->Get("output")) {
    if (!WriteWithProgress(*out, r.body, progress_out)) {
      std::fprintf(stderr, "runicorn export: cannot write %s\n", out->c_str());
      return kExitError;
    }
    std::fprintf(stderr, "wrote %s (%s)\n", out->c_str(), FormatBytes(r.body.size()).c_str());
  } else {
    std::fwrite(r.body.data(), 1, r.body.size(), stdout);
    if (format == "json") std::puts("");
  }
  return kExitOk;
}

int RunConfig(const std::vector<std::string>& argv) {
  constexpr const char* kUsage = "usage: runicorn config --show [--json] | --set-user-root DIR\n";
  auto args = Args::Parse(argv, {"show", "json"});
  if (!args.ok() || !args->Unknown({"show", "json", "set-user-root", "storage"}).empty()) return Usage(kUsage);
  if (auto root = args->Get("set-user-root")) {
    // Same validation and file as POST /api/config/user_root_dir, without opening any store.
    server::AppContext ctx;
    ctx.config_file = UserConfigFile();
    ctx.root = ResolveStorage(*args);
    std::error_code ec;
    std::filesystem::path abs = std::filesystem::absolute(*root, ec);
    Response r = server::HandleSetUserRootDir(ctx, CliRequest({}, {}, bj::serialize(bj::object{{"path", abs.string()}})));
    if (int e = ReportIfError(r)) return e;
    std::printf("user_root_dir = %s (saved in %s)\n", abs.string().c_str(), ctx.config_file.string().c_str());
    return kExitOk;
  }
  if (!args->Has("show")) return Usage(kUsage);
  server::AppContext ctx;
  ctx.config_file = UserConfigFile();
  ctx.root = std::filesystem::absolute(ResolveStorage(*args));
  ctx.version = server::RunicornVersion();
  Response r = server::HandleGetConfig(ctx, CliRequest({}));
  bj::value v = ParseBody(r);
  const char* env = std::getenv("RUNICORN_DIR");
  v.as_object()["RUNICORN_DIR"] = env ? bj::value(env) : bj::value(nullptr);
  v.as_object()["RUNICORN_TOKEN_set"] = std::getenv("RUNICORN_TOKEN") != nullptr;
  if (args->Has("json")) return PrintJson(v), kExitOk;
  for (const auto& [k, val] : v.as_object()) std::printf("%-20s %s\n", std::string(k).c_str(), FormatValue(val).c_str());
  return kExitOk;
}

}  // namespace runicorn::cli

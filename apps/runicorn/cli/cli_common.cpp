#include "cli/cli.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "runtrack/store.h"

namespace runicorn::cli {
namespace bj = boost::json;

runtrack::Result<Args> Args::Parse(const std::vector<std::string>& argv, const std::set<std::string>& booleans) {
  Args a;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& s = argv[i];
    if (s.size() > 2 && s.compare(0, 2, "--") == 0) {
      std::string name = s.substr(2);
      if (size_t eq = name.find('='); eq != std::string::npos) {
        a.values_[name.substr(0, eq)] = name.substr(eq + 1);
      } else if (booleans.count(name)) {
        a.values_[name] = "true";
      } else if (i + 1 < argv.size()) {
        a.values_[name] = argv[++i];
      } else {
        return runtrack::Status::InvalidArgument(fmt::format("--{} needs a value", name));
      }
    } else {
      a.positional_.push_back(s);
    }
  }
  return a;
}

std::optional<std::string> Args::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Args::Unknown(const std::set<std::string>& known) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : values_)
    if (!known.count(k)) out.push_back("--" + k);
  return out;
}

std::filesystem::path UserConfigFile() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg != '\0')
    return std::filesystem::path(xdg) / "runicorn" / "config.json";
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    return std::filesystem::path(home) / ".config" / "runicorn" / "config.json";
  return ".runicorn-config.json";
}

std::filesystem::path ResolveStorage(const Args& args) {
  if (auto s = args.Get("storage"); s && !s->empty()) return *s;
  if (const char* env = std::getenv("RUNICORN_DIR"); env != nullptr && *env != '\0') return env;
  std::ifstream in(UserConfigFile());
  if (in) {
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    boost::system::error_code ec;
    bj::value v = bj::parse(text, ec);
    if (!ec && v.is_object())
      if (const bj::value* r = v.as_object().if_contains("user_root_dir"); r && r->is_string() && !r->as_string().empty())
        return std::string(r->as_string());
  }
  return runtrack::DefaultStoreRoot();
}

std::FILE* ProgressOutput(const Args& args) {
  if (args.Has("no-progress")) return nullptr;
  if (args.Has("progress")) return stderr;
  return !args.Has("json") && ::isatty(::fileno(stderr)) ? stderr : nullptr;
}

int ExitCodeFor(const runtrack::Status& s) {
  switch (s.code()) {
    case runtrack::StatusCode::kOk: return kExitOk;
    case runtrack::StatusCode::kInvalidArgument: return kExitUsage;
    case runtrack::StatusCode::kNotFound: return kExitNotFound;
    case runtrack::StatusCode::kBusy: return kExitBusy;
    case runtrack::StatusCode::kAlreadyExists:
    case runtrack::StatusCode::kFailedPrecondition: return kExitConflict;
    default: return kExitError;
  }
}

int ExitCodeForHttp(unsigned status) {
  if (status < 300) return kExitOk;
  if (status == 404) return kExitNotFound;
  if (status == 409) return kExitConflict;
  if (status == 503) return kExitBusy;
  if (status < 500) return kExitUsage;
  return kExitError;
}

int ReportIfError(const server::Response& r) {
  if (r.status < 300) return kExitOk;
  std::string detail = r.body;
  boost::system::error_code ec;
  bj::value v = bj::parse(r.body, ec);
  if (!ec && v.is_object())
    if (const bj::value* d = v.as_object().if_contains("detail"); d && d->is_string()) detail = d->as_string();
  std::fprintf(stderr, "runicorn: %s\n", detail.c_str());
  return ExitCodeForHttp(r.status);
}

runtrack::Result<std::unique_ptr<server::AppContext>> OpenStore(const Args& args, int* exit_code) {
  std::filesystem::path root = ResolveStorage(args);
  auto ctx = server::AppContext::Open(root);
  if (!ctx.ok()) {
    *exit_code = ExitCodeFor(ctx.status());
    if (ctx.status().code() == runtrack::StatusCode::kBusy) {
      std::fprintf(stderr,
                   "runicorn: the catalog of %s is held by another process (is `runicorn viewer` running "
                   "on it?). Stop it or use its HTTP API.\n",
                   root.string().c_str());
    } else {
      std::fprintf(stderr, "runicorn: cannot open store %s: %s\n", root.string().c_str(),
                   ctx.status().ToString().c_str());
    }
    return ctx.status();
  }
  (*ctx)->config_file = UserConfigFile();
  auto report = (*ctx)->catalog->Refresh();
  if (!report.ok()) {
    std::fprintf(stderr, "runicorn: indexing %s failed: %s\n", root.string().c_str(), report.status().ToString().c_str());
    *exit_code = ExitCodeFor(report.status());
    return report.status();
  }
  return ctx;
}

void PrintTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& r : rows)
    for (size_t c = 0; c < r.size() && c < width.size(); ++c) width[c] = std::max(width[c], r[c].size());
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (size_t c = 0; c < header.size(); ++c) {
      std::string cell = c < r.size() ? r[c] : "";
      out += cell;
      if (c + 1 < header.size()) out += std::string(width[c] - cell.size() + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    std::puts(out.c_str());
  };
  line(header);
  for (const auto& r : rows) line(r);
}

std::string FormatTime(double t) {
  if (!std::isfinite(t) || t <= 0) return "-";
  std::time_t secs = static_cast<std::time_t>(t);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string FormatBytes(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", b) : fmt::format("{:.1f} {}", v, units[u]);
}

std::string FormatValue(const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::null: return "-";
    case bj::kind::string: return std::string(v.get_string());
    case bj::kind::double_: return fmt::format("{:.6g}", v.get_double());
    case bj::kind::int64: return std::to_string(v.get_int64());
    case bj::kind::uint64: return std::to_string(v.get_uint64());
    case bj::kind::bool_: return v.get_bool() ? "true" : "false";
    default: return bj::serialize(v);
  }
}

void PrintJson(const bj::value& v) { std::cout << bj::serialize(v) << "\n"; }

server::Request CliRequest(std::map<std::string, std::string> path_params,
                           std::vector<std::pair<std::string, std::string>> query, std::string body) {
  server::Request r;
  r.method = "CLI";
  r.path_params = std::move(path_params);
  for (auto& [k, v] : query) r.query.Add(k, v);
  r.body = std::move(body);
  r.client_ip = "cli";
  return r;
}

}  // namespace runicorn::cli

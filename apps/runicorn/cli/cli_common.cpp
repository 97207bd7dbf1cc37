#include "cli/cli.h"

#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "encode/json_writer.h"
#include "service/config_service.h"

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

std::filesystem::path UserConfigFile() { return service::DefaultUserConfigFile(); }

std::filesystem::path ResolveStorage(const Args& args) {
  return service::ResolveStoreRoot(args.Get("storage"), UserConfigFile());
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

runtrack::Result<int64_t> ParseInt64(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size())
    return runtrack::Status::InvalidArgument("not an integer");
  return v;
}

int Fail(const runtrack::Status& status) {
  std::fprintf(stderr, "runicorn: %s\n", status.message().c_str());
  return ExitCodeFor(status);
}

runtrack::Result<std::unique_ptr<StoreAccess>> OpenStore(const Args& args, int* exit_code) {
  std::filesystem::path root = ResolveStorage(args);
  auto access = StoreAccess::Open(root);
  if (access.ok()) return access;
  *exit_code = ExitCodeFor(access.status());
  if (access.status().code() == runtrack::StatusCode::kBusy) {
    std::fprintf(stderr,
                 "runicorn: the catalog of %s is held by another process (is `runicorn viewer` running "
                 "on it?). Stop it or use its HTTP API.\n",
                 root.string().c_str());
  } else {
    std::fprintf(stderr, "runicorn: cannot open store %s: %s\n", root.string().c_str(),
                 access.status().ToString().c_str());
  }
  return access.status();
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

// The API's writer, so --json is byte for byte what the viewer's route sends.
void PrintJson(const bj::value& v) { std::cout << encode::JsonText(v) << "\n"; }

}  // namespace runicorn::cli

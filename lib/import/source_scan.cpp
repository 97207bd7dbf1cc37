#include "import/source_scan.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace runtrack::importer {
namespace {

constexpr int kMaxPathDepth = 64;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Sub-folders of `dir`, sorted by lower-cased name; links are reported and left out.
std::vector<fs::path> SubFolders(const fs::path& dir, const std::string& rel, const SkipLog& log) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    EntryKind kind = KindOf(p);
    if (kind == EntryKind::kSymlink) {
      log.Add(rel.empty() ? p.filename().string() : rel + "/" + p.filename().string(),
              "symbolic link: links are never followed");
    } else if (kind == EntryKind::kDirectory) {
      out.push_back(p);
    }
  }
  if (ec) log.Add(rel.empty() ? "." : rel, "folder cannot be listed: " + ec.message());
  std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) {
    return Lower(a.filename().string()) < Lower(b.filename().string());
  });
  return out;
}

std::string Join(const std::vector<std::string>& parts, size_t from) {
  std::string out;
  for (size_t i = from; i < parts.size(); ++i) out += (out.empty() ? "" : "/") + parts[i];
  return out;
}

void WalkPathRuns(const fs::path& dir, const std::string& rel, std::vector<std::string>& segments,
                  const SkipLog& log, std::vector<SourceRunDir>* out) {
  if (static_cast<int>(segments.size()) > kMaxPathDepth) {
    log.Add(rel, "path hierarchy deeper than 64 levels, not descended");
    return;
  }
  for (const fs::path& child : SubFolders(dir, rel, log)) {
    std::string name = child.filename().string();
    std::string child_rel = rel + "/" + name;
    bool is_run = KindOf(child / "meta.json") != EntryKind::kMissing ||
                  KindOf(child / "status.json") != EntryKind::kMissing;
    if (is_run) {
      SourceRunDir run{child, child_rel, name, "default", "default", "v0.6"};
      if (!segments.empty()) run.project = segments[0];
      if (segments.size() > 1) run.name = Join(segments, 1);
      out->push_back(std::move(run));
    } else {
      segments.push_back(name);
      WalkPathRuns(child, child_rel, segments, log, out);
      segments.pop_back();
    }
  }
}

}  // namespace

std::vector<SourceRunDir> ScanRunicornRuns(const fs::path& from, const SkipLog& log) {
  std::vector<SourceRunDir> out;
  if (KindOf(from / "runs") == EntryKind::kDirectory) {
    std::vector<std::string> segments;
    WalkPathRuns(from / "runs", "runs", segments, log, &out);
  } else if (KindOf(from / "runs") == EntryKind::kSymlink) {
    log.Add("runs", "symbolic link: links are never followed");
  }
  static const std::set<std::string> kNotProjects = {"runs", "webui", "archive", "index", "artifacts"};
  for (const fs::path& project : SubFolders(from, "", log)) {
    std::string p = project.filename().string();
    if (kNotProjects.count(p) || p.starts_with(".")) continue;
    for (const fs::path& name : SubFolders(project, p, log)) {
      std::string n = name.filename().string();
      fs::path runs = name / "runs";
      std::string runs_rel = p + "/" + n + "/runs";
      EntryKind kind = KindOf(runs);
      if (kind == EntryKind::kSymlink) log.Add(runs_rel, "symbolic link: links are never followed");
      if (kind != EntryKind::kDirectory) continue;
      for (const fs::path& run : SubFolders(runs, runs_rel, log)) {
        std::string id = run.filename().string();
        out.push_back({run, runs_rel + "/" + id, id, p, n, "v0.5"});
      }
    }
  }
  return out;
}

}  // namespace runtrack::importer

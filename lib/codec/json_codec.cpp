#include "runtrack/json_codec.h"

#include <cmath>

#include "runtrack/run.h"

namespace runtrack::json {
namespace bj = boost::json;

bj::value Number(double v) {
  if (!std::isfinite(v)) return nullptr;
  return v;
}

bj::value Number(const std::optional<double>& v) { return v ? Number(*v) : bj::value(nullptr); }

bj::value Sanitized(const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::double_: return Number(v.get_double());
    case bj::kind::array: {
      bj::array out;
      out.reserve(v.get_array().size());
      for (const auto& x : v.get_array()) out.push_back(Sanitized(x));
      return out;
    }
    case bj::kind::object: {
      bj::object out;
      out.reserve(v.get_object().size());
      for (const auto& kv : v.get_object()) out.emplace(kv.key(), Sanitized(kv.value()));
      return out;
    }
    default: return v;
  }
}

bj::array Strings(const std::vector<std::string>& items) {
  bj::array out;
  out.reserve(items.size());
  for (const auto& s : items) out.emplace_back(s);
  return out;
}

namespace {

bj::value OptString(const std::string& s) { return s.empty() ? bj::value(nullptr) : bj::value(s); }
bj::value OptInt(const std::optional<int64_t>& v) { return v ? bj::value(*v) : bj::value(nullptr); }

}  // namespace

void AddRunSummaryFields(const RunSummary& r, const StoreLayout& layout, bj::object& o) {
  o["id"] = r.id;
  o["project"] = r.project;
  o["name"] = r.name;
  o["status"] = runtrack::RunStatusName(r.status);
  o["exit_reason"] = OptString(r.exit_reason);
  o["pid"] = r.pid;
  o["hostname"] = r.hostname;
  o["run_dir"] = layout.run_dir(r.id).string();
  o["tags"] = Strings(r.tags);
  o["best_metric_name"] = OptString(r.best_metric_name);
  o["best_metric_mode"] = OptString(r.best_metric_mode);
  o["best_metric_value"] = Number(r.best_metric_value);
  o["best_metric_step"] = OptInt(r.best_metric_step);
  o["updated_at"] = Number(r.updated_at);
  o["ended_at"] = Number(r.ended_at);
  o["deleted_at"] = Number(r.deleted_at);
  o["artifacts_created_count"] = r.artifacts_created_count;
  o["artifacts_used_count"] = r.artifacts_used_count;
  // v0.6 fields only for runs that have them, so v0.5 runs encode exactly as before.
  if (r.path) o["path"] = *r.path;
  if (r.path || !r.alias.empty()) o["alias"] = OptString(r.alias);
}

bj::object RunListItem(const runtrack::RunSummary& r, const StoreLayout& layout) {
  bj::object o;
  AddRunSummaryFields(r, layout, o);
  o["created_time"] = Number(r.created_at);
  return o;
}

bj::object Experiment(const runtrack::RunSummary& r, const StoreLayout& layout) {
  bj::object o;
  AddRunSummaryFields(r, layout, o);
  o["created_at"] = Number(r.created_at);
  return o;
}

bj::object DeletedRun(const runtrack::RunSummary& r, const StoreLayout& layout) {
  bj::object o;
  o["id"] = r.id;
  o["project"] = r.project;
  o["name"] = r.name;
  o["created_time"] = Number(r.created_at);
  o["deleted_at"] = Number(r.deleted_at);
  o["delete_reason"] = "user_deleted";
  o["original_status"] = runtrack::RunStatusName(r.status);
  o["run_dir"] = layout.run_dir(r.id).string();
  return o;
}

bj::object MetricInfo(const runtrack::MetricInfo& m) {
  bj::object o;
  o["name"] = m.name;
  o["count"] = m.count;
  o["non_finite_count"] = m.non_finite_count;
  o["first_step"] = m.first_step;
  o["last_step"] = m.last_step;
  o["min_step"] = m.min_step;
  o["max_step"] = m.max_step;
  o["min"] = Number(m.min);
  o["max"] = Number(m.max);
  o["last_value"] = Number(m.last_value);
  return o;
}

bj::object RunDetail(const runtrack::RunDetail& d, const StoreLayout& layout) {
  bj::object o = RunListItem(d.run, layout);
  const std::string base = "/api/runs/" + d.run.id;
  // Runicorn returns file paths here; we have no per-run text files, so these name the API
  // resources that serve the same data (docs/API.md).
  o["logs"] = base + "/logs/ws";
  o["metrics"] = base + "/metrics";
  o["metrics_step"] = base + "/metrics_step";
  o["created_at"] = Number(d.run.created_at);
  o["config"] = Sanitized(d.config);
  o["summary"] = Sanitized(d.summary);
  bj::array metrics;
  bj::array names;
  for (const auto& m : d.metrics) {
    metrics.push_back(MetricInfo(m));
    names.emplace_back(m.name);
  }
  o["metric_names"] = std::move(names);
  o["metric_info"] = std::move(metrics);
  o["min_step"] = OptInt(d.min_step);
  o["max_step"] = OptInt(d.max_step);
  o["log_bytes"] = d.log_bytes;
  o["artifacts_created"] = ArtifactRefs(d.artifacts_created);
  o["artifacts_used"] = ArtifactRefs(d.artifacts_used);
  o["journal_corrupt"] = d.journal_corrupt;
  o["journal_corrupt_offset"] = d.journal_corrupt_offset ? bj::value(*d.journal_corrupt_offset) : bj::value(nullptr);
  o["journal_skipped_bytes"] = d.journal_skipped_bytes;
  return o;
}

bj::array ArtifactRefs(const std::vector<ArtifactRef>& refs) {
  bj::array a;
  for (const auto& r : refs) a.push_back(bj::object{{"name", r.name}, {"type", r.type}, {"version", r.version}});
  return a;
}

bj::object ArtifactSummary(const runtrack::ArtifactSummary& a) {
  bj::object aliases;
  for (const auto& [alias, v] : a.aliases) aliases[alias] = v;
  return bj::object{{"name", a.name},
                    {"type", runtrack::ArtifactTypeName(a.type)},
                    {"num_versions", a.num_versions},
                    {"latest_version", a.latest_version},
                    {"size_bytes", a.size_bytes},
                    {"created_at", Number(a.created_at)},
                    {"updated_at", Number(a.updated_at)},
                    {"aliases", std::move(aliases)}};
}

bj::object ArtifactVersion(const runtrack::ArtifactVersionInfo& v) {
  return bj::object{{"name", v.name},
                    {"type", runtrack::ArtifactTypeName(v.type)},
                    {"version", v.version},
                    {"created_at", Number(v.created_at)},
                    {"updated_at", Number(v.created_at)},
                    {"created_by_run", OptString(v.created_by_run)},
                    {"created_by_user", nullptr},
                    {"size_bytes", v.size_bytes},
                    {"num_files", v.num_files},
                    {"num_references", v.num_references},
                    {"status", v.status},
                    {"metadata", Sanitized(v.metadata)},
                    {"description", v.description},
                    {"tags", Strings(v.tags)},
                    {"aliases", Strings(v.aliases)},
                    {"manifest_digest", v.manifest_digest}};
}

bj::object ArtifactFiles(const runtrack::ArtifactFileList& f) {
  bj::array files;
  for (const auto& x : f.files)
    files.push_back(bj::object{{"path", x.path},
                               {"size", x.size},
                               {"digest", x.digest},
                               {"num_chunks", x.num_chunks},
                               {"absolute_path", nullptr},
                               {"is_remote", false}});
  bj::array refs;
  for (const auto& r : f.references) {
    bj::object o{{"uri", r.uri}};
    o["checksum"] = r.checksum ? bj::value(*r.checksum) : bj::value(nullptr);
    o["size"] = r.size ? bj::value(*r.size) : bj::value(nullptr);
    refs.push_back(std::move(o));
  }
  return bj::object{{"artifact", f.artifact},
                    {"files", std::move(files)},
                    {"references", std::move(refs)},
                    {"total_size", f.total_size},
                    {"total_files", f.files.size()},
                    {"total_references", f.references.size()},
                    {"is_remote", false}};
}

bj::object ArtifactStats(const runtrack::ArtifactStats& s) {
  bj::object by_type;
  for (const auto& [type, t] : s.by_type)
    by_type[type] = bj::object{{"count", t.count}, {"versions", t.versions}, {"size_bytes", t.size_bytes}};
  return bj::object{{"total_artifacts", s.total_artifacts},
                    {"total_versions", s.total_versions},
                    {"deleted_versions", s.deleted_versions},
                    {"total_files", s.total_files},
                    {"total_size_bytes", s.total_size_bytes},
                    {"dedup_enabled", true},
                    {"dedup_pool_size_bytes", s.stored_bytes},
                    {"space_saved_bytes", s.space_saved_bytes},
                    {"dedup_ratio", Number(s.dedup_ratio)},
                    {"blob_pool_bytes", s.blob_pool_bytes},
                    {"by_type", std::move(by_type)}};
}

bj::object ArtifactAliases(const std::string& name, const std::map<std::string, int>& aliases) {
  bj::object out;
  for (const auto& [alias, version] : aliases) out[alias] = version;
  return bj::object{{"name", name}, {"aliases", std::move(out)}};
}

}  // namespace runtrack::json

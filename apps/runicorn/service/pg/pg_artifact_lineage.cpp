// PgArtifactRepository::Lineage: one recursive query collects every edge within max_depth hops
// of the root in each direction; the breadth-first walk over those edges is the embedded one
// (lib/artifacts/lineage.cpp): each direction with its own visited set, neighbours in the
// embedded order (a run's versions by "type:name:vN" text, a version's runs by id), nodes in
// discovery order, edges sorted and unique. So both back ends return identical graphs.
#include <charconv>
#include <deque>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "service/pg/pg_artifact_repository.h"
#include "service/pg/pg_artifact_rows.h"

namespace runicorn::service::pg {
using runtrack::Result;
using runtrack::Status;

namespace {

constexpr int kMaxLineageDepth = 10;

// Rows: every node within max_depth hops of the root in either direction, with a version's type,
// size and state. A version counts only while it holds data (ready or deleted),
// as embedded; a run is '' name / 0 version. UNION (not UNION ALL) ends the recursion on cycles.
constexpr const char* kWalkSql = R"sql(
WITH RECURSIVE walk(upstream, depth, is_run, run, name, ver) AS (
  VALUES (true, 0, false, ''::text COLLATE "C", $1::text COLLATE "C", $2::integer),
         (false, 0, false, ''::text COLLATE "C", $1::text COLLATE "C", $2::integer)
  UNION
  SELECT w.upstream, w.depth + 1, n.is_run, n.run, n.name, n.ver
  FROM walk w CROSS JOIN LATERAL (
    SELECT true, v.created_by_run, ''::text COLLATE "C", 0 FROM artifact_versions v
     WHERE w.upstream AND NOT w.is_run AND v.name = w.name AND v.version = w.ver AND v.created_by_run <> ''
    UNION ALL
    SELECT false, ''::text COLLATE "C", u.name, u.version FROM artifact_uses u
     JOIN artifact_versions v ON v.name = u.name AND v.version = u.version AND v.state IN ('ready', 'deleted')
     WHERE w.upstream AND w.is_run AND u.run_id = w.run
    UNION ALL
    SELECT true, u.run_id, ''::text COLLATE "C", 0 FROM artifact_uses u
     WHERE NOT w.upstream AND NOT w.is_run AND u.name = w.name AND u.version = w.ver
    UNION ALL
    SELECT false, ''::text COLLATE "C", v.name, v.version FROM artifact_versions v
     WHERE NOT w.upstream AND w.is_run AND v.created_by_run = w.run AND v.state IN ('ready', 'deleted')
  ) n(is_run, run, name, ver)
  WHERE w.depth < $3
)
SELECT DISTINCT w.upstream, w.is_run, w.run, w.name, w.ver, n.type, v.size_bytes, v.state
FROM walk w
LEFT JOIN artifact_versions v ON NOT w.is_run AND v.name = w.name AND v.version = w.ver
LEFT JOIN artifact_names n ON NOT w.is_run AND n.name = w.name
)sql";

// The neighbour lists of the nodes the walk reached: a version's producing run and the runs that
// used it; a run's used and produced versions (those holding data).
constexpr const char* kNeighboursSql = R"sql(
SELECT 'produced_by', v.name, v.version, v.created_by_run, '', 0 FROM artifact_versions v
 WHERE (v.name, v.version) IN (SELECT * FROM unnest($1::text[], $2::integer[])) AND v.created_by_run <> ''
UNION ALL
SELECT 'used_by', u.name, u.version, u.run_id, '', 0 FROM artifact_uses u
 WHERE (u.name, u.version) IN (SELECT * FROM unnest($1::text[], $2::integer[]))
UNION ALL
SELECT 'run_used', '', 0, u.run_id, u.name, u.version FROM artifact_uses u
 JOIN artifact_versions v ON v.name = u.name AND v.version = u.version AND v.state IN ('ready', 'deleted')
 WHERE u.run_id = ANY($3::text[])
UNION ALL
SELECT 'run_produced', '', 0, v.created_by_run, v.name, v.version FROM artifact_versions v
 WHERE v.created_by_run = ANY($3::text[]) AND v.state IN ('ready', 'deleted')
)sql";

struct Facts {
  std::string type;
  uint64_t size_bytes = 0;
  std::string state;
};

struct Node {
  bool is_run = false;
  std::string run;
  std::string name;
  int version = 0;
  std::string id() const { return is_run ? run : ArtifactSpec(name, version); }
};

int ToInt(std::string_view s) {
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

class Walker {
 public:
  Walker(std::map<std::string, Facts> facts, int max_depth) : facts_(std::move(facts)), max_depth_(max_depth) {}

  // Neighbour lists, keyed by node id, already in the embedded order.
  std::map<std::string, std::vector<Node>> up, down;

  runtrack::LineageGraph Run(const Node& root) {
    graph_.root_artifact = root.id();
    AddNode(root, 0, "root");
    Walk(root, true);
    Walk(root, false);
    for (const auto& [s, t, type] : edges_) graph_.edges.push_back(runtrack::LineageEdge{s, t, type});
    return std::move(graph_);
  }

 private:
  void AddNode(const Node& n, int depth, const char* direction) {
    std::string id = n.id();
    if (!ids_.insert(id).second) return;
    runtrack::LineageNode out;
    out.node_id = id;
    out.depth = depth;
    out.direction = direction;
    if (n.is_run) {
      out.node_type = "run";
      out.label = n.run;
    } else {
      const Facts& f = facts_[id];
      out.node_type = "artifact";
      out.label = fmt::format("{} v{}", n.name, n.version);
      out.artifact_type = f.type;
      out.size_bytes = f.size_bytes;
      out.status = f.state == "deleted" ? "deleted" : "ready";
    }
    graph_.nodes.push_back(std::move(out));
  }

  void Walk(const Node& root, bool upstream) {
    std::set<std::string> visited{root.id()};
    std::deque<std::pair<Node, int>> queue{{root, 0}};
    while (!queue.empty()) {
      auto [node, depth] = queue.front();
      queue.pop_front();
      if (depth >= max_depth_) continue;
      const std::string id = node.id();
      for (const Node& next : (upstream ? up : down)[id]) {
        // "produces": run -> version; "uses": version -> run, whichever way the walk goes.
        if (node.is_run) {
          edges_.insert(upstream ? std::make_tuple(next.id(), id, std::string("uses"))
                                 : std::make_tuple(id, next.id(), std::string("produces")));
        } else {
          edges_.insert(upstream ? std::make_tuple(next.id(), id, std::string("produces"))
                                 : std::make_tuple(id, next.id(), std::string("uses")));
        }
        if (!visited.insert(next.id()).second) continue;
        AddNode(next, depth + 1, upstream ? "upstream" : "downstream");
        queue.emplace_back(next, depth + 1);
      }
    }
  }

  std::map<std::string, Facts> facts_;
  int max_depth_;
  runtrack::LineageGraph graph_;
  std::set<std::string> ids_;
  std::set<std::tuple<std::string, std::string, std::string>> edges_;
};

}  // namespace

Result<runtrack::LineageGraph> PgArtifactRepository::Lineage(std::string_view name, int version, int max_depth) {
  if (max_depth < 0) return Status::InvalidArgument(fmt::format("max_depth must be >= 0, got {}", max_depth));
  if (max_depth > kMaxLineageDepth) max_depth = kMaxLineageDepth;
  RUNTRACK_ASSIGN_OR_RETURN(auto conn, pool_.Acquire());
  RUNTRACK_ASSIGN_OR_RETURN(auto tx, PgTransaction::Begin(*conn, "ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  RUNTRACK_ASSIGN_OR_RETURN(PgArtifactName n, LoadArtifactName(*conn, name));
  RUNTRACK_ASSIGN_OR_RETURN(std::string state, VersionState(*conn, n.name, version, ""));
  if (state != "ready" && state != "deleted") return VersionNotFound(*conn, n.name, version);

  RUNTRACK_ASSIGN_OR_RETURN(PgResult reached,
                            conn->Exec(kWalkSql, {n.name, std::to_string(version), std::to_string(max_depth)}));
  std::map<std::string, Facts> facts;
  std::vector<std::string> names, runs;
  std::vector<int> versions;
  std::set<std::string> seen;
  for (int i = 0; i < reached.rows(); ++i) {
    Node node{reached.Get(i, 1) == "t", std::string(reached.Get(i, 2)), std::string(reached.Get(i, 3)),
              ToInt(reached.Get(i, 4))};
    if (!seen.insert(node.id()).second) continue;
    if (node.is_run) {
      runs.push_back(node.run);
    } else {
      names.push_back(node.name);
      versions.push_back(node.version);
      facts[node.id()] = Facts{std::string(reached.Get(i, 5)), static_cast<uint64_t>(std::stoull(std::string(
                                                                 reached.IsNull(i, 6) ? "0" : reached.Get(i, 6)))),
                               std::string(reached.Get(i, 7))};
    }
  }
  std::string version_list = "{";
  for (size_t i = 0; i < versions.size(); ++i) version_list += fmt::format("{}{}", i ? "," : "", versions[i]);
  version_list += "}";
  RUNTRACK_ASSIGN_OR_RETURN(PgResult hops,
                            conn->Exec(kNeighboursSql, {PgTextArray(names), version_list, PgTextArray(runs)}));
  // The type of every version a run links to, for the embedded neighbour order ("type:name:vN").
  RUNTRACK_ASSIGN_OR_RETURN(PgResult types, conn->Exec("SELECT name, type FROM artifact_names WHERE name IN"
                                                       " (SELECT DISTINCT u.name FROM artifact_uses u WHERE u.run_id = ANY($1::text[])"
                                                       "  UNION SELECT v.name FROM artifact_versions v WHERE v.created_by_run = ANY($1::text[]))",
                                                       {PgTextArray(runs)}));
  std::map<std::string, std::string> type_of;
  for (int i = 0; i < types.rows(); ++i) type_of[std::string(types.Get(i, 0))] = types.Get(i, 1);

  Walker walker(std::move(facts), max_depth);
  std::map<std::string, std::vector<std::pair<std::string, Node>>> run_up, run_down;  // sort key, node
  for (int i = 0; i < hops.rows(); ++i) {
    std::string_view kind = hops.Get(i, 0);
    Node artifact{false, "", std::string(kind.starts_with("run") ? hops.Get(i, 4) : hops.Get(i, 1)),
                  ToInt(kind.starts_with("run") ? hops.Get(i, 5) : hops.Get(i, 2))};
    Node run{true, std::string(hops.Get(i, 3)), "", 0};
    if (kind == "produced_by") {
      walker.up[artifact.id()].push_back(run);
    } else if (kind == "used_by") {
      walker.down[artifact.id()].push_back(run);
    } else {
      std::string key = fmt::format("{}:{}:v{}", type_of[artifact.name], artifact.name, artifact.version);
      (kind == "run_used" ? run_up : run_down)[run.run].emplace_back(std::move(key), artifact);
    }
  }
  for (auto& [id, list] : walker.down)
    std::sort(list.begin(), list.end(), [](const Node& a, const Node& b) { return a.run < b.run; });
  for (auto* side : {&run_up, &run_down}) {
    for (auto& [run, list] : *side) {
      std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      auto& out = (side == &run_up ? walker.up : walker.down)[run];
      for (auto& [key, node] : list) out.push_back(std::move(node));
    }
  }
  // Every node the walk can name was reached by the recursive query, so its facts are known.
  return walker.Run(Node{false, "", n.name, version});
}

}  // namespace runicorn::service::pg

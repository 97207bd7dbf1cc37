// ArtifactStore::Lineage: breadth-first walks upstream and downstream of one version.
//
// Each direction keeps its own visited set. With one shared set (Runicorn's bug) the root's
// producing run, marked visited by the upstream walk, blocks the downstream walk from ever
// expanding, so consumers were unreachable.
#include <deque>
#include <set>
#include <tuple>

#include "artifacts/lineage_index.h"
#include "artifacts/store_reader.h"
#include "util/guard.h"

namespace runtrack {
using namespace artifacts;

namespace {

constexpr int kMaxLineageDepth = 10;

struct WalkNode {
  bool is_run = false;
  std::string run_id;  // runs
  NameRef ref{};       // artifacts
  int version = 0;
  std::string id() const { return is_run ? run_id : ref.name + ":v" + std::to_string(version); }
};

struct ArtifactFacts {
  bool alive = false;
  VersionState state = VersionState::kPending;
  std::string created_by_run;
  uint64_t size_bytes = 0;
};

class LineageWalker {
 public:
  LineageWalker(const Layout& layout, int max_depth) : layout_(layout), max_depth_(max_depth) {}

  Result<LineageGraph> Run(const NameRef& ref, int version) {
    WalkNode root{false, {}, ref, version};
    graph_.root_artifact = root.id();
    AddNode(root, 0, "root");
    Walk(root, /*upstream=*/true);
    Walk(root, /*upstream=*/false);
    for (const auto& [s, t, type] : edges_) graph_.edges.push_back(LineageEdge{s, t, type});
    return std::move(graph_);
  }

 private:
  const ArtifactFacts& Facts(const NameRef& ref, int version) {
    std::string key = LineageKey(ref.type, ref.name, version);
    auto it = facts_.find(key);
    if (it != facts_.end()) return it->second;
    ArtifactFacts f;
    f.state = StateOf(layout_.version_dir(ref.type, ref.name, version));
    if (f.state == VersionState::kReady || f.state == VersionState::kDeleted) {
      auto m = LoadManifest(layout_, ref, version);
      if (m.ok()) {
        f.alive = true;
        f.created_by_run = m->created_by_run;
        f.size_bytes = m->size_bytes;
      }
    }
    return facts_.emplace(key, std::move(f)).first->second;
  }

  void AddNode(const WalkNode& n, int depth, const char* direction) {
    std::string id = n.id();
    if (!node_ids_.insert(id).second) return;
    LineageNode out;
    out.node_id = id;
    out.depth = depth;
    out.direction = direction;
    if (n.is_run) {
      out.node_type = "run";
      out.label = n.run_id;
    } else {
      const ArtifactFacts& f = Facts(n.ref, n.version);
      out.node_type = "artifact";
      out.label = n.ref.name + " v" + std::to_string(n.version);
      out.artifact_type = std::string(ArtifactTypeName(n.ref.type));
      out.size_bytes = f.size_bytes;
      out.status = f.state == VersionState::kDeleted ? "deleted" : "ready";
    }
    graph_.nodes.push_back(std::move(out));
  }

  // Neighbours one hop away in the given direction, with the edge that links them.
  std::vector<std::pair<WalkNode, std::tuple<std::string, std::string, std::string>>> Neighbours(
      const WalkNode& n, bool upstream) {
    std::vector<std::pair<WalkNode, std::tuple<std::string, std::string, std::string>>> out;
    const std::string id = n.id();
    auto add_artifact = [&](const IndexedVersion& v, bool produced) {
      NameRef ref{v.type, v.name};
      const ArtifactFacts& f = Facts(ref, v.version);
      if (!f.alive) return;  // permanently deleted, or a writer that never published
      if (produced && f.created_by_run != n.run_id) return;  // stale index entry
      WalkNode a{false, {}, ref, v.version};
      if (produced) out.push_back({a, {id, a.id(), "produces"}});
      else out.push_back({a, {a.id(), id, "uses"}});
    };
    if (n.is_run) {
      for (const auto& v : VersionsOfRun(layout_, n.run_id, /*produced=*/!upstream)) add_artifact(v, !upstream);
    } else if (upstream) {
      const ArtifactFacts& f = Facts(n.ref, n.version);
      if (!f.created_by_run.empty()) {
        WalkNode r{true, f.created_by_run, {}, 0};
        out.push_back({r, {r.run_id, id, "produces"}});
      }
    } else {
      for (auto& run : RunsUsing(layout_, n.ref.type, n.ref.name, n.version)) {
        WalkNode r{true, run, {}, 0};
        out.push_back({r, {id, r.run_id, "uses"}});
      }
    }
    return out;
  }

  void Walk(const WalkNode& root, bool upstream) {
    std::set<std::string> visited{root.id()};
    std::deque<std::pair<WalkNode, int>> queue{{root, 0}};
    while (!queue.empty()) {
      auto [node, depth] = queue.front();
      queue.pop_front();
      if (depth >= max_depth_) continue;
      for (auto& [next, edge] : Neighbours(node, upstream)) {
        edges_.insert(edge);
        if (!visited.insert(next.id()).second) continue;
        AddNode(next, depth + 1, upstream ? "upstream" : "downstream");
        queue.emplace_back(next, depth + 1);
      }
    }
  }

  const Layout& layout_;
  int max_depth_;
  LineageGraph graph_;
  std::set<std::string> node_ids_;
  std::set<std::tuple<std::string, std::string, std::string>> edges_;
  std::map<std::string, ArtifactFacts> facts_;
};

}  // namespace

Result<LineageGraph> ArtifactStore::Lineage(std::string_view name, int version, int max_depth) {
  return util::GuardStatus("lineage", [&]() -> Result<LineageGraph> {
    if (max_depth < 0) return Status::InvalidArgument("max_depth must be >= 0, got " + std::to_string(max_depth));
    if (max_depth > kMaxLineageDepth) max_depth = kMaxLineageDepth;
    Layout layout(root_);
    RUNTRACK_ASSIGN_OR_RETURN(NameRef ref, ResolveName(layout, name));
    VersionState state = StateOf(layout.version_dir(ref.type, ref.name, version));
    if (state != VersionState::kReady && state != VersionState::kDeleted) {
      RUNTRACK_ASSIGN_OR_RETURN(auto entries, ScanVersions(layout.name_dir(ref.type, ref.name)));
      return VersionNotFound(ref, version, entries);
    }
    return LineageWalker(layout, max_depth).Run(ref, version);
  });
}

}  // namespace runtrack

#include "remote/alias_sweep.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

#include <fmt/format.h>

#include "artifacts/layout.h"
#include "remote/artifact_shipper.h"
#include "remote/version_state_shipping.h"

namespace runtrack::remote {
namespace {
namespace fs = std::filesystem;

constexpr ArtifactType kTypes[] = {ArtifactType::kModel, ArtifactType::kDataset, ArtifactType::kConfig,
                                   ArtifactType::kCode, ArtifactType::kCustom};

// Every artifact name of the store (a folder under artifacts/<type>/ not starting with '.').
std::vector<std::pair<ArtifactType, std::string>> Names(const StoreLayout& store) {
  const artifacts::Layout layout(store.root());
  std::vector<std::pair<ArtifactType, std::string>> out;
  for (ArtifactType t : kTypes) {
    std::error_code ec;
    for (fs::directory_iterator it(layout.type_dir(t), ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (name.empty() || name[0] == '.' || !it->is_directory(ec)) continue;
      out.emplace_back(t, std::move(name));
    }
  }
  return out;
}

// Every v<N> folder of a name folded into one stamp: `ino` sums the folders' inode numbers and
// their count, `mtime_ns` / `ctime_ns` the newest of each (for the freshness rule), so a delete
// marker or tombstone written into any of them, or a new version, changes it.
AliasSweep::DirStamp VersionsStamp(const fs::path& name_dir) {
  AliasSweep::DirStamp s;
  std::error_code ec;
  long long sum = 0;
  for (fs::directory_iterator it(name_dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string n = it->path().filename().string();
    if (n.size() < 2 || n[0] != 'v') continue;
    struct stat st {};
    if (::stat(it->path().c_str(), &st) != 0) continue;
    s.exists = true;
    const long long m = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    const long long c = st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
    sum += static_cast<long long>(st.st_ino) + 1;
    // Folded too, so a change that leaves the newest times as they were is still seen.
    sum += m ^ (c << 1);
    s.mtime_ns = std::max(s.mtime_ns, m);
    s.ctime_ns = std::max(s.ctime_ns, c);
  }
  s.ino = sum;
  return s;
}

std::function<bool(int)> OnServer(const StoreLayout& store, ArtifactType type, const std::string& name) {
  return [&store, type, &name](int version) { return VersionMarkedShipped(store, type, name, version); };
}

}  // namespace

StepOutcome AliasSweep::Pass(ArtifactClient* client, ArtifactShipProgress* progress, std::string* refused) {
  const artifacts::Layout layout(layout_.root());
  auto stamp = [](const fs::path& dir) {
    DirStamp s;
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return s;
    s.exists = true;
    s.ino = static_cast<long long>(st.st_ino);
    s.mtime_ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    s.ctime_ns = st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
    return s;
  };
  for (const auto& key : Names(layout_)) {
    const auto& [type, name] = key;
    const long long now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count();
    Seen now{stamp(layout.aliases_dir(type, name)), stamp(layout.name_dir(type, name) / ".shipped-aliases"),
             VersionsStamp(layout.name_dir(type, name)), stamp(ShippedStatesDir(layout_, type, name))};
    if (auto it = seen_.find(key); it != seen_.end() && it->second == now) continue;
    StepOutcome s;
    if (client == nullptr) {
      auto states = PendingStateChanges(layout_, type, name);
      auto changes = PendingAliasChanges(layout_, type, name, OnServer(layout_, type, name));
      const size_t n = (states.ok() ? states->size() : 0) + (changes.ok() ? changes->size() : 0);
      if (n > 0) {
        s.kind = StepOutcome::kRetry;
        s.error = Status::IOError(fmt::format("{} alias or version change(s) of '{}' wait for the server", n, name));
        return s;
      }
    } else {
      // Deletes and restores first: an alias may only be moved onto a version ready on the server.
      s = ShipNameStates(layout_, type, name, *client, progress);
      if (s.kind == StepOutcome::kCaughtUp)
        s = ShipNameAliases(layout_, type, name, OnServer(layout_, type, name), *client, progress);
      if (s.kind == StepOutcome::kRetry) return s;
      if (s.kind == StepOutcome::kFatal && refused != nullptr)
        *refused += fmt::format("{}artifact '{}': {}", refused->empty() ? "" : "; ", name, s.error.ToString());
    }
    // Remember the stamps taken before the look, so a change made during it is seen next pass —
    // unless they are too fresh to tell such a change apart (2 s: far above any kernel tick).
    const long long fresh = now_ns - 2000000000LL;
    if (now.aliases.mtime_ns < fresh && now.aliases.ctime_ns < fresh && now.shipped.mtime_ns < fresh &&
        now.shipped.ctime_ns < fresh && now.versions.mtime_ns < fresh && now.versions.ctime_ns < fresh &&
        now.states.mtime_ns < fresh && now.states.ctime_ns < fresh)
      seen_[key] = now;
    else
      seen_.erase(key);
  }
  return {};
}

std::set<std::string> PendingAliasChangeKeys(const StoreLayout& layout) {
  std::set<std::string> out;
  for (const auto& [type, name] : Names(layout)) {
    if (auto states = PendingStateChanges(layout, type, name); states.ok())
      for (const StateChange& c : *states)
        out.insert(fmt::format("{}:{}:v{}:{}", ArtifactTypeName(type), name, c.version, c.state));
    auto changes = PendingAliasChanges(layout, type, name, OnServer(layout, type, name));
    if (!changes.ok()) continue;
    for (const AliasChange& c : *changes)
      out.insert(fmt::format("{}:{}:{}:{}:{}", ArtifactTypeName(type), name, c.alias, c.version,
                             c.remove ? "remove" : "set"));
  }
  return out;
}

}  // namespace runtrack::remote

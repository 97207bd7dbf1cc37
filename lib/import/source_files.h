// Reading files of a Runicorn source store without ever following a link out of it.
//
// Every file and folder is checked with lstat: a symbolic link is never followed (it could point
// anywhere, including outside the source root), so it is skipped and reported like any other
// unusable item. Hard links are ordinary files (Runicorn's artifact dedup pool uses them).
//
// Thread-safe: no shared state.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "runtrack/import.h"

namespace runtrack::importer {

namespace fs = std::filesystem;

enum class EntryKind { kMissing, kFile, kDirectory, kSymlink, kOther };

// lstat-based: a symlink is kSymlink whatever it points at.
EntryKind KindOf(const fs::path& path);

// Collects skipped items; `rel_base` prefixes every item (the run folder relative to the source).
class SkipLog {
 public:
  explicit SkipLog(std::vector<SkippedItem>* out) : out_(out) {}
  void Add(std::string item, std::string reason) const { out_->push_back({std::move(item), std::move(reason)}); }

 private:
  std::vector<SkippedItem>* out_;
};

// The bytes of a regular file. nullopt (silently) when it does not exist; nullopt and a report
// when it is a link, not a regular file, or cannot be read.
std::optional<std::string> ReadSourceFile(const fs::path& path, const std::string& item, const SkipLog& log);

// A JSON object file (Runicorn dialect, see runicorn_json.h). nullopt when missing (silently; then
// *present is false) or when it is half-written / not an object (reported, *present is true).
std::optional<boost::json::object> ReadJsonObjectFile(const fs::path& path, const std::string& item,
                                                      const SkipLog& log, bool* present = nullptr);

// Copies a regular file and fdatasyncs the copy, so a published run's media survive a crash.
Status CopyFileSynced(const fs::path& from, const fs::path& to);

}  // namespace runtrack::importer

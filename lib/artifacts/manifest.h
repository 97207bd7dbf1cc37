// The manifest of one artifact version: its files as chunk lists, references, metadata and
// provenance. Serialised as JSON (docs/FORMATS-artifacts.md, format_version 1).
//
// manifest_digest is the SHA-256 of the exact bytes of the manifest body, so verifying it never
// depends on how a JSON library re-prints numbers: the file is the body object with one last
// member, "manifest_digest", spliced in before its closing brace.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/artifacts.h"

namespace runtrack::artifacts {

inline constexpr int kManifestFormatVersion = 1;
inline constexpr const char* kChunkingAlgorithm = "fastcdc-gear64-nc2";

struct ChunkRef {
  std::string sha256;  // 64 hex digits
  uint64_t size = 0;
};

struct FileRecord {
  std::string path;
  uint64_t size = 0;
  std::string digest;  // "sha256:<hex>" of the whole file
  std::vector<ChunkRef> chunks;
};

struct Manifest {
  int format_version = kManifestFormatVersion;
  std::string name;
  ArtifactType type = ArtifactType::kCustom;
  int version = 0;
  std::string description;
  boost::json::object metadata;
  std::vector<std::string> tags;
  std::string created_by_run;  // "" when logged without a run
  double created_at = 0;
  ChunkingOptions chunking;
  std::vector<FileRecord> files;
  std::vector<ArtifactReferenceInfo> references;
  uint64_t size_bytes = 0;      // sum of file sizes
  std::string manifest_digest;  // "sha256:<hex>"; set by Serialize and Parse
};

// Returns the file bytes and sets m->manifest_digest.
std::string SerializeManifest(Manifest* m);
// Corruption if the text is not a format-1 manifest, a field has the wrong type, a path or chunk
// name is invalid, or the digest does not match the body.
Result<Manifest> ParseManifest(std::string_view text);

}  // namespace runtrack::artifacts

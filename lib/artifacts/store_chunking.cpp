#include "artifacts/store_chunking.h"

#include <boost/json.hpp>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include "runtrack/json_parse.h"

#include "artifacts/fastcdc.h"
#include "artifacts/manifest.h"
#include "util/files.h"

namespace runtrack::artifacts {
namespace json = boost::json;
namespace {

std::string Describe(const ChunkingOptions& c) {
  return "min " + std::to_string(c.min_size) + " / avg " + std::to_string(c.avg_size) + " / max " +
         std::to_string(c.max_size);
}

Result<ChunkingOptions> ParseRecord(const fs::path& path, const std::string& text) {
  auto corrupt = [&](const std::string& why) { return Status::Corruption(path.string() + ": " + why); };
  boost::system::error_code ec;
  json::value v = runtrack::ParseJson(text, ec);
  if (ec || !v.is_object()) return corrupt("not a JSON object");
  const json::object& o = v.get_object();
  const json::value* algorithm = o.if_contains("algorithm");
  if (algorithm == nullptr || !algorithm->is_string()) return corrupt("no \"algorithm\"");
  if (algorithm->get_string() != kChunkingAlgorithm) {
    return corrupt("chunking algorithm \"" + std::string(algorithm->get_string()) +
                   "\" is not supported (this build cuts with \"" + kChunkingAlgorithm + "\")");
  }
  auto size = [&](const char* key) -> std::optional<uint32_t> {
    const json::value* s = o.if_contains(key);
    if (s == nullptr) return std::nullopt;
    if (s->is_int64() && s->get_int64() >= 0 && s->get_int64() <= int64_t{UINT32_MAX}) {
      return static_cast<uint32_t>(s->get_int64());
    }
    if (s->is_uint64() && s->get_uint64() <= UINT32_MAX) return static_cast<uint32_t>(s->get_uint64());
    return std::nullopt;
  };
  auto min = size("min_size"), avg = size("avg_size"), max = size("max_size");
  if (!min || !avg || !max) return corrupt("min_size, avg_size and max_size must be non-negative integers");
  ChunkingOptions c{*min, *avg, *max};
  if (Status s = FastCdc::Validate(c); !s.ok()) return corrupt(s.message());
  return c;
}

Result<ChunkingOptions> Check(const Layout& layout, const ChunkingOptions& recorded,
                              const std::optional<ChunkingOptions>& requested) {
  if (requested && *requested != recorded) {
    return Status::FailedPrecondition(
        "the artifact store at " + layout.root().string() + " cuts files with chunking " + Describe(recorded) +
        " (recorded when it was created); opening it with " + Describe(*requested) +
        " would stop new versions from sharing chunks with old ones. Open it without chunking options");
  }
  return recorded;
}

bool IsOutOfSpace(const Status& s) {
  return s.code() == StatusCode::kIOError && (s.message().find(std::strerror(ENOSPC)) != std::string::npos ||
                                              s.message().find(std::strerror(EDQUOT)) != std::string::npos);
}

}  // namespace

std::string ChunkingRecord(const ChunkingOptions& c) {
  return json::serialize(json::object{{"algorithm", kChunkingAlgorithm},
                                      {"min_size", c.min_size},
                                      {"avg_size", c.avg_size},
                                      {"max_size", c.max_size}}) +
         "\n";
}

Result<ChunkingOptions> ResolveStoreChunking(const Layout& layout, const std::optional<ChunkingOptions>& requested,
                                             bool sync) {
  const fs::path path = layout.chunking_path();
  auto text = util::ReadFile(path);
  if (text.ok()) {
    RUNTRACK_ASSIGN_OR_RETURN(ChunkingOptions recorded, ParseRecord(path, *text));
    return Check(layout, recorded, requested);
  }
  if (text.status().code() != StatusCode::kNotFound) return text.status();

  const ChunkingOptions chosen = requested.value_or(ChunkingOptions{});
  Status created = util::CreateFileExclusive(path, ChunkingRecord(chosen), sync);
  if (created.ok()) return chosen;
  // A store opened on a full disk must still serve reads (a viewer started with no byte free).
  // Unrecorded defaults are safe: nothing can be written now either, and the next open records
  // them; only explicit options must be recorded before they are used.
  if (!requested && IsOutOfSpace(created)) return chosen;
  if (created.code() != StatusCode::kAlreadyExists) return created;
  // Another process created the store first: its record decides.
  RUNTRACK_ASSIGN_OR_RETURN(std::string theirs, util::ReadFile(path));
  RUNTRACK_ASSIGN_OR_RETURN(ChunkingOptions recorded, ParseRecord(path, theirs));
  return Check(layout, recorded, requested);
}

}  // namespace runtrack::artifacts

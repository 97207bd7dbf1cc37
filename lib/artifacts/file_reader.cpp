// ArtifactFileReader: one file of a version, chunk by chunk, each verified before it is handed out
// (the streaming counterpart of ArtifactHandle::ReadFile, for HTTP downloads of any size).
#include <algorithm>
#include <cstring>
#include <vector>

#include "artifacts/file_assembler.h"
#include "artifacts/handle_impl.h"
#include "util/guard.h"

namespace runtrack {

struct ArtifactFileReader::State {
  std::shared_ptr<const ArtifactHandle::Impl> handle;  // keeps the manifest alive
  std::shared_ptr<const ChunkSource> missing;            // for chunks not in blobs/, or null
  const artifacts::FileRecord* file = nullptr;
  size_t next_chunk = 0;            // the chunk to read once `chunk` is used up
  std::vector<uint8_t> chunk;       // the current verified chunk
  size_t chunk_pos = 0;             // bytes of `chunk` already handed out
};

ArtifactFileReader::ArtifactFileReader(std::unique_ptr<State> state) : state_(std::move(state)) {}
ArtifactFileReader::ArtifactFileReader(ArtifactFileReader&&) noexcept = default;
ArtifactFileReader& ArtifactFileReader::operator=(ArtifactFileReader&&) noexcept = default;
ArtifactFileReader::~ArtifactFileReader() = default;

uint64_t ArtifactFileReader::size() const { return state_->file->size; }

namespace {

// Loads the next chunk into s.chunk once the current one is used up (no-op otherwise or at the
// end of the file).
Status LoadNextChunk(ArtifactFileReader::State& s) {
  if (s.chunk_pos != s.chunk.size() || s.next_chunk == s.file->chunks.size()) return Status::Ok();
  const artifacts::ChunkRef& ref = s.file->chunks[s.next_chunk];
  s.chunk.resize(ref.size);
  s.chunk_pos = 0;
  Status read = util::GuardStatus("read", [&] {
    return artifacts::ReadVerifiedChunk(s.handle->layout, *s.file, ref, s.chunk.data(), s.missing.get());
  });
  if (!read.ok()) {
    s.chunk.clear();  // nothing of a chunk that failed is ever handed out
    return read;
  }
  ++s.next_chunk;
  return Status::Ok();
}

}  // namespace

Result<size_t> ArtifactFileReader::Read(char* out, size_t capacity) {
  State& s = *state_;
  RUNTRACK_RETURN_IF_ERROR(LoadNextChunk(s));
  if (s.chunk_pos == s.chunk.size()) return size_t{0};
  size_t n = std::min(capacity, s.chunk.size() - s.chunk_pos);
  std::memcpy(out, s.chunk.data() + s.chunk_pos, n);
  s.chunk_pos += n;
  return n;
}

Result<ArtifactFileReader> ArtifactHandle::OpenFile(std::string_view path) const {
  RUNTRACK_ASSIGN_OR_RETURN(const artifacts::FileRecord* file, impl_->FindFile(path));
  auto state = std::make_unique<ArtifactFileReader::State>();
  state->handle = impl_;
  state->file = file;
  state->missing = missing_chunks_;
  // With a source, the first chunk may come over a network: fetch it now, so its failure is an
  // answer to this call, not a body cut short after a caller already sent a success status.
  if (state->missing) RUNTRACK_RETURN_IF_ERROR(LoadNextChunk(*state));
  return ArtifactFileReader(std::move(state));
}

}  // namespace runtrack

// The ingest body's wire encoding: one zstd frame of raw journal bytes (docs/REMOTE.md).
#include <zstd.h>

#include <fmt/format.h>

#include "runtrack/remote.h"

namespace runtrack {

std::string CompressIngestBody(std::string_view raw) {
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  // Level 3: zstd's default; the journal's point records compress several-fold at ~300 MB/s.
  size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), 3);
  if (ZSTD_isError(n)) return {};  // only on a bug (the bound is always enough)
  out.resize(n);
  return out;
}

Result<std::string> DecompressIngestBody(std::string_view body, size_t max_bytes) {
  // Streaming, so the declared content size (which a client may omit or lie about) is never
  // trusted for the allocation.
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!ctx) return Status::Internal("ZSTD_createDCtx failed");
  std::string out;
  ZSTD_inBuffer in{body.data(), body.size(), 0};
  size_t last = 1;
  while (in.pos < in.size) {
    size_t before = out.size();
    out.resize(before + ZSTD_DStreamOutSize());
    ZSTD_outBuffer o{out.data() + before, out.size() - before, 0};
    last = ZSTD_decompressStream(ctx.get(), &o, &in);
    out.resize(before + o.pos);
    if (ZSTD_isError(last))
      return Status::InvalidArgument(fmt::format("ingest body is not a valid zstd frame: {}", ZSTD_getErrorName(last)));
    if (out.size() > max_bytes)
      return Status::InvalidArgument(fmt::format("ingest body expands past {} bytes", max_bytes));
    if (last == 0 && in.pos < in.size)
      return Status::InvalidArgument("ingest body holds bytes after its zstd frame");
  }
  // Flush what the decoder still holds.
  while (last != 0) {
    size_t before = out.size();
    out.resize(before + ZSTD_DStreamOutSize());
    ZSTD_outBuffer o{out.data() + before, out.size() - before, 0};
    last = ZSTD_decompressStream(ctx.get(), &o, &in);
    out.resize(before + o.pos);
    if (ZSTD_isError(last))
      return Status::InvalidArgument(fmt::format("ingest body is not a valid zstd frame: {}", ZSTD_getErrorName(last)));
    if (out.size() > max_bytes)
      return Status::InvalidArgument(fmt::format("ingest body expands past {} bytes", max_bytes));
    if (last != 0 && o.pos == 0) return Status::InvalidArgument("ingest body ends inside its zstd frame");
  }
  return out;
}

}  // namespace runtrack

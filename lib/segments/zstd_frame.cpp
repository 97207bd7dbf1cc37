#include "segments/zstd_frame.h"

#include <zstd.h>

#include <memory>

namespace runtrack::segments {

void AppendZstdFrame(std::string_view data, int level, std::string* out) {
  const size_t old = out->size();
  out->resize(old + ZSTD_compressBound(data.size()));
  const size_t n = ZSTD_compress(out->data() + old, out->size() - old, data.data(), data.size(), level);
  // With a ZSTD_compressBound-sized destination compression cannot fail for lack of room; any
  // other error (an invalid level is clamped by zstd) would be a bug, so the frame stays valid.
  out->resize(ZSTD_isError(n) ? old : old + n);
}

Status DecompressZstdFrame(std::string_view frame, size_t expected_size, std::vector<uint8_t>* out) {
  const unsigned long long content = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (content != expected_size) {
    return Status::Corruption("zstd frame holds " +
                              (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN
                                   ? std::string("an unreadable size")
                                   : std::to_string(content) + " bytes") +
                              ", expected " + std::to_string(expected_size));
  }
  out->resize(expected_size);
  void* dst = out->data();
  // One context per thread: ZSTD_decompress would allocate one per block.
  thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!dctx) return Status::Internal("cannot allocate a zstd decompression context");
  const size_t n = ZSTD_decompressDCtx(dctx.get(), dst, expected_size, frame.data(), frame.size());
  if (ZSTD_isError(n)) return Status::Corruption(std::string("zstd frame: ") + ZSTD_getErrorName(n));
  if (n != expected_size) return Status::Corruption("zstd frame decompressed to the wrong size");
  return Status::Ok();
}

}  // namespace runtrack::segments

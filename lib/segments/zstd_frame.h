// One-shot zstd compression of a column, with the decompressed size checked against what the
// caller expects, so a corrupt frame can never make the decoder allocate or write beyond it.
// Thread safety: pure functions (zstd's simple API allocates a context per call).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/status.h"

namespace runtrack::segments {

// Appends one zstd frame holding `data` to `out`.
void AppendZstdFrame(std::string_view data, int level, std::string* out);

// Decompresses one whole frame into *out, which is resized to `expected_size` only after the
// frame's header has been checked to declare exactly that size (so a damaged size field cannot
// trigger a huge allocation); Corruption otherwise.
Status DecompressZstdFrame(std::string_view frame, size_t expected_size, std::vector<uint8_t>* out);

}  // namespace runtrack::segments

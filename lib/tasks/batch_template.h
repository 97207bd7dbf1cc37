// Pyruns' batch grammar for one string leaf of a config template (see tasks.h for the syntax).
// A range is kept as start/stop/step, so counting `0:100000000` costs nothing and the batch
// limit is checked before any value is made.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tasks/config_value.h"

namespace runtrack::tasks {

struct BatchLeaf {
  enum class Mode { kProduct, kZip };
  Mode mode = Mode::kProduct;
  std::vector<ConfigValue> pieces;  // typed pieces, when not a range
  bool is_range = false;
  int64_t start = 0, stop = 0, step = 1;

  uint64_t Count() const;
  ConfigValue At(uint64_t k) const;
};

// The leaf's expansion, or nullopt when `value` is not batch syntax (it then stays as written,
// like Pyruns: "(5, 1)", "1:5:0", "(only_one)" and "a \| b" are plain strings).
std::optional<BatchLeaf> ParseBatchLeaf(std::string_view value);

// Pyruns' _split_by_pipe: split on `|` not preceded by `\`, unescape, strip, drop empty parts.
std::vector<std::string> SplitByPipe(std::string_view text);

// The single-task (Pyruns "yaml" mode) check's message.
inline constexpr std::string_view kSingleModeBatchError =
    "YAML mode does not support batch syntax. Switch to Grid or Tree mode.";




}  // namespace runtrack::tasks

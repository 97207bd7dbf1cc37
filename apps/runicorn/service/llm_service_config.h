// The viewer's `--llm-service FILE`: which trainer and generator commands the training service
// API (/api/v1, docs/API-v1.md "Training service configuration") runs, and its limits.
//
// The file is JSON, or TOML when its name ends in `.toml` (parsed by toml++, Debian's
// libtomlplusplus-dev). Both spell the same keys with the same types and are checked by the same
// code, so a mistake gets the same message in either form, naming the file and the key:
//
//   {"trainer": "python3 train.py", "generator": "python3 generate.py", "quantization": ["int8"],
//    "generate_timeout_seconds": 120, "workers": 1, "generate_concurrency": 1, "generate_queue": 2}
//
//   trainer = "python3 train.py"
//   generator = "python3 generate.py"
//   quantization = ["int8"]
//   ...
//
// Thread safety: pure functions.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "runtrack/status.h"

namespace runicorn::service {

// Commands are shell command lines run with `/bin/sh -c` in the config file's folder; the
// trainer gets the job's config.json path appended, the generator a request and a response path.
struct LlmServiceConfig {
  std::string trainer;                    // empty: POST /train answers 503
  std::string generator;                  // empty: POST /generate answers 503
  std::filesystem::path dir;              // the config file's folder (commands run there)
  std::vector<std::string> quantization;  // the values of config.quantization the trainer supports
  int generate_timeout_seconds = 120;
  int workers = 1;                        // jobs running at once
  // Generations running at once; a request past them waits in a queue of `generate_queue`
  // places, and past that is refused (503 with Retry-After) instead of piling up threads.
  int generate_concurrency = 1;
  int generate_queue = 2;
};

// InvalidArgument naming the file and the problem: unreadable, not a JSON object / a TOML syntax
// error (with its line and column), an unknown key, a value of the wrong type or out of range.
runtrack::Result<LlmServiceConfig> LoadLlmServiceConfig(const std::filesystem::path& file);

// The same from the file's text; `file` names it in messages, sets `dir` and, by its extension,
// the syntax (".toml": TOML, anything else: JSON).
runtrack::Result<LlmServiceConfig> ParseLlmServiceConfig(std::string_view text, const std::filesystem::path& file);

}  // namespace runicorn::service

// Expands a parsed template into configs (Pyruns' generate_batch_configs).
#pragma once

#include <string>
#include <vector>

#include "runtrack/tasks.h"
#include "tasks/config_value.h"

namespace runtrack::tasks {

// Parses `yaml_text` and checks that its root is a mapping (null becomes `{}`).
Result<ConfigValue> ParseTemplate(std::string_view yaml_text);

// The number of leaves written in batch syntax (0: the template is a single config).
size_t CountBatchLeaves(const ConfigValue& root);

Result<size_t> CountConfigs(const ConfigValue& root);
Result<std::vector<ExpandedConfig>> ExpandTemplate(const ConfigValue& root, size_t limit);

}  // namespace runtrack::tasks

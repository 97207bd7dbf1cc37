// `runicorn sync`: ships every journal byte a central viewer has not acknowledged (docs/REMOTE.md).
#pragma once

#include <string>
#include <vector>

namespace runicorn::cli {

int RunSync(const std::vector<std::string>& argv);

}  // namespace runicorn::cli

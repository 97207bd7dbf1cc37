// `runicorn import --from-runicorn DIR`: converts a Runicorn store into the store (import.h).
#pragma once

#include <string>
#include <vector>

namespace runicorn::cli {

int RunImport(const std::vector<std::string>& argv);

}  // namespace runicorn::cli

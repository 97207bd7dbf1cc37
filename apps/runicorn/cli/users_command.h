// `runicorn users add|remove|list`: the accounts of the training service API (/api/v1).
#pragma once

#include <string>
#include <vector>

namespace runicorn::cli {

int RunUsers(const std::vector<std::string>& argv);

}  // namespace runicorn::cli

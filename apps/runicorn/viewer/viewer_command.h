// `runicorn viewer` (viewer_command.cpp).
#pragma once

#include <string>
#include <vector>

namespace runicorn::viewer {

int RunViewer(const std::vector<std::string>& argv);

}  // namespace runicorn::viewer

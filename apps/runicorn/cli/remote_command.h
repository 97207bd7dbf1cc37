// `runicorn remote`: Runicorn's SSH remote from the command line (docs/REMOTE.md "SSH remote").
#pragma once

#include <string>
#include <vector>

namespace runicorn::cli {

int RunRemote(const std::vector<std::string>& argv);
// `runicorn remote viewer start|status|stop` (remote_viewer_command.cpp).
int RunRemoteViewer(const std::vector<std::string>& argv);

}  // namespace runicorn::cli

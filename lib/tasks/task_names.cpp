// Task names and statuses: the identities that come from outside.
#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include <fmt/format.h>

#include "runtrack/tasks.h"
#include "util/validation.h"

namespace runtrack {
namespace {

constexpr std::array<std::string_view, kTaskStatusCount> kStatusNames = {
    "pending", "queued", "running", "completed", "failed", "cancelled"};

bool IsWindowsReserved(std::string_view name) {
  // Windows refuses these as file names with any extension ("CON.txt"); Pyruns rejects them
  // so a workspace stays portable.
  std::string stem(name.substr(0, name.find('.')));
  for (char& c : stem) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static const std::array<std::string_view, 4> kPlain = {"CON", "PRN", "AUX", "NUL"};
  if (std::find(kPlain.begin(), kPlain.end(), stem) != kPlain.end()) return true;
  if (stem.size() == 4 && (stem.starts_with("COM") || stem.starts_with("LPT")) && stem[3] >= '1' &&
      stem[3] <= '9')
    return true;
  return false;
}

}  // namespace

std::string_view TaskStatusName(TaskStatus status) {
  return kStatusNames[static_cast<size_t>(status)];
}

Result<TaskStatus> ParseTaskStatus(std::string_view name) {
  for (size_t k = 0; k < kStatusNames.size(); ++k)
    if (kStatusNames[k] == name) return static_cast<TaskStatus>(k);
  return Status::InvalidArgument(fmt::format(
      "unknown task status '{}': expected pending, queued, running, completed, failed or cancelled",
      name));
}

Status CheckTaskName(std::string_view name) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("invalid task name '{}': {}", name, why));
  };
  if (name.empty()) return Status::InvalidArgument("invalid task name '': it is empty");
  if (name.size() > 200) return bad("longer than 200 bytes");
  if (!util::IsValidUtf8(name)) return bad("not valid UTF-8");
  if (std::isspace(static_cast<unsigned char>(name.front())) ||
      std::isspace(static_cast<unsigned char>(name.back())))
    return bad("leading or trailing whitespace");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return bad("control character");
    if (std::string_view("<>:\"/\\|?*").find(static_cast<char>(c)) != std::string_view::npos)
      return bad("contains one of < > : \" / \\ | ? *");
    if (c == '@') return bad("'@' is reserved for TASK@RUN");
  }
  if (name.front() == '.' || name.front() == '-') return bad("starts with '.' or '-'");
  if (name.back() == '.') return bad("ends with '.'");
  if (IsWindowsReserved(name)) return bad("a reserved device name on Windows");
  return Status::Ok();
}

}  // namespace runtrack

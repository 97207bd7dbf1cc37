#include "service/text_file.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace runicorn::service {
namespace fs = std::filesystem;

runtrack::Result<std::string> ReadTextFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return runtrack::Status::NotFound(fmt::format("cannot read {}", p.string()));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

runtrack::Status WriteTextFileAtomic(const fs::path& p, std::string_view content) {
  fs::path tmp = p;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) return runtrack::Status::IOError(fmt::format("cannot write {}", tmp.string()));
  }
  std::error_code ec;
  fs::rename(tmp, p, ec);
  if (ec) return runtrack::Status::IOError(fmt::format("cannot rename {}: {}", tmp.string(), ec.message()));
  return runtrack::Status::Ok();
}

}  // namespace runicorn::service

#include "system/platform_info.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace runtrack::telemetry {

Result<PlatformInfo> ReadPlatformInfo(const CpuInfo& cpu) {
  struct utsname u {};
  if (::uname(&u) != 0) return Status::IOError(std::string("uname: ") + std::strerror(errno));
  PlatformInfo p;
  p.system = u.sysname;
  p.release = u.release;
  p.version = u.version;
  p.machine = u.machine;
  p.hostname = u.nodename;
  p.cpu_model = cpu.model;
  p.cpu_count = cpu.logical_count;
  if (p.cpu_count == 0) {
    long online = ::sysconf(_SC_NPROCESSORS_ONLN);
    p.cpu_count = online > 0 ? static_cast<unsigned>(online) : 0;
  }
  return p;
}

}  // namespace runtrack::telemetry

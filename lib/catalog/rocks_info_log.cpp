#include "catalog/rocks_info_log.h"

#include <cstdarg>
#include <cstdio>

namespace runtrack::catalog {
namespace {

class StderrFatalLog final : public rocksdb::Logger {
 public:
  StderrFatalLog() : rocksdb::Logger(rocksdb::InfoLogLevel::FATAL_LEVEL) {}

  // Without a level: only RocksDB's start-up header (options, versions), which is not an error.
  void Logv(const char*, va_list) override {}
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level != rocksdb::InfoLogLevel::FATAL_LEVEL) return;
    // Formatted into one buffer and written with one call, so lines from concurrent RocksDB
    // threads do not interleave; a longer message is cut.
    char line[1024];
    va_list copy;
    va_copy(copy, ap);
    std::vsnprintf(line, sizeof line, format, copy);
    va_end(copy);
    std::fprintf(stderr, "runtrack catalog: %s\n", line);
  }
};

}  // namespace

std::shared_ptr<rocksdb::Logger> MakeCatalogInfoLog() { return std::make_shared<StderrFatalLog>(); }

}  // namespace runtrack::catalog

// The catalog's format key "F": a catalog from before sealed series (1) is upgraded to 2 at its
// first read-write open; an unknown format is refused with how to rebuild.
#include <rocksdb/db.h>

#include <catch2/catch.hpp>

#include "runtrack/catalog.h"
#include "runtrack/layout.h"
#include "runtrack/store.h"
#include "test_support.h"

using namespace runtrack;
using namespace runtrack::testing;
namespace fs = std::filesystem;

namespace {

std::unique_ptr<rocksdb::DB> OpenRaw(const fs::path& root) {
  rocksdb::DB* raw = nullptr;
  rocksdb::Options options;
  REQUIRE(rocksdb::DB::Open(options, StoreLayout(root).catalog_dir().string(), &raw).ok());
  return std::unique_ptr<rocksdb::DB>(raw);
}

std::string Format(const fs::path& root) {
  std::string value;
  REQUIRE(OpenRaw(root)->Get(rocksdb::ReadOptions(), "F", &value).ok());
  return value;
}

void SetFormat(const fs::path& root, const std::string& value) {
  REQUIRE(OpenRaw(root)->Put(rocksdb::WriteOptions(), "F", value).ok());
}

}  // namespace

TEST_CASE("a catalog at format 1 opens and is marked 2, an unknown format is refused", "[catalog][format]") {
  TempDir dir;
  REQUIRE(Store::Open(dir.path()).ok());
  REQUIRE(Catalog::Open(dir.path()).ok());
  CHECK(Format(dir.path()) == "2");

  SetFormat(dir.path(), "1");
  REQUIRE(Catalog::Open(dir.path()).ok());
  CHECK(Format(dir.path()) == "2");

  SetFormat(dir.path(), "3");
  auto refused = Catalog::Open(dir.path());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == StatusCode::kCorruption);
  CHECK(refused.status().message() ==
        "catalog format 3 is not supported (expected 2); delete " + StoreLayout(dir.path()).catalog_dir().string() +
            " to rebuild it from the journals");
}

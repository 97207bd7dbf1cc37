// Shared set-up for catalog tests: a store root plus helpers to open the catalog and index it.
#pragma once

#include <catch2/catch.hpp>

#include <memory>

#include "runtrack/catalog.h"
#include "runtrack/store.h"
#include "test_support.h"

namespace runtrack::testing {

inline std::unique_ptr<Store> OpenStore(const std::filesystem::path& root) {
  auto store = Store::Open(root);
  REQUIRE(store.ok());
  return std::move(store).value();
}

inline std::unique_ptr<Catalog> OpenCatalog(const std::filesystem::path& root) {
  auto catalog = Catalog::Open(root);
  INFO(catalog.status().ToString());
  REQUIRE(catalog.ok());
  return std::move(catalog).value();
}

inline IndexReport Index(Catalog& catalog) {
  auto report = catalog.Refresh();
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  return *report;
}

inline std::unique_ptr<Run> NewRun(Store& store, RunOptions options = {}) {
  auto run = store.CreateRun(options);
  INFO(run.status().ToString());
  REQUIRE(run.ok());
  return std::move(run).value();
}

}  // namespace runtrack::testing

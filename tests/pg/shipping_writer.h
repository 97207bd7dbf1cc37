// A training node's store with one live run, shipped explicitly to a viewer (ShipRun), for the
// in-process replica tests (ingest_forwarding_test.cpp, live_read_forwarding_test.cpp).
#pragma once

#include <cstdlib>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "remote/frame_scan.h"
#include "runtrack/remote.h"
#include "runtrack/store.h"
#include "test_support.h"
#include "util/files.h"

namespace runicorn::testing {

// loss = 1/(s+1) at step s, and text lines.
struct ShippingWriter {
  runtrack::testing::TempDir dir;
  std::unique_ptr<runtrack::Store> store;
  std::unique_ptr<runtrack::Run> run;
  ShippingWriter() {
    ::unsetenv("RUNICORN_SERVER");  // shipped explicitly below, not by the store's own shipper
    auto s = runtrack::Store::Open(dir.path() / "node");
    REQUIRE(s.ok());
    store = std::move(*s);
    auto r = store->CreateRun({});
    REQUIRE(r.ok());
    run = std::move(*r);
  }
  void Log(int from, int to) {
    for (int s = from; s < to; ++s) REQUIRE(run->Log(s, "loss", 1.0 / (s + 1)).ok());
    REQUIRE(run->Flush().ok());
  }
  void Text(const std::string& line) {
    REQUIRE(run->LogText(line).ok());
    REQUIRE(run->Flush().ok());
  }
  std::string id() const { return run->id(); }
  const runtrack::StoreLayout& layout() const { return store->layout(); }
  // The local journal's whole records: what the server must hold after shipping.
  std::string WholeRecords() const {
    auto bytes = runtrack::util::ReadFile(layout().journal_path(id()));
    REQUIRE(bytes.ok());
    auto scan = runtrack::remote::ScanFrames(*bytes, 0);
    REQUIRE(scan.ok());
    return bytes->substr(0, scan->valid_end);
  }
  runtrack::ShipProgress Ship(const std::string& url, const std::string& token = {}) {
    runtrack::ShipperOptions o;
    o.server = url;
    o.token = token;
    o.backoff_min = std::chrono::milliseconds(20);
    o.backoff_max = std::chrono::milliseconds(200);
    auto p = runtrack::ShipRun(layout(), id(), o, 50);
    INFO(p.status().ToString());
    REQUIRE(p.ok());
    return *p;
  }
};

}  // namespace runicorn::testing

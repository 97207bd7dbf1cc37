// Helpers of the alias-shipping tests: a version logged from a run, the viewer's alias table.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "runtrack/artifacts.h"
#include "runtrack/run.h"
#include "server_fixture.h"
#include "viewer_fixture.h"

namespace runicorn::testing {

// Logs one small file as the next version of model `name` from `run`.
inline int LogVersion(runtrack::Run& run, const std::filesystem::path& src, const std::string& name,
                      const std::string& bytes) {
  auto art = runtrack::Artifact::Create(name, runtrack::ArtifactType::kModel);
  REQUIRE(art.ok());
  {
    std::ofstream out(src, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  REQUIRE(art->AddFile(src).ok());
  auto v = run.LogArtifact(*art);
  REQUIRE(v.ok());
  return *v;
}

// The body of GET /api/artifacts/{name}/aliases on the viewer.
inline std::string ServerAliases(RestartableViewer& viewer, const std::string& name) {
  HttpClient http(viewer.port());
  auto r = http.Get(fmt::format("/api/artifacts/{}/aliases", name));
  REQUIRE(r.status == 200);
  return r.body;
}

// `read()` once it equals `expected`, or its last answer after 30 s (for changes shipped by a
// background thread; the caller CHECKs the result, so a change that never arrives fails).
template <typename Read, typename T>
T OnceEqual(const Read& read, const T& expected) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  T value = read();
  while (value != expected && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    value = read();
  }
  return value;
}

// ServerAliases once it equals `expected` (OnceEqual).
inline std::string ServerAliasesOnceEqual(RestartableViewer& viewer, const std::string& name,
                                          const std::string& expected) {
  return OnceEqual([&] { return ServerAliases(viewer, name); }, expected);
}

}  // namespace runicorn::testing

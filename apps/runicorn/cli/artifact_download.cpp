// `runicorn artifacts download`: writes one version's files into a folder, each verified against
// the manifest. Like `gc` it reads only artifacts/ and blobs/ (plain files), never the catalog, so
// it works while a viewer holds the store. With --objects s3://… a chunk missing from blobs/ is
// read from the team's bucket (docs/SCALE-OUT.md "S3 object store"), verified against its
// SHA-256 name like every chunk; credentials come from AWS_* or the credentials file, never argv.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/progress_bar.h"
#include "runtrack/artifacts.h"
#include "service/artifact_service.h"
#include "service/file_artifacts.h"
#include "service/s3/object_chunk_source.h"
#include "service/s3/objects_option.h"

namespace runicorn::cli {
namespace bj = boost::json;

namespace {

constexpr const char* kUsage =
    "usage: runicorn artifacts download NAME[:VERSION] --output DIR [--json] [--progress | --no-progress]\n"
    "       runicorn artifacts download NAME VERSION --output DIR ...\n"
    "  VERSION: 3, v3, latest or an alias (default latest); common: [--storage DIR]\n"
    "  [--objects s3://BUCKET/PREFIX?endpoint=URL&region=R]: chunks missing from blobs/ from the bucket\n";

int Usage() {
  std::fputs(kUsage, stderr);
  return kExitUsage;
}

// The words after `download` ("NAME", "NAME:SEL" or "NAME SEL") as an ArtifactStore::Use spec:
// "name:latest", "name:vN" (from "N", "vN" or "VN", like `artifacts info`) or "name:alias".
// nullopt for a malformed or doubly given selector.
std::optional<std::string> UseSpec(const std::vector<std::string>& words) {
  if (words.empty() || words.size() > 2) return std::nullopt;
  std::string name = words[0];
  std::optional<std::string> selector;
  if (size_t colon = name.find(':'); colon != std::string::npos) {
    selector = name.substr(colon + 1);
    name.resize(colon);
  }
  if (words.size() == 2) {
    if (selector) return std::nullopt;
    selector = words[1];
  }
  if (name.empty() || (selector && selector->empty())) return std::nullopt;
  if (!selector) return name + ":latest";
  std::string digits = (*selector)[0] == 'v' || (*selector)[0] == 'V' ? selector->substr(1) : *selector;
  const bool numeric = !digits.empty() && std::all_of(digits.begin(), digits.end(), [](unsigned char c) {
    return std::isdigit(c) != 0;
  });
  return name + ":" + (numeric ? "v" + digits : *selector);
}

}  // namespace

int RunArtifactDownload(const Args& args) {
  if (!args.Unknown({"output", "json", "progress", "no-progress", "storage", "objects"}).empty()) return Usage();
  const auto& pos = args.positional();
  auto spec = UseSpec(std::vector<std::string>(pos.begin() + 1, pos.end()));
  auto output = args.Get("output");
  if (!spec || !output || output->empty()) return Usage();

  auto repository = service::FileArtifactRepository::Open(ResolveStorage(args));
  if (!repository.ok()) return Fail(repository.status());
  if (auto url = args.Get("objects")) {
    // Opened (URL, credentials, bucket checked) before anything is written to --output.
    auto bucket = service::s3::OpenObjectChunkStore(*url);
    if (!bucket.ok()) {
      std::fprintf(stderr, "runicorn artifacts download: %s\n", bucket.status().message().c_str());
      return bucket.status().code() == runtrack::StatusCode::kInvalidArgument ? kExitUsage
                                                                              : ExitCodeFor(bucket.status());
    }
    (*repository)->SetMissingChunkSource(std::make_shared<service::s3::ObjectChunkSource>(std::move(*bucket)));
  }
  // Resolve records no lineage: a download from the command line is no run using the artifact.
  auto handle = service::ArtifactService(**repository, /*runs=*/nullptr).Resolve(*spec);
  if (!handle.ok()) return Fail(handle.status());
  const runtrack::ArtifactVersionInfo& info = handle->info();
  const std::string artifact = fmt::format("{}:v{}", info.name, info.version);
  runtrack::Status downloaded = [&] {
    // The bar's line ends (destructor) before the result or an error is printed.
    ProgressBar bar(ProgressOutput(args), "downloading " + artifact, ProgressUnit::kBytes);
    return handle->Download(*output, bar.Callback());
  }();
  if (!downloaded.ok()) return Fail(downloaded);

  if (args.Has("json")) {
    PrintJson(bj::object{{"artifact", artifact},
                         {"name", info.name},
                         {"version", info.version},
                         {"type", runtrack::ArtifactTypeName(info.type)},
                         {"num_files", info.num_files},
                         {"size_bytes", info.size_bytes},
                         {"output", *output}});
  } else {
    std::printf("downloaded %s (%llu %s, %s) to %s\n", artifact.c_str(),
                static_cast<unsigned long long>(info.num_files), info.num_files == 1 ? "file" : "files",
                FormatBytes(info.size_bytes).c_str(), output->c_str());
  }
  return kExitOk;
}

}  // namespace runicorn::cli

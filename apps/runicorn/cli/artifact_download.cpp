// `runicorn artifacts download`: writes one version's files into a folder, each verified against
// the manifest. Like `gc` it reads only artifacts/ and blobs/ (plain files), never the catalog, so
// it works while a viewer holds the store. With --objects s3://… a chunk missing from blobs/ is
// read from the team's bucket (docs/SCALE-OUT.md "S3 object store"), verified against its
// SHA-256 name like every chunk; credentials come from AWS_* or the credentials file, never argv.
// With --catalog postgresql://… (and --objects) no local store is needed: the version, its
// manifest and the aliases come from the team's PostgreSQL (pg_artifact_repository.h, through the
// opener main() gives) and every chunk from the bucket; the password comes from PGPASSWORD,
// ~/.pgpass or PGPASSFILE, never argv. The output, --json and errors are the local path's.
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "cli/artifact_download.h"
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
    "  [--objects s3://BUCKET/PREFIX?endpoint=URL&region=R]: chunks missing from blobs/ from the bucket\n"
    "  [--catalog postgresql://HOST/DB?user=U]: versions from the team's PostgreSQL instead of the local\n"
    "    store (needs --objects; password from PGPASSWORD, ~/.pgpass or PGPASSFILE, never here)\n";

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

// An empty folder for the duration of a --catalog download without --storage: the PostgreSQL
// repository reads chunks from a store's blobs/ before the bucket, and a laptop has none.
class TemporaryChunkRoot {
 public:
  TemporaryChunkRoot() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "runicorn-download-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TemporaryChunkRoot() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TemporaryChunkRoot(const TemporaryChunkRoot&) = delete;
  TemporaryChunkRoot& operator=(const TemporaryChunkRoot&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The bucket as the PostgreSQL repository's chunk source, attached once the bucket is open: the
// catalog is opened first, so a bad --catalog (a password in it, a refused login) is reported
// before the bucket is contacted. Attached before any read; never read without it.
class BucketAttachedLater final : public runtrack::ChunkSource {
 public:
  void Attach(std::shared_ptr<const runtrack::ChunkSource> bucket) { bucket_ = std::move(bucket); }
  runtrack::Result<std::string> Read(std::string_view sha256_hex, uint64_t size) const override {
    if (!bucket_) return runtrack::Status::Internal("the bucket was not opened");
    return bucket_->Read(sha256_hex, size);
  }
  std::string Describe() const override { return bucket_ ? bucket_->Describe() : "the bucket"; }

 private:
  std::shared_ptr<const runtrack::ChunkSource> bucket_;
};

}  // namespace

int RunArtifactDownload(const Args& args, const CatalogArtifactsOpener& open_catalog) {
  if (!args.Unknown({"output", "json", "progress", "no-progress", "storage", "objects", "catalog"}).empty())
    return Usage();
  const auto& pos = args.positional();
  auto spec = UseSpec(std::vector<std::string>(pos.begin() + 1, pos.end()));
  auto output = args.Get("output");
  if (!spec || !output || output->empty()) return Usage();
  const auto conninfo = args.Get("catalog");
  if (conninfo) {
    if (!open_catalog) {
      std::fprintf(stderr, "runicorn artifacts download: --catalog: this runicorn was built without libpq (libpq-dev)\n");
      return kExitUsage;
    }
    if (!args.Has("objects")) {
      std::fprintf(stderr, "runicorn artifacts download: --catalog needs --objects (the chunks are in the bucket)\n");
      return kExitUsage;
    }
  }

  std::unique_ptr<service::ArtifactRepository> repository;
  std::optional<TemporaryChunkRoot> chunk_root;
  auto late_bucket = std::make_shared<BucketAttachedLater>();
  if (conninfo) {
    std::filesystem::path root;
    if (args.Has("storage")) {
      root = ResolveStorage(args);
    } else {
      chunk_root.emplace();
      if (chunk_root->path().empty()) return Fail(runtrack::Status::IOError("cannot make a temporary folder"));
      root = chunk_root->path();
    }
    auto opened = open_catalog(*conninfo, root, late_bucket);
    if (!opened.ok()) return Fail(opened.status());
    repository = std::move(*opened);
  } else {
    auto opened = service::FileArtifactRepository::Open(ResolveStorage(args));
    if (!opened.ok()) return Fail(opened.status());
    if (args.Has("objects")) (*opened)->SetMissingChunkSource(late_bucket);
    repository = std::move(*opened);
  }
  if (auto url = args.Get("objects")) {
    // Opened (URL, credentials, bucket checked) before anything is written to --output.
    auto bucket = service::s3::OpenObjectChunkStore(*url);
    if (!bucket.ok()) {
      std::fprintf(stderr, "runicorn artifacts download: %s\n", bucket.status().message().c_str());
      return bucket.status().code() == runtrack::StatusCode::kInvalidArgument ? kExitUsage
                                                                              : ExitCodeFor(bucket.status());
    }
    late_bucket->Attach(std::make_shared<service::s3::ObjectChunkSource>(std::move(*bucket)));
  }
  // Resolve records no lineage: a download from the command line is no run using the artifact.
  auto handle = service::ArtifactService(*repository, /*runs=*/nullptr).Resolve(*spec);
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

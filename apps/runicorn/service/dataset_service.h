// Datasets of the training service API (/api/v1/datasets): uploaded files become `dataset`
// artifacts (so chunk dedup, versions, aliases and lineage apply), and processing splits one into
// train / validation / test with a prompt template into a new dataset artifact whose lineage
// leads back to its source.
//
// A dataset id is its artifact version, "NAME:vN" — the spec /api/v1/train will take as
// dataset_path. Uploads are stored byte for byte as data.json / data.csv (two identical uploads
// share every chunk); processed versions hold train.jsonl, validation.jsonl and test.jsonl, one
// JSON object per row (the source columns, plus "text" when a template was given).
//
// Processing is deterministic: rows are shuffled by Fisher-Yates driven by std::mt19937_64 seeded
// with `seed` (both fully specified by the C++ standard, unlike std::shuffle), then cut at
// floor(n * train_ratio) and floor(n * val_ratio); the test split takes the rest. Lineage: a
// processing id in run-id form "uses" the source version and "produces" the output version.
//
// Storage: `artifacts` (dataset_artifacts.h) — this store's own by default, the team's catalog and
// bucket with `viewer --catalog … --objects …`.
//
// Thread safety: no state in memory (ArtifactStore keeps none); use from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtrack/layout.h"
#include "runtrack/status.h"
#include "service/dataset_artifacts.h"

namespace runicorn::service {

// Which request field an InvalidArgument is about, for the API's error details.
struct FieldError {
  std::string field;
  std::string reason;  // "required", "invalid_row", "unknown_column", "must_sum_to_1", ...
};

struct DatasetInfo {
  std::string id;           // "NAME:vN"
  std::string name;
  std::string path;         // the artifact's data file, "NAME:vN/data.json"
  double created_at = 0;    // unix seconds
  uint64_t size_bytes = 0;
  uint64_t samples_count = 0;
  std::string description;
  std::string format;       // "json", "csv" or "jsonl" (processed)
  std::vector<std::string> columns;
  std::string source;       // processed versions: the source dataset id
};

struct DatasetUpload {
  std::string name;          // the artifact name (ValidateArtifactName)
  std::string description;
  std::string format = "json";  // "json" (an array of objects) or "csv" (header row first)
  std::string content;
  std::string uploaded_by;   // user name, recorded in the metadata
};

struct ProcessRequest {
  std::string dataset_id;
  std::string output_name;
  double train_ratio = 0.8;
  double val_ratio = 0.1;
  double test_ratio = 0.1;
  std::optional<std::string> prompt_template;  // "{instruction} ... {response}"; "{{" is "{"
  uint64_t seed = 42;
  std::string processed_by;
};

struct ProcessResult {
  std::string task_id;        // a UUID v4
  std::string dataset_id;     // the source
  DatasetInfo output;
  uint64_t train = 0, validation = 0, test = 0;
  double processed_at = 0;
};

class DatasetService {
 public:
  static constexpr uint64_t kMaxUploadBytes = 32u << 20;
  static constexpr uint64_t kMaxRows = 1000000;

  explicit DatasetService(runtrack::StoreLayout layout) : DatasetService(std::move(layout), nullptr) {}
  // `artifacts` null: the store's own (LocalDatasetArtifacts over `layout`).
  DatasetService(runtrack::StoreLayout layout, std::shared_ptr<DatasetArtifacts> artifacts)
      : layout_(std::move(layout)),
        artifacts_(artifacts ? std::move(artifacts) : std::make_shared<LocalDatasetArtifacts>(layout_)) {}

  // Every ready version of every dataset artifact, by name then version.
  runtrack::Result<std::vector<DatasetInfo>> List();
  // NotFound "Dataset not found: ID"; InvalidArgument for a malformed id.
  runtrack::Result<DatasetInfo> Get(const std::string& id);
  // InvalidArgument (with `error` filled) for a bad name or format, an empty, oversized or
  // unparsable file, or a bad row ("row 3: ..."); AlreadyExists when NAME is another type.
  runtrack::Result<DatasetInfo> Upload(const DatasetUpload& upload, FieldError* error);
  // InvalidArgument (with `error`) for ratios outside [0, 1] or not summing to 1 (within 1e-6),
  // a template naming a column some row lacks, or an unbalanced brace; NotFound for the source.
  runtrack::Result<ProcessResult> Process(const ProcessRequest& request, FieldError* error);

 private:
  DatasetArtifacts& artifacts() { return *artifacts_; }

  runtrack::StoreLayout layout_;
  std::shared_ptr<DatasetArtifacts> artifacts_;
};

// A random UUID v4, lower-case ("12345678-1234-4678-9234-567812345678").
std::string NewUuid();

}  // namespace runicorn::service

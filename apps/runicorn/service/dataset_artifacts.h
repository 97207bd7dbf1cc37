// Where the training service API keeps its artifacts: the `dataset` versions of DatasetService
// (/api/v1/datasets) and the `model` versions of ModelService (/api/v1/models, /generate) and
// TrainingService (/api/v1/train: its dataset, base model and logged model, with lineage). This
// store's own artifacts/ and blobs/ (LocalDatasetArtifacts, the default), or the team's catalog
// and bucket with `viewer --catalog … --objects …` (pg/pg_dataset_artifacts.h), so a dataset
// uploaded through one replica is trained on through any other, and the model it gives is listed
// and generated with through every replica.
//
// Thread safety: implementations allow every method from any number of threads at once.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "runtrack/artifacts.h"
#include "runtrack/layout.h"
#include "runtrack/status.h"

namespace runicorn::service {

class DatasetArtifacts {
 public:
  virtual ~DatasetArtifacts() = default;
  // Names with at least one ready version of `type` (nullopt: of any type), sorted by name.
  virtual runtrack::Result<std::vector<runtrack::ArtifactSummary>> ListArtifacts(
      std::optional<runtrack::ArtifactType> type) = 0;
  // Ready versions of one name, ascending.
  virtual runtrack::Result<std::vector<runtrack::ArtifactVersionInfo>> ListVersions(std::string_view name) = 0;
  // One version, soft-deleted included; NotFound as the artifact store words it.
  virtual runtrack::Result<runtrack::ArtifactVersionInfo> GetVersion(std::string_view name, int version) = 0;
  // A handle on `spec` ("name:vN"); records that `using_run_id` used it unless empty.
  virtual runtrack::Result<runtrack::ArtifactHandle> Use(std::string_view spec, std::string_view using_run_id) = 0;
  // Stores a new version (its number is the next of the name) and returns its record.
  virtual runtrack::Result<runtrack::ArtifactVersionInfo> Log(const runtrack::Artifact& artifact,
                                                              std::string_view producing_run_id) = 0;
};

// The store's own artifacts (runtrack::ArtifactStore at the layout's root, opened per call: it
// keeps no state in memory).
class LocalDatasetArtifacts final : public DatasetArtifacts {
 public:
  explicit LocalDatasetArtifacts(runtrack::StoreLayout layout) : layout_(std::move(layout)) {}
  runtrack::Result<std::vector<runtrack::ArtifactSummary>> ListArtifacts(
      std::optional<runtrack::ArtifactType> type) override;
  runtrack::Result<std::vector<runtrack::ArtifactVersionInfo>> ListVersions(std::string_view name) override;
  runtrack::Result<runtrack::ArtifactVersionInfo> GetVersion(std::string_view name, int version) override;
  runtrack::Result<runtrack::ArtifactHandle> Use(std::string_view spec, std::string_view using_run_id) override;
  runtrack::Result<runtrack::ArtifactVersionInfo> Log(const runtrack::Artifact& artifact,
                                                      std::string_view producing_run_id) override;

 private:
  runtrack::StoreLayout layout_;
};

}  // namespace runicorn::service

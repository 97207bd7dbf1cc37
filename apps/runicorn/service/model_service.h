// Models of the training service API (GET /api/v1/models, POST /api/v1/generate): every ready
// version of a `model` artifact, whether a training job (training_service.h) or an SDK user
// logged it. A model id is its artifact version, "NAME:vN"; the API's model_path takes an id,
// "NAME" (its latest version) or nothing (the newest model a training job produced).
//
// Generation runs the configured generator command (LlmServiceConfig) once per request:
//   /bin/sh -c "cd <config dir> && exec <generator> REQUEST.json RESPONSE.json"
// REQUEST: {"model_dir", "prompts": [...], "max_length", "temperature", "top_p", "top_k",
// "num_return_sequences", "seed" (null: random)}; RESPONSE: {"generated_texts": [[...] per prompt]}
// with num_return_sequences strings each. The model's files are unpacked once into
// StoreLayout::model_cache_dir(). The child runs in its own process group with a clean signal
// mask; past the timeout the group is killed (Busy). With a GenerationGate, the generator runs
// only once the gate lets it in (generation_gate.h), so a burst of requests cannot start more
// processes than the server is configured for.
//
// Usage (usage_count, last_used) is kept per model version next to its unpacked files.
//
// Thread safety: every method may be called from any number of threads at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtrack/layout.h"
#include "runtrack/status.h"
#include "service/dataset_artifacts.h"

namespace runicorn::service {

struct LlmServiceConfig;
class GenerationGate;

// The training config recorded with a trained model (absent values were not recorded).
struct ModelTrainingConfig {
  std::optional<double> learning_rate;
  std::optional<int64_t> batch_size, num_epochs, lora_r, lora_alpha;
  std::optional<double> lora_dropout;
  std::optional<std::string> quantization;
};

struct ModelInfo {
  std::string id;           // "NAME:vN"
  std::string name;
  std::string path;         // = id: what model_path accepts
  std::optional<std::string> base_model;
  double created_at = 0;
  uint64_t size_bytes = 0;
  std::string description;
  std::string task_id;      // the training job; empty for models logged otherwise
  std::string dataset;
  ModelTrainingConfig training_config;
  std::map<std::string, double> metrics;  // the training run's final values
  std::optional<double> last_used;
  uint64_t usage_count = 0;
};

struct GenerateRequest {
  std::vector<std::string> prompts;
  std::optional<std::string> model_path;
  int64_t max_length = 100;
  double temperature = 0.7;
  double top_p = 0.9;
  int64_t top_k = 50;
  int64_t num_return_sequences = 1;
  std::optional<uint64_t> seed;
};

struct GenerateResult {
  std::string model_path;                            // the model id used
  std::vector<std::vector<std::string>> texts;       // per prompt
  double seconds = 0;
};

class ModelService {
 public:
  static constexpr size_t kMaxPrompts = 64;
  static constexpr size_t kMaxPromptBytes = 16384;

  // `artifacts` null: this store's own (LocalDatasetArtifacts over `layout`); the viewer passes
  // the team's catalog and bucket with `--catalog … --objects …`. The unpacked files and usage
  // statistics stay in `layout`'s model cache either way.
  explicit ModelService(runtrack::StoreLayout layout, std::shared_ptr<DatasetArtifacts> artifacts = nullptr)
      : layout_(std::move(layout)),
        artifacts_(artifacts ? std::move(artifacts) : std::make_shared<LocalDatasetArtifacts>(layout_)) {}

  // Every ready model version, newest first.
  runtrack::Result<std::vector<ModelInfo>> List();
  // NotFound "Model not found: ID"; InvalidArgument for a malformed id.
  runtrack::Result<ModelInfo> Get(const std::string& id);
  // "NAME:vN", "NAME" (latest version) or empty (newest trained model; NotFound when none).
  runtrack::Result<ModelInfo> Resolve(const std::string& spec);
  // InvalidArgument for values out of range (message names the field: see ValidateGenerate);
  // Busy without a generator or past the timeout; Internal when the generator fails. With a
  // `gate`: Busy when it refuses, with `*retry_after_seconds` set (> 0) for that case only.
  runtrack::Result<GenerateResult> Generate(const GenerateRequest& request, const LlmServiceConfig& config,
                                            GenerationGate* gate = nullptr, int* retry_after_seconds = nullptr);

 private:
  runtrack::Status RecordUse(const std::string& id);
  runtrack::Result<std::string> Unpack(const ModelInfo& model);

  runtrack::StoreLayout layout_;
  std::shared_ptr<DatasetArtifacts> artifacts_;
};

// The first field of `r` out of range as (field, message), or nullopt.
std::optional<std::pair<std::string, std::string>> ValidateGenerate(const GenerateRequest& r);

}  // namespace runicorn::service

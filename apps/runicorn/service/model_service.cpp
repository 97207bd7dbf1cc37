#include "service/model_service.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <cmath>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "runtrack/artifacts.h"
#include "runtrack/json_parse.h"
#include "service/generation_gate.h"
#include "service/training_service.h"
#include "service/text_file.h"

extern char** environ;

namespace runicorn::service {
namespace fs = std::filesystem;
namespace json = boost::json;
using runtrack::Result;
using runtrack::Status;

namespace {

// Serialises unpacking and usage updates within the process (the viewer is the only writer).
std::mutex& CacheMutex() {
  static std::mutex mu;
  return mu;
}

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string ShellQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// "NAME:vN" -> (NAME, N).
Result<std::pair<std::string, int>> ParseModelId(std::string_view id) {
  auto bad = [&] {
    return Status::InvalidArgument(fmt::format("Invalid model id '{}': expected NAME:vN", id.substr(0, 200)));
  };
  size_t colon = id.rfind(":v");
  if (colon == std::string_view::npos || colon == 0) return bad();
  std::string_view digits = id.substr(colon + 2);
  if (digits.empty() || digits.size() > 9 || digits[0] == '0' ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return bad();
  std::string name(id.substr(0, colon));
  if (!runtrack::ValidateArtifactName(name).ok()) return bad();
  return std::make_pair(std::move(name), std::stoi(std::string(digits)));
}

template <typename T>
std::optional<T> Num(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->to_number<T>();
}

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// The cache folder of one model version: its name cannot contain '/' or ':' (artifact names
// cannot), so "NAME:vN" is one path component inside model_cache_dir().
fs::path CacheDir(const runtrack::StoreLayout& layout, const std::string& id) { return layout.model_cache_dir() / id; }

ModelInfo ToInfo(const runtrack::ArtifactVersionInfo& v, const runtrack::StoreLayout& layout) {
  ModelInfo m;
  m.id = fmt::format("{}:v{}", v.name, v.version);
  m.name = v.name;
  m.path = m.id;
  m.created_at = v.created_at;
  m.size_bytes = v.size_bytes;
  m.description = v.description;
  const json::object& md = v.metadata;
  m.task_id = Str(md, "task_id");
  m.dataset = Str(md, "dataset");
  if (const json::value* b = md.if_contains("base_model"); b != nullptr && b->is_string())
    m.base_model = std::string(b->as_string());
  if (const json::value* tc = md.if_contains("training_config"); tc != nullptr && tc->is_object()) {
    const json::object& c = tc->as_object();
    m.training_config.learning_rate = Num<double>(c, "learning_rate");
    m.training_config.batch_size = Num<int64_t>(c, "batch_size");
    m.training_config.num_epochs = Num<int64_t>(c, "num_epochs");
    m.training_config.lora_r = Num<int64_t>(c, "lora_r");
    m.training_config.lora_alpha = Num<int64_t>(c, "lora_alpha");
    m.training_config.lora_dropout = Num<double>(c, "lora_dropout");
    if (std::string q = Str(c, "quantization"); !q.empty()) m.training_config.quantization = q;
  }
  if (const json::value* ms = md.if_contains("metrics"); ms != nullptr && ms->is_object())
    for (const auto& [k, val] : ms->as_object())
      if (val.is_number()) m.metrics[std::string(k)] = val.to_number<double>();
  if (auto usage = ReadTextFile(CacheDir(layout, m.id) / "usage.json"); usage.ok()) {
    boost::system::error_code ec;
    json::value u = runtrack::ParseJson(*usage, ec);
    if (!ec && u.is_object()) {
      m.usage_count = Num<uint64_t>(u.as_object(), "usage_count").value_or(0);
      m.last_used = Num<double>(u.as_object(), "last_used");
    }
  }
  return m;
}

// Runs `command` with /bin/sh in its own process group, output to `log`; kills the group after
// `timeout`. Returns the exit status (waitpid's), or Busy on timeout.
Result<int> RunCommand(const std::string& command, const fs::path& log, std::chrono::seconds timeout) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  // The viewer blocks SIGTERM/SIGINT in every thread (it sigwaits); the child must not inherit that.
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::Internal(fmt::format("cannot start the generator: {}", std::strerror(rc)));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return Status::Internal(fmt::format("waitpid: {}", std::strerror(errno)));
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return Status::Busy(fmt::format("generation took longer than {} s and was stopped", timeout.count()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string Tail(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(s.size() - n); }

}  // namespace

std::optional<std::pair<std::string, std::string>> ValidateGenerate(const GenerateRequest& r) {
  if (r.max_length < 1 || r.max_length > 4096) return std::make_pair("max_length", "max_length must be in [1, 4096]");
  if (!std::isfinite(r.temperature) || r.temperature < 0 || r.temperature > 10)
    return std::make_pair("temperature", "temperature must be in [0, 10]");
  if (!std::isfinite(r.top_p) || r.top_p <= 0 || r.top_p > 1) return std::make_pair("top_p", "top_p must be in (0, 1]");
  if (r.top_k < 0 || r.top_k > 100000) return std::make_pair("top_k", "top_k must be in [0, 100000] (0: off)");
  if (r.num_return_sequences < 1 || r.num_return_sequences > 16)
    return std::make_pair("num_return_sequences", "num_return_sequences must be in [1, 16]");
  return std::nullopt;
}

Result<std::vector<ModelInfo>> ModelService::List() {
  auto names = artifacts_->ListArtifacts(runtrack::ArtifactType::kModel);
  if (!names.ok()) return names.status();
  std::vector<ModelInfo> out;
  for (const auto& n : *names) {
    auto versions = artifacts_->ListVersions(n.name);
    if (!versions.ok()) return versions.status();
    for (const auto& v : *versions)
      if (v.status == "ready") out.push_back(ToInfo(v, layout_));
  }
  std::stable_sort(out.begin(), out.end(), [](const ModelInfo& a, const ModelInfo& b) { return a.created_at > b.created_at; });
  return out;
}

Result<ModelInfo> ModelService::Get(const std::string& id) {
  auto parsed = ParseModelId(id);
  if (!parsed.ok()) return parsed.status();
  auto v = artifacts_->GetVersion(parsed->first, parsed->second);
  if (!v.ok() || v->type != runtrack::ArtifactType::kModel || v->status != "ready") {
    if (v.ok() || v.status().code() == runtrack::StatusCode::kNotFound)
      return Status::NotFound(fmt::format("Model not found: {}", id));
    return v.status();
  }
  return ToInfo(*v, layout_);
}

Result<ModelInfo> ModelService::Resolve(const std::string& spec) {
  if (spec.find(":v") != std::string::npos) return Get(spec);
  auto all = List();
  if (!all.ok()) return all.status();
  if (spec.empty()) {
    for (const auto& m : *all)
      if (!m.task_id.empty()) return m;
    return Status::NotFound("No trained model yet: train one with POST /api/v1/train or give model_path");
  }
  if (Status s = runtrack::ValidateArtifactName(spec); !s.ok())
    return Status::InvalidArgument(fmt::format("Invalid model '{}': {}", spec.substr(0, 200), s.message()));
  for (const auto& m : *all)
    if (m.name == spec) return m;  // newest first
  return Status::NotFound(fmt::format("Model not found: {}", spec));
}

Result<std::string> ModelService::Unpack(const ModelInfo& model) {
  const fs::path dir = CacheDir(layout_, model.id);
  const fs::path files = dir / "files";
  std::lock_guard<std::mutex> lock(CacheMutex());
  std::error_code ec;
  if (fs::exists(files, ec)) return files.string();
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  auto handle = artifacts_->Use(model.id, "");
  if (!handle.ok()) return handle.status();
  // Complete or absent: unpacked beside, then renamed into place.
  const fs::path partial = dir / "files.partial";
  fs::remove_all(partial, ec);
  if (Status s = handle->Download(partial); !s.ok()) return s;
  fs::rename(partial, files, ec);
  if (ec) return Status::IOError(fmt::format("cannot rename {}: {}", partial.string(), ec.message()));
  return files.string();
}

Status ModelService::RecordUse(const std::string& id) {
  const fs::path dir = CacheDir(layout_, id);
  std::lock_guard<std::mutex> lock(CacheMutex());
  uint64_t count = 0;
  if (auto usage = ReadTextFile(dir / "usage.json"); usage.ok()) {
    boost::system::error_code ec;
    json::value u = runtrack::ParseJson(*usage, ec);
    if (!ec && u.is_object()) count = Num<uint64_t>(u.as_object(), "usage_count").value_or(0);
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  return WriteTextFileAtomic(dir / "usage.json",
                   json::serialize(json::object{{"usage_count", count + 1}, {"last_used", Now()}}));
}

Result<GenerateResult> ModelService::Generate(const GenerateRequest& req, const LlmServiceConfig& config,
                                              GenerationGate* gate, int* retry_after_seconds) {
  if (auto bad = ValidateGenerate(req)) return Status::InvalidArgument(bad->second);
  if (config.generator.empty())
    return Status::Busy("No generator is configured: start the viewer with --llm-service FILE");
  std::optional<GenerationGate::Slot> slot;  // held until the generator is done
  if (gate != nullptr) {
    auto entered = gate->Enter(retry_after_seconds);
    if (!entered.ok()) return entered.status();
    slot.emplace(std::move(*entered));
  }
  auto model = Resolve(req.model_path.value_or(""));
  if (!model.ok()) return model.status();
  auto model_dir = Unpack(*model);
  if (!model_dir.ok()) return model_dir.status();

  std::string pattern = (fs::temp_directory_path() / "runicorn-generate-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) return Status::IOError("cannot create a temporary folder");
  const fs::path scratch(pattern);
  struct Cleanup {
    fs::path p;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } cleanup{scratch};
  json::array prompts;
  for (const auto& p : req.prompts) prompts.emplace_back(p);
  json::object request{{"model_dir", *model_dir},
                       {"prompts", prompts},
                       {"max_length", req.max_length},
                       {"temperature", req.temperature},
                       {"top_p", req.top_p},
                       {"top_k", req.top_k},
                       {"num_return_sequences", req.num_return_sequences},
                       {"seed", req.seed ? json::value(*req.seed) : json::value()}};
  if (Status s = WriteTextFileAtomic(scratch / "request.json", json::serialize(request)); !s.ok()) return s;
  const std::string command = fmt::format("cd {} && exec {} {} {}", ShellQuote(config.dir.string()), config.generator,
                                          ShellQuote((scratch / "request.json").string()),
                                          ShellQuote((scratch / "response.json").string()));
  const auto start = std::chrono::steady_clock::now();
  auto exit = RunCommand(command, scratch / "generator.log", std::chrono::seconds(config.generate_timeout_seconds));
  if (!exit.ok()) return exit.status();
  GenerateResult out;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto log = ReadTextFile(scratch / "generator.log");
  if (!WIFEXITED(*exit) || WEXITSTATUS(*exit) != 0)
    return Status::Internal(fmt::format("the generator failed (wait status {}): {}", *exit,
                                        Tail(log.ok() ? *log : std::string(), 2000)));
  auto text = ReadTextFile(scratch / "response.json");
  if (!text.ok()) return Status::Internal("the generator wrote no response file");
  boost::system::error_code ec;
  json::value v = runtrack::ParseJson(*text, ec);
  const json::value* texts = !ec && v.is_object() ? v.as_object().if_contains("generated_texts") : nullptr;
  if (texts == nullptr || !texts->is_array() || texts->as_array().size() != req.prompts.size())
    return Status::Internal("the generator's response has no generated_texts list per prompt");
  for (const auto& per_prompt : texts->as_array()) {
    if (!per_prompt.is_array() || per_prompt.as_array().size() != static_cast<size_t>(req.num_return_sequences))
      return Status::Internal("the generator's response has the wrong number of sequences for a prompt");
    std::vector<std::string> seqs;
    for (const auto& t : per_prompt.as_array()) {
      if (!t.is_string()) return Status::Internal("the generator's response holds a non-string text");
      seqs.emplace_back(t.as_string());
    }
    out.texts.push_back(std::move(seqs));
  }
  out.model_path = model->id;
  (void)RecordUse(model->id);  // usage statistics are best effort
  return out;
}

}  // namespace runicorn::service

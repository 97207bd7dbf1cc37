// Writes a small Runicorn store in Runicorn's own on-disk formats (notes §1.4, §1.5, §2.1-§2.7),
// both layouts, with every case the importer must handle, and remembers what a faithful import
// must return. Numbers are printed the way Python's json module prints them (repr: shortest
// round-trip text, "2.0" for integral floats, bare NaN / Infinity / -Infinity).
#pragma once

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "artifacts/sha256.h"

namespace runtrack::testing {

namespace fs = std::filesystem;

// Python's repr(float) as json.dumps writes it.
inline std::string PyFloat(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

inline void WriteText(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

struct ExpectedPoint {
  std::string metric;
  int64_t step;
  double wall_time;
  double value;
  std::string stage;
};

struct ExpectedRun {
  std::string id, project, name, status, exit_reason, hostname;
  double created_at = 0;
  std::optional<double> ended_at, deleted_at;
  std::vector<std::string> tags;
  std::string config_json = "{}";   // values exactly representable, compared after parsing
  std::string summary_json = "{}";
  std::vector<ExpectedPoint> points;  // in logging order
  std::string logs;
  std::map<std::string, std::string> media;  // file name -> bytes
  int produced = 0, used = 0;
};

struct ExpectedArtifactFile {
  std::string path, bytes;
};

class RunicornFixture {
 public:
  static constexpr const char* kRunA = "20250114_153045_a1b2c3";  // v0.5, finished, rich events
  static constexpr const char* kRunB = "20250114_160000_0000aa";  // v0.5, failed, soft-deleted
  static constexpr const char* kRunC = "20260101_120000_bbbbbb";  // v0.6 path cv/resnet, running
  static constexpr const char* kRunD = "20260101_120500_cccccc";  // v0.6 root path, logs only

  explicit RunicornFixture(const fs::path& root) : root_(root) {
    WriteRunA();
    WriteRunB();
    WriteRunC();
    WriteRunD();
    WriteUnimportable();
    WriteArtifacts();
  }

  const fs::path& root() const { return root_; }
  std::map<std::string, ExpectedRun> runs;
  std::vector<ExpectedArtifactFile> toy_model_v1_files;
  std::string toy_model_v3_bytes, toy_dataset_v1_bytes;
  std::string code_bytes = "PK\x03\x04 pretend zip of the workspace";
  std::string output_bytes = "weights!!";
  std::map<std::string, std::string> dataset_files = {{"train/a.csv", "x,y\n1,2\n"}, {"labels.txt", "cat\ndog\n"}};
  std::string image_bytes = std::string("\x89PNG\r\n\x1a\n", 8) + std::string("fake image body \0 with a NUL", 29);

 private:
  // One metrics event as Runicorn's Run.log writes it, recording the points it must yield.
  std::string Metrics(ExpectedRun& run, double ts, int64_t step, const std::vector<std::pair<std::string, double>>& values,
                      const std::string& stage, const std::string& extra = "") {
    std::string data;
    for (const auto& [k, v] : values) {
      data += fmt::format("\"{}\": {}, ", k, PyFloat(v));
      run.points.push_back({k, step, ts, v, stage});
    }
    data += extra;
    data += fmt::format("\"global_step\": {}, \"time\": {}", step, PyFloat(ts));
    if (!stage.empty()) data += fmt::format(", \"stage\": \"{}\"", stage);
    return fmt::format("{{\"ts\": {}, \"type\": \"metrics\", \"data\": {{{}}}}}\n", PyFloat(ts), data);
  }

  double RandomValue() {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::uniform_int_distribution<int> exponent(-12, 12);
    return unit(rng_) * std::pow(10.0, exponent(rng_));
  }

  void WriteRunA() {
    ExpectedRun r;
    r.id = kRunA;
    r.project = "nlp";
    r.name = "bert";
    r.status = "finished";
    r.hostname = "gpu-node-1";
    r.created_at = 1736868645.123456;
    r.ended_at = 1736869000.5;
    fs::path dir = root_ / "nlp" / "bert" / "runs" / kRunA;
    WriteText(dir / "meta.json", fmt::format(
        "{{\n  \"id\": \"{}\",\n  \"project\": \"nlp\",\n  \"name\": \"bert\",\n  \"created_at\": {},\n"
        "  \"python\": \"3.11.7\",\n  \"platform\": \"Linux 6.1 (x86_64)\",\n  \"hostname\": \"gpu-node-1\",\n"
        "  \"pid\": 4242,\n  \"storage_dir\": \"/data/runicorn\"\n}}",
        kRunA, PyFloat(r.created_at)));
    WriteText(dir / "status.json", "{\n  \"status\": \"finished\",\n  \"started_at\": 1736868645.2,\n  \"ended_at\": 1736869000.5\n}");
    WriteText(dir / "summary.json",
              "{\n  \"epochs\": 10,\n  \"note\": \"run 4\",\n  \"best_metric_value\": 0.5,\n  \"best_metric_name\": \"acc\",\n"
              "  \"best_metric_step\": 7,\n  \"best_metric_mode\": \"max\"\n}");
    WriteText(dir / "environment.json", "{\"python_version\": \"3.11.7\", \"platform\": \"Linux\", \"pip_packages\": [\"torch==2.1\"]}");
    r.summary_json = "{\"epochs\":10,\"note\":\"run 4\",\"best_metric_value\":0.5,\"best_metric_name\":\"acc\","
                     "\"best_metric_step\":7,\"best_metric_mode\":\"max\",\"environment\":{\"python_version\":\"3.11.7\","
                     "\"platform\":\"Linux\",\"pip_packages\":[\"torch==2.1\"]}}";
    std::string events;
    double ts = 1736868646.0;
    for (int64_t step = 1; step <= 120; ++step) {
      ts += 0.013;
      double loss = RandomValue();
      if (step == 17) loss = std::numeric_limits<double>::quiet_NaN();
      if (step == 18) loss = std::numeric_limits<double>::infinity();
      if (step == 19) loss = -std::numeric_limits<double>::infinity();
      if (step == 20) loss = -0.0;
      if (step == 21) loss = 5e-324;
      if (step == 22) loss = 1.7976931348623157e308;
      std::string extra = step == 3 ? "\"phase\": \"warmup\", \"is_best\": true, " : "";
      events += Metrics(r, ts, step, {{"loss", loss}, {"acc", RandomValue()}}, "train", extra);
      if (step == 3) r.points.push_back({"is_best", 3, ts, 1.0, "train"});
      if (step % 40 == 0) events += Metrics(r, ts + 0.001, step, {{"val_loss", RandomValue()}}, "eval");
      if (step == 50) {  // the same step logged again: both stored, the later wins on read
        events += Metrics(r, ts + 0.002, 50, {{"loss", 0.25}}, "train");
      }
    }
    events += Metrics(r, ts + 0.5, 121, {{"epoch", 3}}, "");  // an int, no stage
    events += fmt::format("{{\"ts\": {}, \"type\": \"image\", \"data\": {{\"key\": \"sample\", \"path\": "
                          "\"media/1736868646013_abcdef_sample.png\", \"step\": 5, \"caption\": \"a cat\"}}}}\n",
                          PyFloat(ts + 0.6));
    events += "this line is not json\n";
    events += "{\"ts\": 1736868700.1, \"type\": \"metrics\", \"data\": {\"loss\": 0.1";  // torn last line
    WriteText(dir / "events.jsonl", events);
    r.logs = "15:30:46 | starting\n[15:30:47] epoch 1 ✓ ünïcode\n15:30:48 | INFO | train | done\n";
    WriteText(dir / "logs.txt", r.logs);
    WriteText(dir / "media" / "1736868646013_abcdef_sample.png", image_bytes);
    r.media["1736868646013_abcdef_sample.png"] = image_bytes;
    WriteText(dir / "artifacts_created.json",
              "{\"artifacts\": [{\"name\": \"toy-model\", \"type\": \"model\", \"version\": 1, \"created_at\": 1736868700.25, "
              "\"size_bytes\": 10, \"num_files\": 2, \"num_references\": 1}]}");
    r.produced = 1;
    runs[r.id] = std::move(r);
  }

  void WriteRunB() {
    ExpectedRun r;
    r.id = kRunB;
    r.project = "nlp";
    r.name = "bert";
    r.status = "failed";
    r.exit_reason = "process_not_found";
    r.created_at = 1736870400.75;
    r.ended_at = 1736870500.0;
    r.deleted_at = 1736900000.5;
    fs::path dir = root_ / "nlp" / "bert" / "runs" / kRunB;
    WriteText(dir / "meta.json", fmt::format("{{\"id\": \"{}\", \"project\": \"nlp\", \"name\": \"bert\", \"created_at\": {}}}",
                                             kRunB, PyFloat(r.created_at)));
    WriteText(dir / "status.json", "{\"status\": \"failed\", \"started_at\": 1736870400.8, \"ended_at\": 1736870500.0, "
                                   "\"exit_reason\": \"process_not_found\"}");
    WriteText(dir / "summary.json", "{\"a\": 1, \"b");  // half-written
    WriteText(dir / ".deleted", "{\"deleted_at\": 1736900000.5, \"reason\": \"user\", \"original_status\": \"failed\"}");
    std::string events;
    for (int64_t step = 1; step <= 5; ++step)
      events += Metrics(r, 1736870401.0 + step, step, {{"loss", 1.0 / step}}, "");
    WriteText(dir / "events.jsonl", events);
    WriteText(dir / "artifacts_used.json",
              "{\"artifacts\": [{\"name\": \"toy-model\", \"type\": \"model\", \"version\": 1, \"used_at\": 1736870402.0}, "
              "{\"name\": \"toy-dataset\", \"type\": \"dataset\", \"version\": 1, \"used_at\": 1736870402.5}]}");
    r.used = 2;
    runs[r.id] = std::move(r);
  }

  void WriteRunC() {
    ExpectedRun r;
    r.id = kRunC;
    r.project = "cv";
    r.name = "resnet";
    r.status = "failed";  // "running" in the source, with no live process
    r.exit_reason = "process_not_found";
    r.created_at = 1767268800.5;
    r.tags = {"baseline", "r50"};
    fs::path dir = root_ / "runs" / "cv" / "resnet" / kRunC;
    WriteText(dir / "meta.json", fmt::format("{{\"id\": \"{}\", \"path\": \"cv/resnet\", \"alias\": \"r50\", \"created_at\": {}, "
                                             "\"hostname\": \"box\", \"pid\": 7, \"tags\": [\"baseline\", \"r50\"]}}",
                                             kRunC, PyFloat(r.created_at)));
    r.hostname = "box";
    WriteText(dir / "status.json", "{\"status\": \"running\", \"started_at\": 1767268800.6}");
    WriteArchive();
    WriteText(dir / "assets.json", fmt::format(
        "{{\"code\": {{\"snapshot\": {{\"saved\": true, \"workspace_root\": \"/home/u/proj\", \"format\": \"zip\", "
        "\"created_at\": 1767268800, \"archive_path\": \"{old}/archive/blobs/{c2}/{c}\", \"fingerprint_kind\": \"sha256\", "
        "\"fingerprint\": \"{c}\"}}}}, "
        "\"config\": {{\"args\": {{\"lr\": 0.125, \"batch\": 64}}, \"extra\": {{}}, \"config_files\": []}}, "
        "\"datasets\": [{dataset}, {{\"name\": \"remote-set\", \"context\": \"eval\", \"uri\": \"s3://bucket/set\", "
        "\"description\": null, \"saved\": false, \"fingerprint\": null}}], "
        "\"pretrained\": [{{\"name\": \"bert-base\", \"source_type\": \"hf\", \"path_or_uri\": \"hf://bert-base\", "
        "\"description\": null, \"saved\": false}}], "
        "\"outputs\": [{{\"key\": \"out/model.pt\", \"name\": \"model.pt\", \"kind\": \"file\", \"path\": \"./out/model.pt\", "
        "\"saved\": true, \"archive_path\": \"{old}/archive/outputs/rolling/{run}/0123abcd_model.pt\", \"fingerprint_kind\": \"stat\", "
        "\"fingerprint\": \"mtime-1-size-9\", \"mode\": \"rolling\", \"archived_at\": 1767268900}}, "
        "{{\"key\": \"evil\", \"name\": \"evil\", \"kind\": \"file\", \"path\": \"./evil\", \"saved\": true, "
        "\"archive_path\": \"/x/archive/../../etc/passwd\", \"fingerprint_kind\": \"sha256\", \"fingerprint\": \"ff\"}}]}}",
        fmt::arg("old", "/home/u/.runicorn"), fmt::arg("c", code_sha), fmt::arg("c2", code_sha.substr(0, 2)),
        fmt::arg("dataset", dataset_entry), fmt::arg("run", kRunC)));
    r.produced = 2;  // code-cv v1, model.pt v1
    r.used = 3;      // imagenet-mini v1, remote-set v1, bert-base v1
    r.config_json = "{\"args\":{\"lr\":0.125,\"batch\":64},\"extra\":{},\"config_files\":[]}";
    std::string events;
    events += Metrics(r, 1767268801.25, 1, {{"top1", 0.125}, {"grad_norm", std::numeric_limits<double>::quiet_NaN()}}, "train");
    events += Metrics(r, 1767268802.25, 2, {{"top1", 0.25}}, "val");
    events += Metrics(r, 1767268803.25, 2, {{"top1", 0.375}}, "train");  // repeated step, another stage
    WriteText(dir / "events.jsonl", events);
    r.ended_at = 1767268803.25;  // the last wall time seen
    fs::create_directories(dir / "media");
    fs::create_symlink("/etc/hostname", dir / "media" / "escape.png");
    runs[r.id] = std::move(r);
  }

  void WriteRunD() {
    ExpectedRun r;
    r.id = kRunD;
    r.project = "default";
    r.name = "default";
    r.status = "finished";
    r.created_at = 1767269100.0;
    r.ended_at = 1767269200.0;
    fs::path dir = root_ / "runs" / kRunD;
    WriteText(dir / "meta.json", fmt::format("{{\"id\": \"{}\", \"path\": \"\", \"created_at\": 1767269100.0}}", kRunD));
    WriteText(dir / "status.json", "{\"status\": \"finished\", \"started_at\": 1767269100.1, \"ended_at\": 1767269200.0}");
    r.logs = "[12:05:00] Progress: 100%\n[12:05:01] no trailing newline";
    WriteText(dir / "assets.json", "{\"datasets\": [" + dataset_entry + "]}");  // the same dataset as run C
    r.used = 1;
    WriteText(dir / "logs.txt", r.logs);
    runs[r.id] = std::move(r);
  }

  // archive/ as Runicorn v0.6 writes it (notes §2.6): blobs named by SHA-256, a directory manifest,
  // a rolling output copy.
  void WriteArchive() {
    fs::path archive = root_ / "archive";
    code_sha = artifacts::Sha256Hex(code_bytes);
    WriteText(archive / "blobs" / code_sha.substr(0, 2) / code_sha, code_bytes);
    std::string files, fp_input;
    for (const auto& [rel, bytes] : dataset_files) {
      std::string sha = artifacts::Sha256Hex(bytes);
      WriteText(archive / "blobs" / sha.substr(0, 2) / sha, bytes);
      files += fmt::format("{}\"{}\": {{\"sha256\": \"{}\", \"size_bytes\": {}}}", files.empty() ? "" : ", ", rel, sha, bytes.size());
      fp_input += rel + std::string(1, '\0') + sha + std::string(1, '\0');
    }
    std::string fp = artifacts::Sha256Hex(fp_input);
    WriteText(archive / "manifests" / "dataset" / fp.substr(0, 2) / (fp + ".json"),
              fmt::format("{{\"created_at\": 1767268700.5, \"source_path\": \"/data/imagenet-mini\", \"fingerprint\": \"{}\", "
                          "\"total_size_bytes\": 0, \"file_count\": 2, \"files\": {{{}}}}}", fp, files));
    dataset_entry = fmt::format(
        "{{\"name\": \"imagenet-mini\", \"context\": \"train\", \"uri\": \"/data/imagenet-mini\", \"description\": \"tiny\", "
        "\"saved\": true, \"fingerprint\": \"{fp}\", \"fingerprint_kind\": \"sha256_manifest\", "
        "\"archive_path\": \"/home/u/.runicorn/archive/manifests/dataset/{fp2}/{fp}.json\", \"created_at\": 1767268700.5}}",
        fmt::arg("fp", fp), fmt::arg("fp2", fp.substr(0, 2)));
    WriteText(archive / "outputs" / "rolling" / kRunC / "0123abcd_model.pt", output_bytes);
  }

 public:
  std::string code_sha, dataset_entry;

 private:
  void WriteUnimportable() {
    // A custom run id (Runicorn never validated run_id) that our id rule refuses.
    WriteText(root_ / "runs" / "exp" / "my-custom-run" / "meta.json", "{\"id\": \"my-custom-run\"}");
    // A run folder that is a symbolic link to a run outside the store.
    fs::path outside = root_.parent_path() / (root_.filename().string() + "-outside") / "20250101_000000_eeeeee";
    WriteText(outside / "meta.json", "{\"id\": \"20250101_000000_eeeeee\"}");
    fs::create_symlink(outside, root_ / "runs" / "20250101_000000_eeeeee");
    // The same id as run D in the v0.5 layout: the v0.6 folder is found first and wins.
    WriteText(root_ / "old" / "proj" / "runs" / kRunD / "meta.json", "{\"id\": \"duplicate\"}");
  }

  std::string RandomBytes(size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng_() & 0xFF);
    return s;
  }

  static std::string Digest(const std::string& bytes) { return "sha256:" + artifacts::Sha256Hex(bytes); }

  void WriteVersion(const fs::path& dir, const std::string& metadata, const std::vector<ExpectedArtifactFile>& files,
                    const std::string& references, const std::vector<std::string>& wrong_digest = {}) {
    WriteText(dir / "metadata.json", metadata);
    std::string list;
    for (const auto& f : files) {
      WriteText(dir / "files" / f.path, f.bytes);
      bool wrong = std::find(wrong_digest.begin(), wrong_digest.end(), f.path) != wrong_digest.end();
      list += fmt::format("{}{{\"path\": \"{}\", \"size\": {}, \"digest\": \"{}\", \"modified_at\": 1736868700.0}}",
                          list.empty() ? "" : ", ", f.path, f.bytes.size(), wrong ? Digest("other") : Digest(f.bytes));
    }
    WriteText(dir / "manifest.json", fmt::format("{{\"files\": [{}], \"references\": [{}], \"total_size\": 0, "
                                                 "\"total_files\": {}, \"total_references\": 0, \"created_at\": 1.0}}",
                                                 list, references, files.size()));
  }

  void WriteArtifacts() {
    fs::path model = root_ / "artifacts" / "model" / "toy-model";
    WriteText(model / "versions.json",
              "{\"artifact_name\": \"toy-model\", \"artifact_type\": \"model\", \"versions\": [], "
              "\"aliases\": {\"latest\": 3, \"best\": 1}, \"created_at\": 1.0, \"updated_at\": 2.0}");
    WriteText(model / ".lock", "");
    toy_model_v1_files = {{"model.bin", RandomBytes(300 * 1024)}, {"sub/config.json", "{\"layers\": 12}"}};
    WriteVersion(model / "v1",
                 fmt::format("{{\"name\": \"toy-model\", \"type\": \"model\", \"version\": 1, \"created_at\": 1736868700.25, "
                             "\"created_by_run\": \"{}\", \"description\": \"first model\", \"metadata\": {{\"acc\": 0.5, "
                             "\"layers\": 12}}, \"tags\": [\"baseline\"], \"aliases\": [\"latest\"], \"status\": \"ready\"}}",
                             kRunA),
                 toy_model_v1_files, "{\"uri\": \"s3://bucket/weights.tar\", \"checksum\": \"md5:abc\", \"size\": 12, \"metadata\": {}}");
    // v2 was permanently deleted in Runicorn: its folder is gone.
    toy_model_v3_bytes = RandomBytes(1000);
    WriteVersion(model / "v3",
                 "{\"name\": \"toy-model\", \"type\": \"model\", \"version\": 3, \"created_at\": 1736868800.5, "
                 "\"created_by_run\": null, \"description\": \"third\", \"metadata\": {}, \"tags\": [], "
                 "\"aliases\": [\"latest\", \"production\"], \"lifecycle_stage\": \"production\"}",
                 {{"model.bin", toy_model_v3_bytes}}, "");
    // v4's file does not match its manifest digest: not imported.
    WriteVersion(model / "v4", "{\"created_at\": 1736868900.0}", {{"model.bin", "tampered"}}, "", {"model.bin"});

    fs::path dataset = root_ / "artifacts" / "dataset" / "toy-dataset";
    toy_dataset_v1_bytes = "id,label\n1,cat\n2,dog\n";
    WriteVersion(dataset / "v1", "{\"created_at\": 1736868600.0, \"description\": \"shared toy dataset\"}",
                 {{"train.csv", toy_dataset_v1_bytes}}, "");
    WriteVersion(dataset / "v2", "{\"created_at\": 1736868650.0}", {{"train.csv", "id,label\n"}}, "");
    WriteText(dataset / "v2" / ".deleted", "{\"deleted_at\": 1736868660.0, \"deleted_by\": \"user\"}");

    // A name our store refuses ("..").
    WriteVersion(root_ / "artifacts" / "model" / "bad..name" / "v1", "{}", {{"x.bin", "x"}}, "");
  }

  fs::path root_;
  std::mt19937_64 rng_{20251203};
};

}  // namespace runtrack::testing

#include "service/dataset_service.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <random>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <openssl/rand.h>

#include "runtrack/artifacts.h"
#include "runtrack/json_parse.h"

namespace runicorn::service {
namespace fs = std::filesystem;
namespace json = boost::json;
using runtrack::Result;
using runtrack::Status;

namespace {

using Row = json::object;

Status Invalid(FieldError* error, std::string field, std::string reason, std::string message) {
  if (error != nullptr) *error = FieldError{std::move(field), std::move(reason)};
  return Status::InvalidArgument(std::move(message));
}

// A private temporary folder for the files handed to ArtifactStore::Log; removed on destruction.
// Its name comes from mkdtemp, never from a request.
class ScratchDir {
 public:
  static Result<ScratchDir> Create() {
    std::string pattern = (fs::temp_directory_path() / "runicorn-v1-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return Status::IOError("cannot create a temporary folder");
    return ScratchDir(pattern);
  }
  ScratchDir(ScratchDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  Result<fs::path> Write(const std::string& file_name, std::string_view content) const {
    fs::path p = path_ / file_name;
    std::ofstream out(p, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) return Status::IOError(fmt::format("cannot write {}", p.string()));
    return p;
  }

 private:
  explicit ScratchDir(fs::path p) : path_(std::move(p)) {}
  fs::path path_;
};

// "NAME:vN" -> (NAME, N).
Result<std::pair<std::string, int>> ParseDatasetId(std::string_view id) {
  size_t colon = id.rfind(":v");
  auto bad = [&] {
    return Status::InvalidArgument(fmt::format("Invalid dataset id '{}': expected NAME:vN", id.substr(0, 200)));
  };
  if (colon == std::string_view::npos || colon == 0) return bad();
  std::string name(id.substr(0, colon));
  std::string_view digits = id.substr(colon + 2);
  if (digits.empty() || digits.size() > 9 || digits[0] == '0' ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return bad();
  if (!runtrack::ValidateArtifactName(name).ok()) return bad();
  return std::make_pair(std::move(name), std::stoi(std::string(digits)));
}

std::string JsonString(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

DatasetInfo ToInfo(const runtrack::ArtifactVersionInfo& v) {
  DatasetInfo d;
  d.id = fmt::format("{}:v{}", v.name, v.version);
  d.name = v.name;
  d.created_at = v.created_at;
  d.size_bytes = v.size_bytes;
  d.description = v.description;
  d.format = JsonString(v.metadata, "format");
  d.source = JsonString(v.metadata, "source");
  d.path = fmt::format("{}/{}", d.id, d.format == "jsonl" ? "train.jsonl" : "data." + d.format);
  if (const json::value* n = v.metadata.if_contains("samples_count"); n != nullptr && n->is_int64())
    d.samples_count = static_cast<uint64_t>(n->as_int64());
  if (const json::value* c = v.metadata.if_contains("columns"); c != nullptr && c->is_array())
    for (const auto& col : c->as_array())
      if (col.is_string()) d.columns.emplace_back(col.as_string());
  return d;
}

// RFC 4180: fields separated by ',', optionally quoted with '"' ("" inside quotes is one quote),
// records separated by LF or CRLF. Returns the records; a quote left open is an error.
Result<std::vector<std::vector<std::string>>> ParseCsv(std::string_view text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false, field_started = false;
  size_t line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && field.empty() && !field_started) {
      quoted = true;
      field_started = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
      field_started = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      record.push_back(std::move(field));
      field.clear();
      field_started = false;
      if (!(record.size() == 1 && record[0].empty())) records.push_back(std::move(record));  // blank lines
      record.clear();
      ++line;
    } else {
      field += c;
      field_started = true;
    }
  }
  if (quoted) return Status::InvalidArgument(fmt::format("line {}: a quoted field is not closed", line));
  if (field_started || !record.empty()) {
    record.push_back(std::move(field));
    records.push_back(std::move(record));
  }
  return records;
}

// The rows of an uploaded file and its columns (first-seen order). Rows are flat objects: every
// value a string, number, boolean or null.
Result<std::vector<Row>> ParseRows(std::string_view content, std::string_view format,
                                   std::vector<std::string>* columns, FieldError* error) {
  std::vector<Row> rows;
  if (format == "json") {
    boost::system::error_code ec;
    json::value v = runtrack::ParseJson(content, ec);
    if (ec) return Invalid(error, "file", "invalid_json", fmt::format("file is not valid JSON: {}", ec.message()));
    if (!v.is_array())
      return Invalid(error, "file", "invalid_json", "file must be a JSON array of objects (one per row)");
    size_t n = 0;
    for (auto& item : v.as_array()) {
      ++n;
      if (!item.is_object() || item.as_object().empty())
        return Invalid(error, "file", "invalid_row", fmt::format("row {}: expected a non-empty JSON object", n));
      for (const auto& [key, value] : item.as_object()) {
        if (key.empty())
          return Invalid(error, "file", "invalid_row", fmt::format("row {}: a column name is empty", n));
        if (value.is_object() || value.is_array())
          return Invalid(error, "file", "invalid_row",
                         fmt::format("row {}: column '{}' must be a string, number, boolean or null", n,
                                     std::string_view(key)));
        if (std::find(columns->begin(), columns->end(), key) == columns->end()) columns->emplace_back(key);
      }
      rows.push_back(std::move(item.as_object()));
    }
  } else {
    auto records = ParseCsv(content);
    if (!records.ok()) return Invalid(error, "file", "invalid_csv", records.status().message());
    if (records->empty()) return Invalid(error, "file", "empty", "file has no header row");
    const auto& header = (*records)[0];
    for (const auto& name : header) {
      if (name.empty()) return Invalid(error, "file", "invalid_row", "row 1 (header): a column name is empty");
      if (std::find(columns->begin(), columns->end(), name) != columns->end())
        return Invalid(error, "file", "invalid_row", fmt::format("row 1 (header): column '{}' appears twice", name));
      columns->push_back(name);
    }
    for (size_t r = 1; r < records->size(); ++r) {
      const auto& rec = (*records)[r];
      if (rec.size() != header.size())
        return Invalid(error, "file", "invalid_row",
                       fmt::format("row {}: expected {} fields, found {}", r + 1, header.size(), rec.size()));
      Row row;
      for (size_t c = 0; c < rec.size(); ++c) row[header[c]] = rec[c];
      rows.push_back(std::move(row));
    }
  }
  if (rows.empty()) return Invalid(error, "file", "empty", "file has no rows");
  if (rows.size() > DatasetService::kMaxRows)
    return Invalid(error, "file", "too_large", fmt::format("file has more than {} rows", DatasetService::kMaxRows));
  return rows;
}

// A template as literal text and column references; "{{" and "}}" are literal braces.
struct TemplatePart {
  bool column = false;
  std::string text;
};
Result<std::vector<TemplatePart>> ParseTemplate(std::string_view t, FieldError* error) {
  std::vector<TemplatePart> parts;
  std::string literal;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '{' && i + 1 < t.size() && t[i + 1] == '{') {
      literal += '{';
      ++i;
    } else if (t[i] == '}' && i + 1 < t.size() && t[i + 1] == '}') {
      literal += '}';
      ++i;
    } else if (t[i] == '{') {
      size_t close = t.find('}', i);
      if (close == std::string_view::npos || close == i + 1 || t.substr(i + 1, close - i - 1).find('{') != std::string_view::npos)
        return Invalid(error, "template", "invalid_template",
                       fmt::format("template: '{{' at offset {} does not start a {{column}} reference", i));
      if (!literal.empty()) parts.push_back({false, std::move(literal)});
      literal.clear();
      parts.push_back({true, std::string(t.substr(i + 1, close - i - 1))});
      i = close;
    } else if (t[i] == '}') {
      return Invalid(error, "template", "invalid_template", fmt::format("template: unmatched '}}' at offset {}", i));
    } else {
      literal += t[i];
    }
  }
  if (!literal.empty()) parts.push_back({false, std::move(literal)});
  return parts;
}

std::string CellText(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_null()) return "";
  return json::serialize(v);
}

// Uniform in [0, bound) from mt19937_64 by rejection (no modulo bias; fully specified, unlike
// std::uniform_int_distribution, whose algorithm differs between standard libraries).
uint64_t Below(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t x;
  do x = rng();
  while (x >= limit);
  return x % bound;
}

// A run id ("YYYYMMDD_HHMMSS_xxxxxx") naming one processing in the lineage graph.
Result<std::string> NewProcessingRunId() {
  unsigned char r[3];
  if (RAND_bytes(r, sizeof r) != 1) return Status::Internal("RAND_bytes failed");
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d_%H%M%S", &tm);
  return fmt::format("{}_{:02x}{:02x}{:02x}", buf, r[0], r[1], r[2]);
}

Result<DatasetInfo> LogVersion(DatasetArtifacts& store, const runtrack::Artifact& artifact, std::string_view run_id) {
  auto info = store.Log(artifact, run_id);
  if (!info.ok()) return info.status();
  return ToInfo(*info);
}

}  // namespace

std::string NewUuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    // RAND_bytes fails only without an entropy source; a task id is an identifier, not a secret.
    std::random_device rd;
    for (auto& x : b) x = static_cast<unsigned char>(rd());
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  std::string h;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) h += '-';
    h += fmt::format("{:02x}", b[i]);
  }
  return h;
}

Result<std::vector<DatasetInfo>> DatasetService::List() {
  DatasetArtifacts* store = &artifacts();
  auto names = store->ListArtifacts(runtrack::ArtifactType::kDataset);
  if (!names.ok()) return names.status();
  std::vector<DatasetInfo> out;
  for (const auto& n : *names) {
    auto versions = store->ListVersions(n.name);
    if (!versions.ok()) return versions.status();
    for (const auto& v : *versions)
      if (v.status == "ready") out.push_back(ToInfo(v));
  }
  return out;
}

Result<DatasetInfo> DatasetService::Get(const std::string& id) {
  auto parsed = ParseDatasetId(id);
  if (!parsed.ok()) return parsed.status();
  auto v = artifacts().GetVersion(parsed->first, parsed->second);
  if (!v.ok() || v->type != runtrack::ArtifactType::kDataset || v->status != "ready") {
    if (v.ok() || v.status().code() == runtrack::StatusCode::kNotFound)
      return Status::NotFound(fmt::format("Dataset not found: {}", id));
    return v.status();
  }
  return ToInfo(*v);
}

Result<DatasetInfo> DatasetService::Upload(const DatasetUpload& upload, FieldError* error) {
  if (Status s = runtrack::ValidateArtifactName(upload.name); !s.ok())
    return Invalid(error, "name", "invalid", s.message());
  if (upload.format != "json" && upload.format != "csv")
    return Invalid(error, "format", "invalid_value", "format must be \"json\" or \"csv\"");
  if (upload.description.size() > 4096)
    return Invalid(error, "description", "too_long", "description must be at most 4096 bytes");
  if (upload.content.empty()) return Invalid(error, "file", "empty", "file is empty");
  if (upload.content.size() > kMaxUploadBytes)
    return Invalid(error, "file", "too_large", fmt::format("file exceeds {} bytes", kMaxUploadBytes));
  std::vector<std::string> columns;
  auto rows = ParseRows(upload.content, upload.format, &columns, error);
  if (!rows.ok()) return rows.status();

  auto scratch = ScratchDir::Create();
  if (!scratch.ok()) return scratch.status();
  auto file = scratch->Write("data." + upload.format, upload.content);
  if (!file.ok()) return file.status();
  auto artifact = runtrack::Artifact::Create(upload.name, runtrack::ArtifactType::kDataset);
  if (!artifact.ok()) return artifact.status();
  artifact->SetDescription(upload.description);
  json::array cols;
  for (const auto& c : columns) cols.emplace_back(c);
  artifact->AddMetadata(json::object{{"format", upload.format},
                                     {"samples_count", static_cast<int64_t>(rows->size())},
                                     {"columns", cols},
                                     {"uploaded_by", upload.uploaded_by}});
  if (Status s = artifact->AddFile(*file, "data." + upload.format); !s.ok()) return s;
  return LogVersion(artifacts(), *artifact, "");
}

Result<ProcessResult> DatasetService::Process(const ProcessRequest& req, FieldError* error) {
  if (Status s = runtrack::ValidateArtifactName(req.output_name); !s.ok())
    return Invalid(error, "output_name", "invalid", s.message());
  const std::pair<const char*, double> ratios[] = {
      {"train_ratio", req.train_ratio}, {"val_ratio", req.val_ratio}, {"test_ratio", req.test_ratio}};
  for (const auto& [field, value] : ratios)
    if (!std::isfinite(value) || value < 0 || value > 1)
      return Invalid(error, field, "out_of_range", fmt::format("{} must be between 0 and 1", field));
  if (std::fabs(req.train_ratio + req.val_ratio + req.test_ratio - 1.0) > 1e-6)
    return Invalid(error, "ratios", "must_sum_to_1",
                   fmt::format("train_ratio + val_ratio + test_ratio must be 1, got {:g}",
                               req.train_ratio + req.val_ratio + req.test_ratio));
  std::vector<TemplatePart> parts;
  if (req.prompt_template) {
    auto parsed = ParseTemplate(*req.prompt_template, error);
    if (!parsed.ok()) return parsed.status();
    parts = std::move(*parsed);
  }
  auto source = Get(req.dataset_id);
  if (!source.ok()) {
    if (source.status().code() == runtrack::StatusCode::kInvalidArgument)
      return Invalid(error, "dataset_id", "invalid", source.status().message());
    return source.status();
  }
  if (source->format != "json" && source->format != "csv")
    return Invalid(error, "dataset_id", "already_processed",
                   fmt::format("dataset {} is a processed dataset; process its source instead", source->id));

  auto run_id = NewProcessingRunId();
  if (!run_id.ok()) return run_id.status();
  DatasetArtifacts* store = &artifacts();
  // Read without recording a use: a request refused below must leave no lineage behind.
  auto handle = store->Use(source->id, "");
  if (!handle.ok()) return handle.status();
  auto content = handle->ReadFile("data." + source->format);
  if (!content.ok()) return content.status();
  std::vector<std::string> columns;
  auto rows = ParseRows(*content, source->format, &columns, error);
  if (!rows.ok()) return Status::Corruption(fmt::format("stored dataset {} no longer parses: {}", source->id,
                                                        rows.status().message()));
  for (const auto& part : parts) {
    if (!part.column) continue;
    for (size_t r = 0; r < rows->size(); ++r)
      if (!(*rows)[r].contains(part.text))
        return Invalid(error, "template", "unknown_column",
                       fmt::format("template names column '{}', which row {} of {} does not have", part.text, r + 1,
                                   source->id));
  }

  std::vector<size_t> order(rows->size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937_64 rng(req.seed);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[Below(rng, i)]);
  const uint64_t n = rows->size();
  // The small epsilon keeps 10 * 0.7 (6.9999999...) from losing a row to floating point.
  const uint64_t n_train = std::min<uint64_t>(n, static_cast<uint64_t>(std::floor(n * req.train_ratio + 1e-9)));
  const uint64_t n_val = std::min<uint64_t>(n - n_train, static_cast<uint64_t>(std::floor(n * req.val_ratio + 1e-9)));
  const uint64_t n_test = n - n_train - n_val;

  std::string splits[3];
  for (uint64_t k = 0; k < n; ++k) {
    Row row = (*rows)[order[k]];
    if (req.prompt_template) {
      std::string text;
      for (const auto& part : parts) text += part.column ? CellText(row.at(part.text)) : part.text;
      row["text"] = text;
    }
    std::string& out = splits[k < n_train ? 0 : k < n_train + n_val ? 1 : 2];
    out += json::serialize(row);
    out += '\n';
  }

  auto scratch = ScratchDir::Create();
  if (!scratch.ok()) return scratch.status();
  auto artifact = runtrack::Artifact::Create(req.output_name, runtrack::ArtifactType::kDataset);
  if (!artifact.ok()) return artifact.status();
  const char* names[3] = {"train.jsonl", "validation.jsonl", "test.jsonl"};
  for (int i = 0; i < 3; ++i) {
    auto file = scratch->Write(names[i], splits[i]);
    if (!file.ok()) return file.status();
    if (Status s = artifact->AddFile(*file, names[i]); !s.ok()) return s;
  }
  json::array cols;
  for (const auto& c : columns) cols.emplace_back(c);
  if (req.prompt_template) cols.emplace_back("text");
  json::object meta{{"format", "jsonl"},
                    {"samples_count", static_cast<int64_t>(n)},
                    {"columns", cols},
                    {"source", source->id},
                    {"splits", json::object{{"train", n_train}, {"validation", n_val}, {"test", n_test}}},
                    {"ratios", json::object{{"train", req.train_ratio}, {"validation", req.val_ratio},
                                            {"test", req.test_ratio}}},
                    {"seed", req.seed},
                    {"processed_by", req.processed_by}};
  if (req.prompt_template) meta["template"] = *req.prompt_template;
  artifact->AddMetadata(meta);
  artifact->SetDescription(fmt::format("{} split {}/{}/{} (seed {})", source->id, n_train, n_val, n_test, req.seed));
  // Lineage source -> processing -> output: the processing (a run id) uses the source version and
  // produces the output version.
  if (auto used = store->Use(source->id, *run_id); !used.ok()) return used.status();
  auto output = LogVersion(*store, *artifact, *run_id);
  if (!output.ok()) return output.status();

  ProcessResult result;
  result.task_id = NewUuid();
  result.dataset_id = source->id;
  result.output = std::move(*output);
  result.train = n_train;
  result.validation = n_val;
  result.test = n_test;
  result.processed_at = result.output.created_at;
  return result;
}

}  // namespace runicorn::service

// Run::RecordAsset: Runicorn v0.6's assets.json, kept in Runicorn's shape so a store read by
// Runicorn's tools (or exported to it) finds the same document.
#include <fmt/format.h>

#include <boost/json/parse.hpp>

#include "run/run_impl.h"
#include "util/files.h"
#include "util/json.h"
#include "util/validation.h"

namespace runtrack {
namespace bj = boost::json;

namespace {

// The current document; a missing file is an empty one. A damaged file is an error rather than
// silently replaced, so the assets already recorded are never lost.
Result<bj::object> LoadAssets(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return bj::object{};
  RUNTRACK_ASSIGN_OR_RETURN(std::string text, util::ReadFile(path));
  boost::system::error_code parse_error;
  bj::value parsed = bj::parse(text, parse_error);
  if (parse_error || !parsed.is_object())
    return Status::Corruption(fmt::format("{} is not a JSON object", path.string()));
  return std::move(parsed.get_object());
}

bj::array& ArrayField(bj::object& doc, std::string_view key) {
  bj::value& v = doc[key];
  if (!v.is_array()) v = bj::array{};
  return v.get_array();
}

}  // namespace

Status Run::RecordAsset(std::string_view section, const bj::object& entry) {
  const bool replace = section == "code" || section == "config";
  const bool append = section == "datasets" || section == "pretrained";
  const bool upsert = section == "outputs";
  if (!replace && !append && !upsert)
    return Status::InvalidArgument(fmt::format(
        "unknown asset section '{}': expected code, config, datasets, pretrained or outputs",
        util::IsValidUtf8(section) ? section : "<binary>"));
  const bj::value* key = entry.if_contains("key");
  if (upsert && (key == nullptr || !key->is_string()))
    return Status::InvalidArgument("an outputs asset needs a string \"key\"");

  std::lock_guard<std::mutex> guard(impl_->assets_mutex);
  bool finished = false;
  impl_->writer->Append([&](journal::PendingRecords&) { finished = impl_->finished; });
  if (finished) return Status::FailedPrecondition(fmt::format("run {} is already finished", impl_->id));

  RUNTRACK_ASSIGN_OR_RETURN(bj::object doc, LoadAssets(impl_->assets_path));
  if (replace) {
    doc[section] = entry;
  } else if (append) {
    ArrayField(doc, section).push_back(entry);
  } else {
    bj::array& outputs = ArrayField(doc, section);
    bool replaced = false;
    for (bj::value& old : outputs) {
      const bj::value* old_key = old.is_object() ? old.get_object().if_contains("key") : nullptr;
      if (old_key != nullptr && *old_key == *key) {
        old = entry;
        replaced = true;
        break;
      }
    }
    if (!replaced) outputs.push_back(entry);
  }
  return util::WriteFileAtomic(impl_->assets_path, util::SerializeJson(doc));
}

}  // namespace runtrack

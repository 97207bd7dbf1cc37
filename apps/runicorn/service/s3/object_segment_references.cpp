#include "service/s3/object_segment_references.h"

#include <algorithm>

#include <fmt/format.h>

#include "service/s3/chunk_references.h"

namespace runicorn::service::s3 {

using runtrack::Result;
using runtrack::Status;

namespace {
constexpr std::string_view kHeader = "runicorn-segment-references 1";
}  // namespace

std::string FormatSegmentReferences(const std::string& store, std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string out = fmt::format("{}\nstore {}\n", kHeader, store);
  for (const auto& n : names) (out += n) += '\n';
  return out;
}

Status ParseSegmentReferences(std::string_view text, std::unordered_set<std::string>* out) {
  size_t pos = 0;
  size_t line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos)
      return Status::Corruption("segment reference list is cut short (no final newline)");
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line_no == 1) {
      if (line != kHeader)
        return Status::Corruption(fmt::format("segment reference list does not start with '{}'", kHeader));
      continue;
    }
    if (line_no == 2 && line.rfind("store ", 0) == 0) continue;
    if (!ObjectSegmentStore::IsValidName(line))
      return Status::Corruption(fmt::format("segment reference list line {} is not a sealed series name", line_no));
    out->emplace(line);
  }
  if (line_no == 0) return Status::Corruption("segment reference list is empty");
  return Status::Ok();
}

std::string SegmentReferencesKey(ObjectSegmentStore& objects, const std::filesystem::path& root) {
  return objects.client().location().Key("segment-refs/" + StoreReferencesKey(root));
}

Status PublishSegmentReferences(ObjectSegmentStore& objects, const std::filesystem::path& root,
                                const std::vector<std::string>& names) {
  return objects.client().PutObject(SegmentReferencesKey(objects, root),
                                    FormatSegmentReferences(StoreDisplayName(root), names));
}

Result<std::unordered_set<std::string>> ReadOwnSegmentReferences(ObjectSegmentStore& objects,
                                                                 const std::filesystem::path& root) {
  std::unordered_set<std::string> names;
  const std::string key = SegmentReferencesKey(objects, root);
  auto text = objects.client().GetObject(key);
  if (!text.ok() && text.status().code() == runtrack::StatusCode::kNotFound) return names;
  if (!text.ok()) return text.status();
  if (Status s = ParseSegmentReferences(*text, &names); !s.ok())
    return Status::Corruption(fmt::format("{}/{}: {}", objects.client().location().bucket, key, s.message()));
  return names;
}

Result<BucketSegmentReferences> ReadSegmentReferences(ObjectSegmentStore& objects) {
  BucketSegmentReferences refs;
  const std::string prefix = objects.client().location().Key("segment-refs/");
  RUNTRACK_ASSIGN_OR_RETURN(auto lists, objects.client().ListAll(prefix));
  for (const auto& list : lists) {
    auto text = objects.client().GetObject(list.key);
    if (!text.ok() && text.status().code() == runtrack::StatusCode::kNotFound) continue;  // deleted meanwhile
    if (!text.ok()) return text.status();
    if (Status s = ParseSegmentReferences(*text, &refs.names); !s.ok())
      return Status::Corruption(fmt::format("{}/{}: {}", objects.client().location().bucket, list.key, s.message()));
    ++refs.lists;
  }
  return refs;
}

}  // namespace runicorn::service::s3

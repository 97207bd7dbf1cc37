#include "tasks/batch_expansion.h"

#include <limits>

#include <fmt/format.h>

#include "tasks/batch_template.h"

namespace runtrack::tasks {
namespace {

struct LeafRef {
  const ConfigValue* node;
  std::string path;       // "a.b.c", for error messages
  std::string short_key;  // "c", for `_meta_desc`
  BatchLeaf leaf;
};

// Map values only, in document order: Pyruns walks nested mappings, and lists are plain values.
void CollectLeaves(const ConfigValue& map, const std::string& prefix, std::vector<LeafRef>* out) {
  for (const auto& [key, value] : map.map) {
    std::string path = prefix.empty() ? key : prefix + "." + key;
    if (value.type == ConfigValue::Type::kMap) {
      CollectLeaves(value, path, out);
    } else if (value.type == ConfigValue::Type::kString) {
      if (auto leaf = ParseBatchLeaf(value.s))
        out->push_back(LeafRef{&value, path, key, std::move(*leaf)});
    }
  }
}

uint64_t SaturatingMul(uint64_t a, uint64_t b) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return std::numeric_limits<uint64_t>::max();
  return a * b;
}

Result<uint64_t> CountLeaves(const std::vector<LeafRef>& leaves) {
  uint64_t product = 1;
  std::optional<uint64_t> zip_len;
  bool mismatch = false;
  for (const auto& l : leaves) {
    if (l.leaf.mode == BatchLeaf::Mode::kProduct) {
      product = SaturatingMul(product, l.leaf.Count());
    } else if (!zip_len) {
      zip_len = l.leaf.Count();
    } else if (*zip_len != l.leaf.Count()) {
      mismatch = true;
    }
  }
  if (mismatch) {
    std::string detail;
    for (const auto& l : leaves) {
      if (l.leaf.mode != BatchLeaf::Mode::kZip) continue;
      detail += fmt::format("{}{}={}", detail.empty() ? "" : ", ", l.path, l.leaf.Count());
    }
    return Status::InvalidArgument("All (zip) parameters must have equal length. Got: " + detail);
  }
  return SaturatingMul(product, zip_len.value_or(1));
}

class Overrides : public ConfigLeafOverrides {
 public:
  explicit Overrides(const std::vector<LeafRef>& leaves) : leaves_(leaves), values_(leaves.size()) {}
  const ConfigValue* Find(const ConfigValue* node) const override {
    for (size_t k = 0; k < leaves_.size(); ++k)
      if (leaves_[k].node == node) return &values_[k];
    return nullptr;
  }
  void Set(size_t k, ConfigValue v) { values_[k] = std::move(v); }

 private:
  const std::vector<LeafRef>& leaves_;
  std::vector<ConfigValue> values_;
};

}  // namespace

Result<ConfigValue> ParseTemplate(std::string_view yaml_text) {
  RUNTRACK_ASSIGN_OR_RETURN(ConfigValue root, ParseYamlConfig(yaml_text));
  if (root.type == ConfigValue::Type::kNull) root.type = ConfigValue::Type::kMap;
  if (root.type != ConfigValue::Type::kMap)
    return Status::InvalidArgument("Batch configuration root must be a mapping");
  return root;
}

size_t CountBatchLeaves(const ConfigValue& root) {
  std::vector<LeafRef> leaves;
  CollectLeaves(root, "", &leaves);
  return leaves.size();
}

Result<size_t> CountConfigs(const ConfigValue& root) {
  std::vector<LeafRef> leaves;
  CollectLeaves(root, "", &leaves);
  RUNTRACK_ASSIGN_OR_RETURN(uint64_t n, CountLeaves(leaves));
  return static_cast<size_t>(n);
}

Result<std::vector<ExpandedConfig>> ExpandTemplate(const ConfigValue& root, size_t limit) {
  std::vector<LeafRef> leaves;
  CollectLeaves(root, "", &leaves);
  RUNTRACK_ASSIGN_OR_RETURN(uint64_t total, CountLeaves(leaves));
  if (total > limit)
    return Status::InvalidArgument(fmt::format(
        "Batch expansion would create {} tasks; limit is {}. Narrow the range or split it into "
        "smaller batches.",
        total, limit));
  std::vector<ExpandedConfig> configs;
  if (leaves.empty()) {
    configs.push_back({EmitYamlConfig(root), ""});
    return configs;
  }
  std::vector<size_t> product, zip;
  for (size_t k = 0; k < leaves.size(); ++k)
    (leaves[k].leaf.mode == BatchLeaf::Mode::kProduct ? product : zip).push_back(k);
  uint64_t zip_len = zip.empty() ? 1 : leaves[zip[0]].leaf.Count();

  configs.reserve(total);

  // Fast path (every piece a scalar): yaml-cpp writes the template once with a placeholder at
  // each batch leaf, and each piece once; a config is then the skeleton's segments joined with
  // its pieces' text. Collections as pieces take the slow path: one full emit per config.
  bool scalar_pieces = true;
  for (const auto& l : leaves)
    for (const auto& p : l.leaf.pieces)
      if (p.type == ConfigValue::Type::kList || p.type == ConfigValue::Type::kMap) scalar_pieces = false;
  std::vector<std::string> segments;
  if (scalar_pieces) {
    Overrides placeholders(leaves);
    std::string tag = fmt::format("__runtrack_leaf_{:x}_", reinterpret_cast<uintptr_t>(&leaves));
    for (size_t k = 0; k < leaves.size(); ++k) placeholders.Set(k, ConfigValue::String(fmt::format("{}{}__", tag, k)));
    std::string skeleton = EmitYamlConfig(root, &placeholders);
    size_t pos = 0;
    for (size_t k = 0; k < leaves.size() && scalar_pieces; ++k) {
      std::string mark = fmt::format("{}{}__", tag, k);
      size_t at = skeleton.find(mark, pos);
      if (at == std::string::npos) { scalar_pieces = false; break; }
      segments.push_back(skeleton.substr(pos, at - pos));
      pos = at + mark.size();
    }
    segments.push_back(skeleton.substr(pos));
    if (skeleton.find(tag, pos) != std::string::npos) scalar_pieces = false;  // tag in the template
  }
  // Per leaf: each piece's YAML text and Python display (ranges are formatted on the fly).
  std::vector<std::vector<std::string>> piece_yaml(leaves.size()), piece_display(leaves.size());
  for (size_t k = 0; k < leaves.size(); ++k)
    for (const auto& p : leaves[k].leaf.pieces) {
      piece_yaml[k].push_back(scalar_pieces ? EmitYamlScalar(p) : "");
      piece_display[k].push_back(PythonStr(p));
    }
  auto yaml_of = [&](size_t leaf, uint64_t i) {
    return leaves[leaf].leaf.is_range ? fmt::format("{}", leaves[leaf].leaf.start + static_cast<int64_t>(i) * leaves[leaf].leaf.step)
                                      : piece_yaml[leaf][i];
  };
  auto display_of = [&](size_t leaf, uint64_t i) {
    return leaves[leaf].leaf.is_range ? fmt::format("{}", leaves[leaf].leaf.start + static_cast<int64_t>(i) * leaves[leaf].leaf.step)
                                      : piece_display[leaf][i];
  };

  Overrides overrides(leaves);
  std::vector<uint64_t> index(leaves.size(), 0);  // current piece of every leaf
  std::vector<uint64_t> odometer(product.size(), 0);
  for (uint64_t combo = 0; combo < total / zip_len; ++combo) {
    for (size_t p = 0; p < product.size(); ++p) index[product[p]] = odometer[p];
    for (uint64_t z = 0; z < zip_len; ++z) {
      for (size_t leaf : zip) index[leaf] = z;
      std::string desc;
      for (size_t leaf : product) desc += (desc.empty() ? "" : ", ") + leaves[leaf].short_key + "=" + display_of(leaf, index[leaf]);
      for (size_t leaf : zip) desc += (desc.empty() ? "" : ", ") + leaves[leaf].short_key + "=" + display_of(leaf, index[leaf]);
      std::string yaml;
      if (scalar_pieces) {
        yaml = segments[0];
        for (size_t k = 0; k < leaves.size(); ++k) {
          yaml += yaml_of(k, index[k]);
          yaml += segments[k + 1];
        }
      } else {
        for (size_t k = 0; k < leaves.size(); ++k) overrides.Set(k, leaves[k].leaf.At(index[k]));
        yaml = EmitYamlConfig(root, &overrides);
      }
      configs.push_back({std::move(yaml), std::move(desc)});
    }
    // Advance the product odometer, last leaf fastest (itertools.product order).
    for (size_t p = product.size(); p-- > 0;) {
      if (++odometer[p] < leaves[product[p]].leaf.Count()) break;
      odometer[p] = 0;
    }
  }
  return configs;
}

}  // namespace runtrack::tasks

namespace runtrack {

Result<size_t> CountBatchConfigs(std::string_view yaml_text) {
  RUNTRACK_ASSIGN_OR_RETURN(tasks::ConfigValue root, tasks::ParseTemplate(yaml_text));
  return tasks::CountConfigs(root);
}

Result<std::vector<ExpandedConfig>> ExpandBatchTemplate(std::string_view yaml_text, size_t limit) {
  RUNTRACK_ASSIGN_OR_RETURN(tasks::ConfigValue root, tasks::ParseTemplate(yaml_text));
  return tasks::ExpandTemplate(root, limit);
}

}  // namespace runtrack

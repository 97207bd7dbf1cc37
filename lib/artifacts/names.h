// Validation of everything that reaches a path from outside (names, aliases, run ids, paths inside
// an artifact) plus the artifact-type names. The public validators live in runtrack/artifacts.h;
// these are the shared pieces.
#pragma once

#include <string_view>

#include "runtrack/artifacts.h"

namespace runtrack::artifacts {

// "v" followed by 1..9 decimal digits without a leading zero; stores the number in *out.
bool ParseVersionToken(std::string_view token, int* out);

// Every artifact type, in the order listings walk the type folders.
inline constexpr ArtifactType kAllArtifactTypes[] = {ArtifactType::kModel, ArtifactType::kDataset, ArtifactType::kConfig,
                                                     ArtifactType::kCode, ArtifactType::kCustom};

}  // namespace runtrack::artifacts

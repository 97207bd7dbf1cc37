// Pyruns' timestamps: local time without a zone, second resolution (kept for compatibility; the
// epoch-seconds fields queued_at / lease_* carry the precise times).
#pragma once

#include <string>

namespace runtrack::tasks {

std::string LocalTimestamp(double epoch_seconds);         // "2026-11-25_01-56-23"
std::string LocalTimestampSpaced(double epoch_seconds);   // "2026-11-25 01:56:23"

}  // namespace runtrack::tasks

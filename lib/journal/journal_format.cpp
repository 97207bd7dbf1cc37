#include "journal/journal_format.h"

#include "util/crc32c.h"

namespace runtrack::journal {

std::string EncodeHeader() {
  std::string out(kMagic, sizeof kMagic);
  PutU32(&out, kFormatVersion);
  return out;
}

void AppendRecord(std::string* out, RecordType type, std::string_view payload) {
  auto type_byte = static_cast<char>(type);
  uint32_t crc = util::Crc32c(0, &type_byte, 1);
  crc = util::Crc32c(crc, payload.data(), payload.size());
  PutU32(out, static_cast<uint32_t>(payload.size() + 1));
  PutU32(out, crc);
  out->push_back(type_byte);
  out->append(payload);
}

std::string EncodeName(uint32_t id, NameKind kind, std::string_view name) {
  std::string out;
  PutU32(&out, id);
  out.push_back(static_cast<char>(kind));
  out.append(name);
  return out;
}

}  // namespace runtrack::journal

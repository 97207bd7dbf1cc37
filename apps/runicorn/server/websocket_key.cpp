#include "server/websocket_key.h"

#include <algorithm>
#include <cctype>

namespace runicorn::server {

bool IsValidWebSocketKey(std::string_view key) {
  if (key.size() != 24 || !key.ends_with("==")) return false;
  auto is_base64 = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/'; };
  return std::all_of(key.begin(), key.begin() + 22, is_base64);
}

}  // namespace runicorn::server

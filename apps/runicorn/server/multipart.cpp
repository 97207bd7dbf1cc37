#include "server/multipart.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace runicorn::server {
using runtrack::Result;
using runtrack::Status;

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// `; key=value; key="quoted \" value"` parameters after a header's first token, keys lower-case.
// nullopt for an unterminated quote.
std::optional<std::vector<std::pair<std::string, std::string>>> Params(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t semi = s.find(';', i);
    if (semi == std::string_view::npos) break;
    i = semi + 1;
    size_t eq = s.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key = Lower(Trim(s.substr(i, eq - i)));
    i = eq + 1;
    while (i < s.size() && s[i] == ' ') ++i;
    std::string value;
    if (i < s.size() && s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        char c = s[i++];
        if (c == '\\' && i < s.size()) {
          value += s[i++];
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          value += c;
        }
      }
      if (!closed) return std::nullopt;
    } else {
      size_t end = s.find(';', i);
      value = std::string(Trim(s.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i)));
      i = end == std::string_view::npos ? s.size() : end;
    }
    out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

}  // namespace

Result<std::string> MultipartBoundary(std::string_view content_type) {
  size_t semi = content_type.find(';');
  if (Lower(Trim(content_type.substr(0, semi))) != "multipart/form-data")
    return Status::InvalidArgument("Content-Type must be multipart/form-data");
  auto params = Params(content_type);
  if (!params) return Status::InvalidArgument("malformed Content-Type parameters");
  for (const auto& [k, v] : *params) {
    if (k != "boundary") continue;
    if (v.empty() || v.size() > 70) return Status::InvalidArgument("multipart boundary must be 1-70 characters");
    return v;
  }
  return Status::InvalidArgument("multipart/form-data without a boundary parameter");
}

Result<std::vector<MultipartPart>> ParseMultipart(std::string_view body, std::string_view boundary,
                                                  size_t max_parts) {
  const std::string delimiter = "--" + std::string(boundary);
  // The first boundary line: at the very start, or after a preamble ending in CRLF.
  size_t pos;
  if (body.substr(0, delimiter.size()) == delimiter) {
    pos = delimiter.size();
  } else {
    size_t found = body.find("\r\n" + delimiter);
    if (found == std::string_view::npos) return Status::InvalidArgument("multipart body has no boundary line");
    pos = found + 2 + delimiter.size();
  }
  const std::string next_delimiter = "\r\n" + delimiter;
  std::vector<MultipartPart> parts;
  for (;;) {
    if (body.substr(pos, 2) == "--") return parts;  // closing boundary; an epilogue is ignored
    // Transport padding (spaces/tabs) may follow a boundary before its CRLF.
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) != "\r\n") return Status::InvalidArgument("malformed multipart boundary line");
    pos += 2;
    if (parts.size() == max_parts)
      return Status::InvalidArgument(fmt::format("multipart body has more than {} parts", max_parts));
    size_t headers_end = body.find("\r\n\r\n", pos);
    // A part without headers starts directly with its blank line.
    std::string_view headers;
    size_t content_start;
    if (body.substr(pos, 2) == "\r\n") {
      content_start = pos + 2;
    } else {
      if (headers_end == std::string_view::npos) return Status::InvalidArgument("multipart part headers do not end");
      headers = body.substr(pos, headers_end - pos);
      content_start = headers_end + 4;
    }
    if (headers.size() > 8192) return Status::InvalidArgument("multipart part headers exceed 8 KiB");
    size_t content_end = body.find(next_delimiter, content_start);
    if (content_end == std::string_view::npos)
      return Status::InvalidArgument("multipart body does not end with its closing boundary");

    MultipartPart part;
    bool form_data = false;
    size_t line_start = 0;
    while (!headers.empty() && line_start <= headers.size()) {
      size_t line_end = headers.find("\r\n", line_start);
      std::string_view line = headers.substr(line_start, line_end == std::string_view::npos ? std::string_view::npos
                                                                                             : line_end - line_start);
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) return Status::InvalidArgument("malformed multipart part header");
      std::string name = Lower(Trim(line.substr(0, colon)));
      std::string_view value = Trim(line.substr(colon + 1));
      if (name == "content-disposition") {
        if (Lower(Trim(value.substr(0, value.find(';')))) != "form-data")
          return Status::InvalidArgument("multipart part is not form-data");
        auto params = Params(value);
        if (!params) return Status::InvalidArgument("malformed Content-Disposition");
        form_data = true;
        for (auto& [k, v] : *params) {
          if (k == "name") part.name = std::move(v);
          if (k == "filename") part.filename = std::move(v);
        }
      } else if (name == "content-type") {
        part.content_type = std::string(value);
      }
      if (line_end == std::string_view::npos) break;
      line_start = line_end + 2;
    }
    if (!form_data || part.name.empty())
      return Status::InvalidArgument("multipart part without Content-Disposition: form-data; name=...");
    if (std::any_of(parts.begin(), parts.end(), [&](const MultipartPart& p) { return p.name == part.name; }))
      return Status::InvalidArgument(fmt::format("multipart field '{}' is given twice", part.name));
    part.body = body.substr(content_start, content_end - content_start);
    parts.push_back(std::move(part));
    pos = content_end + next_delimiter.size();
  }
}

}  // namespace runicorn::server

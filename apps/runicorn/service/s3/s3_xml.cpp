#include "service/s3/s3_xml.h"

#include <cstdio>
#include <ctime>

#include <fmt/format.h>

namespace runicorn::service::s3::xml {

std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    static const std::pair<std::string_view, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    bool done = false;
    for (auto [entity, ch] : kEntities)
      if (s.substr(i, entity.size()) == entity) {
        out.push_back(ch);
        i += entity.size() - 1;
        done = true;
        break;
      }
    if (!done) out.push_back('&');
  }
  return out;
}

std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out.push_back(c);
  }
  return out;
}

std::optional<std::string_view> Field(std::string_view xml, std::string_view tag, size_t from, size_t* end) {
  std::string open = fmt::format("<{}>", tag), close = fmt::format("</{}>", tag);
  size_t b = xml.find(open, from);
  if (b == std::string_view::npos) return std::nullopt;
  b += open.size();
  size_t e = xml.find(close, b);
  if (e == std::string_view::npos) return std::nullopt;
  if (end) *end = e + close.size();
  return xml.substr(b, e - b);
}

bool HasRoot(std::string_view xml, std::string_view tag) {
  auto skip_space = [&] {
    while (!xml.empty() && (xml.front() == ' ' || xml.front() == '\t' || xml.front() == '\r' || xml.front() == '\n'))
      xml.remove_prefix(1);
  };
  skip_space();
  if (xml.substr(0, 5) == "<?xml") {
    const size_t close = xml.find("?>");
    if (close == std::string_view::npos) return false;
    xml.remove_prefix(close + 2);
    skip_space();
  }
  if (xml.size() < tag.size() + 2 || xml[0] != '<' || xml.substr(1, tag.size()) != tag) return false;
  const char after = xml[1 + tag.size()];
  return after == '>' || after == ' ' || after == '\t' || after == '\r' || after == '\n';
}

std::string StripQuotes(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

double ParseIsoTime(std::string_view text) {
  std::tm tm{};
  int millis = 0;
  const std::string s(text);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec) != 6)
    return 0;
  if (size_t dot = s.find('.'); dot != std::string::npos) std::sscanf(s.c_str() + dot + 1, "%3d", &millis);
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(::timegm(&tm)) + millis / 1000.0;
}

}  // namespace runicorn::service::s3::xml

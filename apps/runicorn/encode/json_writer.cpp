#include "encode/json_writer.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <system_error>

namespace runicorn::encode {
namespace bj = boost::json;

void AppendJsonNumber(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  // Shortest round-trip digits from to_chars' scientific form ("-1.7962819208608613e+09"),
  // re-laid out the way Python's float_repr_style 'short' does, in a local buffer appended once
  // (a table writes tens of thousands of numbers).
  char sci[32];
  const char* end = std::to_chars(sci, sci + sizeof sci, v, std::chars_format::scientific).ptr;
  char buf[48];  // sign + at most 17 digits + "0." + 3 zeros, or mantissa + "e-324"
  char* o = buf;
  const char* p = sci;
  if (*p == '-') *o++ = *p++;
  char digits[20];
  int n = 0;
  for (; p != end && *p != 'e'; ++p)
    if (*p != '.') digits[n++] = *p;
  int exp10 = 0;
  std::from_chars(p + (p[1] == '+' ? 2 : 1), end, exp10);
  const int decpt = exp10 + 1;  // value = 0.d1d2... x 10^decpt
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      *o++ = '0';
      *o++ = '.';
      for (int i = 0; i < -decpt; ++i) *o++ = '0';
      std::memcpy(o, digits, static_cast<size_t>(n));
      o += n;
    } else if (decpt >= n) {
      std::memcpy(o, digits, static_cast<size_t>(n));
      o += n;
      for (int i = n; i < decpt; ++i) *o++ = '0';
      *o++ = '.';
      *o++ = '0';
    } else {
      std::memcpy(o, digits, static_cast<size_t>(decpt));
      o += decpt;
      *o++ = '.';
      std::memcpy(o, digits + decpt, static_cast<size_t>(n - decpt));
      o += n - decpt;
    }
  } else {
    *o++ = digits[0];
    if (n > 1) {
      *o++ = '.';
      std::memcpy(o, digits + 1, static_cast<size_t>(n - 1));
      o += n - 1;
    }
    *o++ = 'e';
    *o++ = exp10 < 0 ? '-' : '+';
    const int mag = exp10 < 0 ? -exp10 : exp10;
    if (mag < 10) *o++ = '0';
    o = std::to_chars(o, buf + sizeof buf, mag).ptr;
  }
  out.append(buf, static_cast<size_t>(o - buf));
}

namespace {

// Length of the well-formed UTF-8 sequence starting at s[i] (lead byte >= 0x80), 0 if none
// (overlong forms, surrogates and code points above U+10FFFF are not well-formed).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  return len;
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t run = 0;  // start of the pending run of bytes copied as they are
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (size_t len = Utf8SequenceLength(s, i); len != 0) {
        i += len;
        continue;
      }
    }
    out.append(s.data() + run, i - run);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += "\xEF\xBF\xBD";  // U+FFFD for a byte that starts no well-formed sequence
        }
    }
    run = ++i;
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void AppendJson(std::string& out, const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::null: out += "null"; break;
    case bj::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
    case bj::kind::int64: {
      char buf[24];
      out.append(buf, std::to_chars(buf, buf + sizeof buf, v.get_int64()).ptr);
      break;
    }
    case bj::kind::uint64: {
      char buf[24];
      out.append(buf, std::to_chars(buf, buf + sizeof buf, v.get_uint64()).ptr);
      break;
    }
    case bj::kind::double_: AppendJsonNumber(out, v.get_double()); break;
    case bj::kind::string: AppendJsonString(out, v.get_string()); break;
    case bj::kind::array: {
      out += '[';
      bool first = true;
      for (const bj::value& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        AppendJson(out, e);
      }
      out += ']';
      break;
    }
    case bj::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += ',';
        first = false;
        AppendJsonString(out, kv.key());
        out += ':';
        AppendJson(out, kv.value());
      }
      out += '}';
      break;
    }
  }
}

std::string JsonText(const bj::value& v) {
  std::string out;
  AppendJson(out, v);
  return out;
}

}  // namespace runicorn::encode

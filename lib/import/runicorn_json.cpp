#include "import/runicorn_json.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>

namespace runtrack::importer {
namespace json = boost::json;

namespace {

constexpr std::string_view kNaNSentinel = "0e77777";
constexpr std::string_view kInfSentinel = "1e77777";
constexpr std::string_view kNegInfSentinel = "-1e77777";

// Replaces the bare tokens NaN / Infinity / -Infinity outside strings. Inside valid JSON, outside
// strings, the letters N and I occur only in these tokens (true/false/null are lower-case).
std::string ReplaceNonFiniteTokens(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < text.size()) {
        out.push_back(text[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    std::string_view rest = text.substr(i);
    if (c == '"') {
      in_string = true;
      out.push_back(c);
    } else if (rest.starts_with("NaN")) {
      out.append(kNaNSentinel);
      i += 2;
    } else if (rest.starts_with("Infinity")) {
      out.append(kInfSentinel);
      i += 7;
    } else if (rest.starts_with("-Infinity")) {
      out.append(kNegInfSentinel);
      i += 8;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Builds a json::value, converting doubles from their exact text.
class ValueBuilder {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  json::value result;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    stack_.emplace_back(json::object());
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) { return Close(); }
  bool on_array_begin(json::error_code&) {
    stack_.emplace_back(json::array());
    return true;
  }
  bool on_array_end(std::size_t, json::error_code&) { return Close(); }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    keys_.push_back(std::move(key_));
    key_.clear();
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    text_.append(s.data(), s.size());
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    text_.append(s.data(), s.size());
    json::value v = json::value(json::string_view(text_.data(), text_.size()));
    text_.clear();
    return Put(std::move(v));
  }
  bool on_number_part(json::string_view s, json::error_code&) {
    text_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    text_.clear();
    return Put(json::value(i));
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    text_.clear();
    return Put(json::value(u));
  }
  bool on_double(double, json::string_view s, json::error_code&) {
    text_.append(s.data(), s.size());
    double d = ExactDouble(text_);
    text_.clear();
    return Put(json::value(d));
  }
  bool on_bool(bool b, json::error_code&) { return Put(json::value(b)); }
  bool on_null(json::error_code&) { return Put(json::value(nullptr)); }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  static double ExactDouble(std::string_view s) {
    if (s == kNaNSentinel) return std::numeric_limits<double>::quiet_NaN();
    bool negative = !s.empty() && s.front() == '-';
    std::string_view digits = negative ? s.substr(1) : s;
    double d = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), d);
    if (ec == std::errc::result_out_of_range) {
      // from_chars leaves d untouched on overflow/underflow: decide by the exponent's sign.
      bool tiny = digits.find("e-") != std::string_view::npos || digits.find("E-") != std::string_view::npos;
      d = tiny ? 0.0 : std::numeric_limits<double>::infinity();
    }
    (void)ptr;
    return negative ? -d : d;
  }

  bool Put(json::value v) {
    if (stack_.empty()) {
      result = std::move(v);
      return true;
    }
    json::value& top = stack_.back();
    if (top.is_array()) {
      top.get_array().push_back(std::move(v));
    } else {
      // Duplicate keys: the later value wins, as in Python's json module.
      top.get_object()[keys_.back()] = std::move(v);
      keys_.pop_back();
    }
    return true;
  }

  bool Close() {
    json::value done = std::move(stack_.back());
    stack_.pop_back();
    return Put(std::move(done));
  }

  std::vector<json::value> stack_;
  std::vector<std::string> keys_;
  std::string key_;
  std::string text_;
};

}  // namespace

Result<json::value> ParseRunicornJson(std::string_view text) {
  std::string prepared = ReplaceNonFiniteTokens(text);
  json::basic_parser<ValueBuilder> parser{json::parse_options{}};
  json::error_code ec;
  std::size_t used = parser.write_some(false, prepared.data(), prepared.size(), ec);
  if (!ec && used != prepared.size()) ec = json::error::extra_data;
  if (ec) return Status::Corruption("invalid JSON: " + ec.message());
  return std::move(parser.handler().result);
}

Result<json::object> ParseRunicornObject(std::string_view text) {
  RUNTRACK_ASSIGN_OR_RETURN(json::value v, ParseRunicornJson(text));
  if (!v.is_object()) return Status::Corruption("invalid JSON: expected an object");
  return std::move(v.get_object());
}

std::optional<double> NumberMember(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  return std::nullopt;
}

std::string StringMember(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace runtrack::importer

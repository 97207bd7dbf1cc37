#include "runtrack/json_parse.h"

#include <charconv>
#include <limits>
#include <string>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>

namespace runtrack {
namespace json = boost::json;

namespace {

// Builds a json::value, converting doubles from their exact text.
class ExactValueBuilder {
 public:
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  explicit ExactValueBuilder(std::string_view nan_spelling) : nan_spelling_(nan_spelling) {}

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
    json::value v(json::string_view(text_.data(), text_.size()));
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
    const double d = ExactDouble(text_);
    text_.clear();
    return Put(json::value(d));
  }
  bool on_bool(bool b, json::error_code&) { return Put(json::value(b)); }
  bool on_null(json::error_code&) { return Put(json::value(nullptr)); }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  double ExactDouble(std::string_view s) const {
    if (!nan_spelling_.empty() && s == nan_spelling_) return std::numeric_limits<double>::quiet_NaN();
    const bool negative = !s.empty() && s.front() == '-';
    const std::string_view digits = negative ? s.substr(1) : s;
    double d = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), d);
    if (ec == std::errc::result_out_of_range) {
      // from_chars leaves d untouched on overflow/underflow: decide by the exponent's sign.
      const bool tiny = digits.find("e-") != std::string_view::npos || digits.find("E-") != std::string_view::npos;
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
      top.get_object()[keys_.back()] = std::move(v);  // a duplicate key: the later value wins
      keys_.pop_back();
    }
    return true;
  }

  bool Close() {
    json::value done = std::move(stack_.back());
    stack_.pop_back();
    return Put(std::move(done));
  }

  std::string_view nan_spelling_;
  std::vector<json::value> stack_;
  std::vector<std::string> keys_;
  std::string key_;
  std::string text_;
};

}  // namespace

json::value ParseJson(std::string_view text, json::error_code& ec, std::string_view nan_spelling) {
  ec = {};
  json::basic_parser<ExactValueBuilder> parser{json::parse_options{}, nan_spelling};
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && used != text.size()) ec = json::error::extra_data;
  if (ec) return nullptr;
  return std::move(parser.handler().result);
}

json::value ParseJson(std::string_view text, json::error_code& ec) { return ParseJson(text, ec, {}); }

}  // namespace runtrack

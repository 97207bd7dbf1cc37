// The little XML that S3 answers with (errors, listings, multipart uploads), read without an XML
// library: S3's replies are flat documents of known elements, so finding an element's text is all
// a client needs. Shared by s3_client.cpp and s3_multipart.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace runicorn::service::s3::xml {

// The five predefined entities back to characters ("&amp;" -> "&"); an unknown '&' stays.
std::string Unescape(std::string_view s);
// The characters that may not appear literally in element text (&, <, >) as entities.
std::string Escape(std::string_view s);

// The text of the first <tag>...</tag> at or after `from` (the raw text, not unescaped); `end`
// receives the position after the closing tag.
std::optional<std::string_view> Field(std::string_view xml, std::string_view tag, size_t from = 0,
                                      size_t* end = nullptr);

// Whether the document's root element is `tag` (with or without attributes such as xmlns, after
// an optional <?xml …?> declaration and white space).
bool HasRoot(std::string_view xml, std::string_view tag);

// `"abc"` -> `abc` (S3 quotes ETags).
std::string StripQuotes(std::string s);

// "2026-12-03T15:04:05.123Z" as seconds since the Unix epoch; 0 if unreadable.
double ParseIsoTime(std::string_view text);

}  // namespace runicorn::service::s3::xml

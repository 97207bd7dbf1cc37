#include "service/s3/s3_multipart.h"

#include <fmt/format.h>

#include "service/s3/s3_xml.h"

namespace runicorn::service::s3 {

using runtrack::Result;
using runtrack::Status;

namespace {

// Upload ids and ETags are opaque, but they go back into a URL query or an XML body: printable
// ASCII only, bounded.
bool PrintableToken(std::string_view s, size_t max_size) {
  if (s.empty() || s.size() > max_size) return false;
  for (unsigned char c : s)
    if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '&' || c == '"') return false;
  return true;
}

std::string Excerpt(std::string_view xml) {
  std::string s(xml.substr(0, 120));
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return xml.size() > 120 ? s + "…" : s;
}

}  // namespace

Result<std::string> ParseCreateMultipartUploadAnswer(std::string_view xml, std::string_view key) {
  if (!xml::HasRoot(xml, "InitiateMultipartUploadResult"))
    return Status::Corruption(fmt::format("s3: CreateMultipartUpload {}: the answer is not an "
                                          "InitiateMultipartUploadResult: {}", key, Excerpt(xml)));
  auto id = xml::Field(xml, "UploadId");
  if (!id) return Status::Corruption(fmt::format("s3: CreateMultipartUpload {}: the answer has no UploadId", key));
  std::string upload_id = xml::Unescape(*id);
  if (!PrintableToken(upload_id, 1024))
    return Status::Corruption(fmt::format("s3: CreateMultipartUpload {}: the answer's UploadId is empty, too long "
                                          "or not printable", key));
  // The Key element is optional in practice but, when present, must be ours.
  if (auto answered = xml::Field(xml, "Key"); answered && xml::Unescape(*answered) != key)
    return Status::Corruption(fmt::format("s3: CreateMultipartUpload {}: the answer names another key ({})", key,
                                          xml::Unescape(*answered)));
  return upload_id;
}

Result<std::string> CheckUploadPartETag(std::string_view etag) {
  if (!PrintableToken(etag, 256))
    return Status::Corruption(etag.empty() ? std::string("s3: UploadPart answered without an ETag")
                                           : fmt::format("s3: UploadPart answered a malformed ETag ({} bytes)",
                                                         etag.size()));
  return std::string(etag);
}

Result<std::string> FormatCompleteMultipartUpload(const std::vector<S3CompletedPart>& parts) {
  if (parts.empty()) return Status::InvalidArgument("s3: CompleteMultipartUpload needs at least one part");
  std::string body = R"(<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)";
  int last = 0;
  for (const S3CompletedPart& part : parts) {
    if (part.number <= last || part.number > kMaxMultipartParts)
      return Status::InvalidArgument(fmt::format("s3: CompleteMultipartUpload: part numbers must ascend within "
                                                 "1..{} (part {} after {})", kMaxMultipartParts, part.number, last));
    if (!PrintableToken(part.etag, 256))
      return Status::InvalidArgument(fmt::format("s3: CompleteMultipartUpload: part {} has no valid ETag", part.number));
    last = part.number;
    body += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>\"{}\"</ETag></Part>", part.number,
                        xml::Escape(part.etag));
  }
  body += "</CompleteMultipartUpload>";
  return body;
}

Status CheckCompleteMultipartUploadAnswer(std::string_view xml) {
  if (xml::HasRoot(xml, "Error")) {
    const std::string code = xml::Unescape(xml::Field(xml, "Code").value_or(""));
    const std::string message = xml::Unescape(xml::Field(xml, "Message").value_or(""));
    return Status::IOError(fmt::format("s3: CompleteMultipartUpload failed after HTTP 200: {}{}{}",
                                       code.empty() ? "no error code" : code, message.empty() ? "" : ": ", message));
  }
  if (!xml::HasRoot(xml, "CompleteMultipartUploadResult"))
    return Status::Corruption(fmt::format("s3: CompleteMultipartUpload: the answer is not a "
                                          "CompleteMultipartUploadResult: {}", Excerpt(xml)));
  return Status::Ok();
}

Result<S3MultipartUploadPage> ParseListMultipartUploadsAnswer(std::string_view xml) {
  if (!xml::HasRoot(xml, "ListMultipartUploadsResult"))
    return Status::Corruption(fmt::format("s3: ListMultipartUploads: the answer is not a ListMultipartUploadsResult: {}",
                                          Excerpt(xml)));
  S3MultipartUploadPage page;
  size_t pos = 0, end = 0;
  while (auto upload = xml::Field(xml, "Upload", pos, &end)) {
    auto key = xml::Field(*upload, "Key");
    auto id = xml::Field(*upload, "UploadId");
    if (!key || !id || key->empty() || !PrintableToken(xml::Unescape(*id), 1024))
      return Status::Corruption("s3: ListMultipartUploads: an Upload without a Key or a valid UploadId");
    S3MultipartUploadInfo info;
    info.key = xml::Unescape(*key);
    info.upload_id = xml::Unescape(*id);
    info.initiated = xml::ParseIsoTime(xml::Field(*upload, "Initiated").value_or(""));
    page.uploads.push_back(std::move(info));
    pos = end;
  }
  const std::string_view truncated = xml::Field(xml, "IsTruncated").value_or("false");
  if (truncated != "true" && truncated != "false")
    return Status::Corruption(fmt::format("s3: ListMultipartUploads: IsTruncated is '{}'", Excerpt(truncated)));
  if (truncated == "true") {
    page.next_key_marker = xml::Unescape(xml::Field(xml, "NextKeyMarker").value_or(""));
    page.next_upload_id_marker = xml::Unescape(xml::Field(xml, "NextUploadIdMarker").value_or(""));
    if (page.next_key_marker.empty())
      return Status::Corruption("s3: ListMultipartUploads answered IsTruncated without a NextKeyMarker");
  }
  return page;
}

}  // namespace runicorn::service::s3

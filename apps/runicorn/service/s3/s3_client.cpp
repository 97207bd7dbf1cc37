#include "service/s3/s3_client.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "service/s3/s3_xml.h"

namespace runicorn::service::s3 {

std::string Sha256Hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

using runtrack::Result;
using runtrack::Status;

struct S3Client::Request {
  const char* op = "";          // for messages: "PutObject", ...
  std::string method;           // GET, PUT, POST, HEAD, DELETE
  std::string key;              // "" for bucket-level requests
  std::string query;            // canonical: sorted, encoded
  std::string_view body;        // PUT and POST only
  std::optional<std::pair<uint64_t, uint64_t>> range;  // [first, last]
  const BodySink* sink = nullptr;
  std::atomic<uint64_t>* counter = nullptr;
};

struct S3Client::Reply {
  long http = 0;
  std::string body;
  std::string etag;
  uint64_t content_length = 0;
};

namespace {

constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// AWS's URI encoding: unreserved characters stay, everything else %XX (upper case); '/' stays
// in paths. SigV4 signs the canonical form, so the URL must already be in it.
std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || c == '.' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

Status ValidateKey(std::string_view key) {
  if (key.empty() || key.size() > 1024) return Status::InvalidArgument("s3: object keys must be 1..1024 bytes");
  for (unsigned char c : key)
    if (c < 0x20 || c == 0x7f) return Status::InvalidArgument("s3: object keys may not contain control characters");
  return Status::Ok();
}

struct Transfer {
  std::string_view body;
  size_t sent = 0;
  std::string received;
  const S3Client::BodySink* sink = nullptr;
  bool aborted = false;
  bool delivered = false;
  long http = 0;
  CURL* curl = nullptr;
  std::string etag;
  uint64_t content_length = 0;
};

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = std::min(size * n, t->body.size() - t->sent);
  std::memcpy(buf, t->body.data() + t->sent, len);
  t->sent += len;
  return len;
}

// Lets curl send a PUT body again from the start: a reused connection the server closed while
// idle is only found dead once the request went out, and curl then retries on a new one.
int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > t->body.size()) return CURL_SEEKFUNC_CANTSEEK;
  t->sent = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t OnWrite(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  if (t->http == 0) curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->http);
  // Error bodies are always collected (for the message); success bodies go to the sink if any.
  if (t->sink != nullptr && t->http >= 200 && t->http < 300) {
    t->delivered = true;
    if (!(*t->sink)(std::string_view(data, len))) {
      t->aborted = true;
      return 0;
    }
    return len;
  }
  t->received.append(data, len);
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    if (name == "etag") t->etag = xml::StripQuotes(std::string(value));
    if (name == "content-length") t->content_length = std::strtoull(std::string(value).c_str(), nullptr, 10);
  }
  return size * n;
}

}  // namespace

S3Client::S3Client(S3Location location, S3Credentials credentials, S3ClientOptions options)
    : location_(std::move(location)), credentials_(std::move(credentials)), options_(options) {
  GlobalInit();
}

S3Client::~S3Client() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* S3Client::AcquireHandle() {
  if (options_.reuse_connections) {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!idle_.empty()) {
      CURL* curl = static_cast<CURL*>(idle_.back());
      idle_.pop_back();
      // Forgets every option of the last call; keeps the connection cache, so the next request
      // to the endpoint reuses the kept-alive connection.
      curl_easy_reset(curl);
      return curl;
    }
  }
  return curl_easy_init();
}

void S3Client::ReleaseHandle(void* handle) {
  if (options_.reuse_connections) {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (idle_.size() < options_.max_idle_handles) {
      idle_.push_back(handle);
      return;
    }
  }
  curl_easy_cleanup(static_cast<CURL*>(handle));
}

Result<S3Client::Reply> S3Client::SendOnce(const Request& req, bool* retryable) {
  *retryable = false;
  CURL* curl = static_cast<CURL*>(AcquireHandle());
  if (curl == nullptr) return Status::IOError("s3: curl_easy_init failed");
  Transfer t;
  t.body = req.body;
  t.sink = req.sink;
  t.curl = curl;

  std::string url = fmt::format("{}/{}", location_.endpoint, location_.bucket);
  if (!req.key.empty()) url += "/" + UriEncode(req.key, true);
  if (!req.query.empty()) url += "?" + req.query;
  const std::string payload_hash = req.body.empty() ? std::string(kEmptySha256) : Sha256Hex(req.body);
  const std::string sigv4 = fmt::format("aws:amz:{}:s3", location_.region);

  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, fmt::format("x-amz-content-sha256: {}", payload_hash).c_str());
  if (!credentials_.session_token.empty())
    headers = curl_slist_append(headers, fmt::format("x-amz-security-token: {}", credentials_.session_token).c_str());
  if (req.range)
    headers = curl_slist_append(headers, fmt::format("Range: bytes={}-{}", req.range->first, req.range->second).c_str());
  // No "Expect:" removal header: libcurl 7.88 signs every CURLOPT_HTTPHEADER entry, including an
  // empty one it then does not send, and the server answers SignatureDoesNotMatch.

  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(curl, CURLOPT_USERNAME, credentials_.access_key_id.c_str());
  curl_easy_setopt(curl, CURLOPT_PASSWORD, credentials_.secret_access_key.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, options_.connect_timeout_seconds);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, options_.timeout_seconds);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnWrite);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  if (req.method == "PUT" || req.method == "POST") {
    // A POST body goes through the same read callback as a PUT's (the method name replaced), so
    // curl adds no form Content-Type and a rewind works the same.
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    if (req.method == "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "POST");
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(curl, CURLOPT_READDATA, &t);
    curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, OnSeek);
    curl_easy_setopt(curl, CURLOPT_SEEKDATA, &t);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  } else if (req.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (req.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  if (req.counter) ++*req.counter;
  CURLcode rc = curl_easy_perform(curl);
  long http = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http);
  long connects = 0;
  if (curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0)
    counts_.connections += static_cast<uint64_t>(connects);
  curl_slist_free_all(headers);
  // A handle whose connection broke is still reusable: curl notices and connects again.
  ReleaseHandle(curl);

  const std::string where = req.key.empty() ? fmt::format("bucket {}", location_.bucket)
                                            : fmt::format("{}/{}", location_.bucket, req.key);
  if (t.aborted) return Status::IOError(fmt::format("s3: {} {}: aborted by the receiver", req.op, where));
  if (rc != CURLE_OK) {
    // A streamed body already handed out cannot be taken back, so that one is not retried.
    *retryable = !t.delivered;
    return Status::IOError(fmt::format("s3: {} {} at {}: {}", req.op, where, location_.endpoint, curl_easy_strerror(rc)));
  }
  if (http >= 200 && http < 300) return Reply{http, std::move(t.received), std::move(t.etag), t.content_length};

  std::string code = std::string(xml::Field(t.received, "Code").value_or(""));
  std::string message = xml::Unescape(xml::Field(t.received, "Message").value_or(""));
  std::string detail = code.empty() ? fmt::format("HTTP {}", http) : fmt::format("HTTP {} {}", http, code);
  if (!message.empty()) detail += ": " + message;
  std::string text = fmt::format("s3: {} {}: {}", req.op, where, detail);
  if (http == 404) return Status::NotFound(text);
  if (http == 403) return Status::FailedPrecondition(text + " (check the S3 credentials and the bucket's policy)");
  if (http == 409 && code == "BucketAlreadyOwnedByYou") return Status::AlreadyExists(text);
  if (http == 409 && code == "BucketAlreadyExists") return Status::AlreadyExists(text);
  if (http >= 500 || http == 429) {
    *retryable = !t.delivered;
    return Status::IOError(text);
  }
  return Status::InvalidArgument(text);
}

Result<S3Client::Reply> S3Client::Send(const Request& req) {
  auto delay = std::chrono::milliseconds(100);
  for (int attempt = 1;; ++attempt) {
    bool retryable = false;
    auto reply = SendOnce(req, &retryable);
    if (reply.ok() || !retryable || attempt >= options_.max_attempts) return reply;
    std::this_thread::sleep_for(delay);
    delay *= 4;
  }
}

Status S3Client::PutObject(std::string_view key, std::string_view bytes) {
  RUNTRACK_RETURN_IF_ERROR(ValidateKey(key));
  Request req;
  req.op = "PutObject";
  req.method = "PUT";
  req.key = std::string(key);
  req.body = bytes;
  req.counter = &counts_.put;
  return Send(req).status();
}

Result<std::string> S3Client::GetObject(std::string_view key) {
  RUNTRACK_RETURN_IF_ERROR(ValidateKey(key));
  Request req;
  req.op = "GetObject";
  req.method = "GET";
  req.key = std::string(key);
  req.counter = &counts_.get;
  RUNTRACK_ASSIGN_OR_RETURN(auto reply, Send(req));
  return std::move(reply.body);
}

Status S3Client::GetObject(std::string_view key, const BodySink& sink) {
  RUNTRACK_RETURN_IF_ERROR(ValidateKey(key));
  Request req;
  req.op = "GetObject";
  req.method = "GET";
  req.key = std::string(key);
  req.sink = &sink;
  req.counter = &counts_.get;
  return Send(req).status();
}

Result<std::string> S3Client::GetRange(std::string_view key, uint64_t offset, uint64_t length) {
  RUNTRACK_RETURN_IF_ERROR(ValidateKey(key));
  if (length == 0) return std::string();
  Request req;
  req.op = "GetObject";
  req.method = "GET";
  req.key = std::string(key);
  req.range = std::make_pair(offset, offset + length - 1);
  req.counter = &counts_.get;
  RUNTRACK_ASSIGN_OR_RETURN(auto reply, Send(req));
  return std::move(reply.body);
}

Result<S3ObjectInfo> S3Client::HeadObject(std::string_view key) {
  RUNTRACK_RETURN_IF_ERROR(ValidateKey(key));
  Request req;
  req.op = "HeadObject";
  req.method = "HEAD";
  req.key = std::string(key);
  req.counter = &counts_.head;
  RUNTRACK_ASSIGN_OR_RETURN(auto reply, Send(req));
  return S3ObjectInfo{std::string(key), reply.content_length, std::move(reply.etag)};
}

Status S3Client::DeleteObject(std::string_view key) {
  RUNTRACK_RETURN_IF_ERROR(ValidateKey(key));
  Request req;
  req.op = "DeleteObject";
  req.method = "DELETE";
  req.key = std::string(key);
  req.counter = &counts_.del;
  auto reply = Send(req);
  if (!reply.ok() && reply.status().code() == runtrack::StatusCode::kNotFound &&
      reply.status().message().find("NoSuchKey") != std::string::npos)
    return Status::Ok();
  return reply.status();
}

Result<S3ListPage> S3Client::ListObjects(std::string_view prefix, std::string_view continuation_token, int max_keys) {
  if (max_keys < 1 || max_keys > 1000) return Status::InvalidArgument("s3: max_keys must be in [1, 1000]");
  Request req;
  req.op = "ListObjectsV2";
  req.method = "GET";
  // Parameters in sorted order: SigV4 signs the query as given by libcurl 7.88.
  if (!continuation_token.empty()) req.query += "continuation-token=" + UriEncode(continuation_token, false) + "&";
  req.query += fmt::format("list-type=2&max-keys={}&prefix={}", max_keys, UriEncode(prefix, false));
  req.counter = &counts_.list;
  RUNTRACK_ASSIGN_OR_RETURN(auto reply, Send(req));
  S3ListPage page;
  std::string_view body = reply.body;
  size_t pos = 0, end = 0;
  while (auto contents = xml::Field(body, "Contents", pos, &end)) {
    S3ObjectInfo info;
    info.key = xml::Unescape(xml::Field(*contents, "Key").value_or(""));
    info.size = std::strtoull(std::string(xml::Field(*contents, "Size").value_or("0")).c_str(), nullptr, 10);
    info.etag = xml::StripQuotes(xml::Unescape(xml::Field(*contents, "ETag").value_or("")));
    info.last_modified = xml::ParseIsoTime(xml::Field(*contents, "LastModified").value_or(""));
    page.objects.push_back(std::move(info));
    pos = end;
  }
  if (xml::Field(body, "IsTruncated").value_or("false") == "true") {
    page.next_token = xml::Unescape(xml::Field(body, "NextContinuationToken").value_or(""));
    if (page.next_token.empty())
      return Status::Corruption("s3: ListObjectsV2 answered IsTruncated without a NextContinuationToken");
  }
  return page;
}

Result<std::vector<S3ObjectInfo>> S3Client::ListAll(std::string_view prefix) {
  std::vector<S3ObjectInfo> all;
  std::string token;
  do {
    RUNTRACK_ASSIGN_OR_RETURN(auto page, ListObjects(prefix, token));
    for (auto& o : page.objects) all.push_back(std::move(o));
    token = std::move(page.next_token);
  } while (!token.empty());
  return all;
}

Result<std::string> S3Client::CreateMultipartUpload(std::string_view key) {
  RUNTRACK_RETURN_IF_ERROR(ValidateKey(key));
  Request req;
  req.op = "CreateMultipartUpload";
  req.method = "POST";
  req.key = std::string(key);
  // "uploads=", not "uploads": libcurl signs the query as written and SigV4's canonical form of a
  // valueless parameter has the '='.
  req.query = "uploads=";
  req.counter = &counts_.post;
  RUNTRACK_ASSIGN_OR_RETURN(auto reply, Send(req));
  return ParseCreateMultipartUploadAnswer(reply.body, key);
}

Result<std::string> S3Client::UploadPart(std::string_view key, std::string_view upload_id, int part_number,
                                         std::string_view bytes) {
  RUNTRACK_RETURN_IF_ERROR(ValidateKey(key));
  if (part_number < 1 || part_number > kMaxMultipartParts)
    return Status::InvalidArgument(fmt::format("s3: part numbers are 1..{} (got {})", kMaxMultipartParts, part_number));
  if (upload_id.empty()) return Status::InvalidArgument("s3: UploadPart needs an upload id");
  Request req;
  req.op = "UploadPart";
  req.method = "PUT";
  req.key = std::string(key);
  req.query = fmt::format("partNumber={}&uploadId={}", part_number, UriEncode(upload_id, false));
  req.body = bytes;  // Send signs this part's own SHA-256
  req.counter = &counts_.put;
  RUNTRACK_ASSIGN_OR_RETURN(auto reply, Send(req));
  return CheckUploadPartETag(reply.etag);
}

Status S3Client::CompleteMultipartUpload(std::string_view key, std::string_view upload_id,
                                         const std::vector<S3CompletedPart>& parts) {
  RUNTRACK_RETURN_IF_ERROR(ValidateKey(key));
  if (upload_id.empty()) return Status::InvalidArgument("s3: CompleteMultipartUpload needs an upload id");
  RUNTRACK_ASSIGN_OR_RETURN(const std::string body, FormatCompleteMultipartUpload(parts));
  Request req;
  req.op = "CompleteMultipartUpload";
  req.method = "POST";
  req.key = std::string(key);
  req.query = "uploadId=" + UriEncode(upload_id, false);
  req.body = body;
  req.counter = &counts_.post;
  RUNTRACK_ASSIGN_OR_RETURN(auto reply, Send(req));
  return CheckCompleteMultipartUploadAnswer(reply.body);
}

Status S3Client::AbortMultipartUpload(std::string_view key, std::string_view upload_id) {
  RUNTRACK_RETURN_IF_ERROR(ValidateKey(key));
  if (upload_id.empty()) return Status::InvalidArgument("s3: AbortMultipartUpload needs an upload id");
  Request req;
  req.op = "AbortMultipartUpload";
  req.method = "DELETE";
  req.key = std::string(key);
  req.query = "uploadId=" + UriEncode(upload_id, false);
  req.counter = &counts_.del;
  auto reply = Send(req);
  if (!reply.ok() && reply.status().code() == runtrack::StatusCode::kNotFound &&
      reply.status().message().find("NoSuchUpload") != std::string::npos)
    return Status::Ok();
  return reply.status();
}

Result<std::vector<S3MultipartUploadInfo>> S3Client::ListMultipartUploads(std::string_view prefix) {
  std::vector<S3MultipartUploadInfo> all;
  std::string key_marker, upload_id_marker;
  for (;;) {
    Request req;
    req.op = "ListMultipartUploads";
    req.method = "GET";
    // Sorted, as ListObjects: key-marker < prefix < upload-id-marker < uploads.
    if (!key_marker.empty()) req.query += "key-marker=" + UriEncode(key_marker, false) + "&";
    req.query += "prefix=" + UriEncode(prefix, false) + "&";
    if (!upload_id_marker.empty()) req.query += "upload-id-marker=" + UriEncode(upload_id_marker, false) + "&";
    req.query += "uploads=";
    req.counter = &counts_.list;
    RUNTRACK_ASSIGN_OR_RETURN(auto reply, Send(req));
    RUNTRACK_ASSIGN_OR_RETURN(auto page, ParseListMultipartUploadsAnswer(reply.body));
    for (auto& upload : page.uploads) all.push_back(std::move(upload));
    if (page.next_key_marker.empty()) return all;
    if (page.next_key_marker == key_marker && page.next_upload_id_marker == upload_id_marker)
      return Status::Corruption("s3: ListMultipartUploads answered the same page marker twice");
    key_marker = std::move(page.next_key_marker);
    upload_id_marker = std::move(page.next_upload_id_marker);
  }
}

Status S3Client::CreateBucket() {
  Request req;
  req.op = "CreateBucket";
  req.method = "PUT";
  return Send(req).status();
}

Status S3Client::CheckBucket() {
  Request req;
  req.op = "HeadBucket";
  req.method = "HEAD";
  req.counter = &counts_.head;
  return Send(req).status();
}

}  // namespace runicorn::service::s3

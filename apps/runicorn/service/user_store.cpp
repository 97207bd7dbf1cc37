#include "service/user_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <utility>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "runtrack/json_parse.h"

#include "service/iso_time.h"
#include "service/jwt.h"
#include "service/secret_file.h"

namespace runicorn::service {
namespace json = boost::json;
using runtrack::Result;
using runtrack::Status;

namespace {

struct StoredUser {
  UserInfo info;
  std::string salt;  // raw bytes
  std::string hash;  // raw bytes
  int iterations = 0;
};

std::string Hex(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

std::optional<std::string> Unhex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

Result<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    return Status::Internal("RAND_bytes failed");
  return out;
}

Result<std::string> Pbkdf2(std::string_view password, std::string_view salt, int iterations) {
  std::string out(32, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                        iterations, EVP_sha256(), static_cast<int>(out.size()),
                        reinterpret_cast<unsigned char*>(out.data())) != 1)
    return Status::Internal("PKCS5_PBKDF2_HMAC failed");
  return out;
}


Result<std::vector<StoredUser>> Load(const runtrack::StoreLayout& layout) {
  auto text = ReadSecretFile(layout.users_path());
  if (!text.ok()) {
    if (text.status().code() == runtrack::StatusCode::kNotFound) return std::vector<StoredUser>{};
    return text.status();
  }
  auto bad = [&] { return Status::Corruption(fmt::format("{} is not a valid users file", layout.users_path().string())); };
  boost::system::error_code ec;
  json::value v = runtrack::ParseJson(*text, ec);
  if (ec || !v.is_object()) return bad();
  const auto& o = v.as_object();
  if (!o.contains("version") || o.at("version") != json::value(1)) return bad();
  const json::value* users = o.if_contains("users");
  if (users == nullptr || !users->is_array()) return bad();
  std::vector<StoredUser> out;
  for (const auto& u : users->as_array()) {
    if (!u.is_object()) return bad();
    const auto& uo = u.as_object();
    StoredUser s;
    for (const char* key : {"name", "id", "salt", "hash", "created_at"})
      if (!uo.contains(key) || !uo.at(key).is_string()) return bad();
    if (!uo.contains("iterations") || !uo.at("iterations").is_int64()) return bad();
    s.info.name = std::string(uo.at("name").as_string());
    s.info.id = std::string(uo.at("id").as_string());
    s.info.created_at = std::string(uo.at("created_at").as_string());
    auto salt = Unhex(uo.at("salt").as_string());
    auto hash = Unhex(uo.at("hash").as_string());
    s.iterations = static_cast<int>(uo.at("iterations").as_int64());
    if (!salt || !hash || hash->size() != 32 || s.iterations < 1) return bad();
    s.salt = std::move(*salt);
    s.hash = std::move(*hash);
    out.push_back(std::move(s));
  }
  return out;
}

Status Save(const runtrack::StoreLayout& layout, std::vector<StoredUser> users) {
  std::sort(users.begin(), users.end(), [](const auto& a, const auto& b) { return a.info.name < b.info.name; });
  json::array arr;
  for (const auto& u : users)
    arr.push_back(json::object{{"name", u.info.name},
                               {"id", u.info.id},
                               {"salt", Hex(u.salt)},
                               {"hash", Hex(u.hash)},
                               {"iterations", u.iterations},
                               {"created_at", u.info.created_at}});
  return WriteSecretFile(layout.users_path(), json::serialize(json::object{{"version", 1}, {"users", arr}}) + "\n");
}

// Holds an exclusive flock on users_lock_path() for a read-modify-write of the users file: the
// file itself is replaced by rename, so it cannot carry the lock.
class UsersLock {
 public:
  static Result<UsersLock> Acquire(const runtrack::StoreLayout& layout) {
    int fd = ::open(layout.users_lock_path().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Status::IOError(fmt::format("open {}: {}", layout.users_lock_path().string(), std::strerror(errno)));
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Status::IOError(fmt::format("flock {}: {}", layout.users_lock_path().string(), std::strerror(err)));
    }
    return UsersLock(fd);
  }
  UsersLock(UsersLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UsersLock& operator=(UsersLock&&) = delete;
  ~UsersLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the flock
  }

 private:
  explicit UsersLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace

Status ValidateUserName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 && std::isalnum(static_cast<unsigned char>(name[0])) &&
            std::all_of(name.begin(), name.end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
            });
  if (!ok)
    return Status::InvalidArgument(
        "Invalid user name: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
  return Status::Ok();
}

Status ValidatePassword(std::string_view password) {
  if (password.size() < 8) return Status::InvalidArgument("Password too short: use at least 8 characters");
  if (password.size() > 1024) return Status::InvalidArgument("Password too long: use at most 1024 bytes");
  return Status::Ok();
}

std::string HexOf(std::string_view bytes) { return Hex(bytes); }
std::optional<std::string> BytesOfHex(std::string_view hex) { return Unhex(hex); }

Result<PasswordHash> HashPassword(std::string_view password) {
  RUNTRACK_ASSIGN_OR_RETURN(std::string salt, RandomBytes(16));
  RUNTRACK_ASSIGN_OR_RETURN(std::string hash, Pbkdf2(password, salt, UserStore::kIterations));
  return PasswordHash{std::move(salt), std::move(hash), UserStore::kIterations};
}

Result<bool> VerifyPassword(std::string_view password, const PasswordHash* stored) {
  static const std::string kDummySalt(16, 'x');
  auto hash = Pbkdf2(password.substr(0, 1024), stored ? stored->salt : kDummySalt,
                     stored ? stored->iterations : UserStore::kIterations);
  if (!hash.ok()) return hash.status();
  return stored != nullptr && hash->size() == stored->hash.size() &&
         CRYPTO_memcmp(hash->data(), stored->hash.data(), hash->size()) == 0;
}

Result<std::string> NewUserId() {
  RUNTRACK_ASSIGN_OR_RETURN(std::string id, RandomBytes(16));
  return Hex(id);
}

Result<std::string> UserStore::TokenKey() const { return LoadOrCreateTokenKey(layout_); }

Result<UserInfo> UserStore::Add(std::string_view name, std::string_view password) {
  if (Status s = ValidateUserName(name); !s.ok()) return s;
  if (Status s = ValidatePassword(password); !s.ok()) return s;
  // The slow hash first, outside the lock, so concurrent adds wait only for the file update.
  StoredUser s;
  auto salt = RandomBytes(16);
  auto id = RandomBytes(16);
  if (!salt.ok()) return salt.status();
  if (!id.ok()) return id.status();
  auto hash = Pbkdf2(password, *salt, kIterations);
  if (!hash.ok()) return hash.status();
  s.info = UserInfo{std::string(name), Hex(*id), NowIsoUtc()};
  s.salt = std::move(*salt);
  s.hash = std::move(*hash);
  s.iterations = kIterations;

  auto lock = UsersLock::Acquire(layout_);
  if (!lock.ok()) return lock.status();
  auto users = Load(layout_);
  if (!users.ok()) return users.status();
  for (const auto& u : *users)
    if (u.info.name == name) return Status::AlreadyExists(fmt::format("user '{}' already exists", name));
  UserInfo info = s.info;
  users->push_back(std::move(s));
  if (Status st = Save(layout_, std::move(*users)); !st.ok()) return st;
  return info;
}

Status UserStore::Remove(std::string_view name) {
  auto lock = UsersLock::Acquire(layout_);
  if (!lock.ok()) return lock.status();
  auto users = Load(layout_);
  if (!users.ok()) return users.status();
  auto it = std::find_if(users->begin(), users->end(), [&](const auto& u) { return u.info.name == name; });
  if (it == users->end()) return Status::NotFound(fmt::format("user '{}' does not exist", name));
  users->erase(it);
  return Save(layout_, std::move(*users));
}

Result<std::vector<UserInfo>> UserStore::List() const {
  auto users = Load(layout_);
  if (!users.ok()) return users.status();
  std::vector<UserInfo> out;
  for (auto& u : *users) out.push_back(std::move(u.info));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

Result<std::optional<UserInfo>> UserStore::Authenticate(std::string_view name, std::string_view password) const {
  auto users = Load(layout_);
  if (!users.ok()) return users.status();
  auto it = std::find_if(users->begin(), users->end(), [&](const auto& u) { return u.info.name == name; });
  // An unknown name still costs one hash against a fixed salt, so response times do not reveal
  // which names exist.
  static const std::string kDummySalt(16, 'x');
  const bool known = it != users->end();
  auto hash = Pbkdf2(password.substr(0, 1024), known ? it->salt : kDummySalt, known ? it->iterations : kIterations);
  if (!hash.ok()) return hash.status();
  if (!known || hash->size() != it->hash.size() ||
      CRYPTO_memcmp(hash->data(), it->hash.data(), hash->size()) != 0)
    return std::optional<UserInfo>();
  return std::optional<UserInfo>(it->info);
}

Result<std::optional<UserInfo>> UserStore::Find(std::string_view name, std::string_view id) const {
  auto users = Load(layout_);
  if (!users.ok()) return users.status();
  for (auto& u : *users)
    if (u.info.name == name && u.info.id.size() == id.size() &&
        CRYPTO_memcmp(u.info.id.data(), id.data(), id.size()) == 0)
      return std::optional<UserInfo>(std::move(u.info));
  return std::optional<UserInfo>();
}

}  // namespace runicorn::service

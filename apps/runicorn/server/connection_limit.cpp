#include "server/connection_limit.h"

namespace runicorn::server::detail {

ConnectionSlot& ConnectionSlot::operator=(ConnectionSlot&& other) noexcept {
  if (this != &other) {
    if (owner_) owner_->Release();
    owner_ = other.owner_;
    other.owner_ = nullptr;
  }
  return *this;
}

ConnectionSlot::~ConnectionSlot() {
  if (owner_) owner_->Release();
}

bool ConnectionLimit::TryAcquire(ConnectionSlot* slot) {
  {
    std::lock_guard lock(mu_);
    if (in_use_ >= max_) return false;
    ++in_use_;
  }
  *slot = ConnectionSlot(this);
  return true;
}

bool ConnectionLimit::WaitForSlot(std::function<void()> on_free) {
  std::lock_guard lock(mu_);
  if (in_use_ < max_) return false;
  waiter_ = std::move(on_free);
  return true;
}

size_t ConnectionLimit::in_use() const {
  std::lock_guard lock(mu_);
  return in_use_;
}

void ConnectionLimit::Release() {
  std::function<void()> waiter;
  {
    std::lock_guard lock(mu_);
    --in_use_;
    waiter = std::move(waiter_);
    waiter_ = nullptr;
  }
  if (waiter) waiter();  // outside the lock: it may acquire again
}

}  // namespace runicorn::server::detail

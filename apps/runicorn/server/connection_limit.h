// A cap on the connections the viewer holds open, so a flood of idle connections can neither use
// up the process's file descriptors (the indexer needs some to read journals and the catalog) nor
// make the listener spin on accept() failing with EMFILE.
//
// Each accepted connection holds a ConnectionSlot (moved from the HTTP session to the WebSocket
// session on upgrade) and frees it when the session ends. When every slot is in use the listener
// stops accepting and registers a callback with WaitForSlot(); the release that frees a slot runs
// it (at most once), and the listener accepts again.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>

namespace runicorn::server::detail {

class ConnectionLimit;

// Move-only ownership of one slot; the destructor returns it.
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  explicit ConnectionSlot(ConnectionLimit* owner) : owner_(owner) {}
  ConnectionSlot(ConnectionSlot&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
  ConnectionSlot& operator=(ConnectionSlot&& other) noexcept;
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  ~ConnectionSlot();

 private:
  ConnectionLimit* owner_ = nullptr;
};

class ConnectionLimit {
 public:
  explicit ConnectionLimit(size_t max) : max_(max < 1 ? 1 : max) {}

  // A slot when one is free; an empty slot (holding nothing) and false otherwise.
  bool TryAcquire(ConnectionSlot* slot);
  // True when every slot is in use: `on_free` will then be called once, by the thread that frees
  // the next slot. False (and `on_free` dropped) when a slot is free now. A later registration
  // replaces an earlier one that has not run.
  bool WaitForSlot(std::function<void()> on_free);

  size_t in_use() const;
  size_t max() const { return max_; }

 private:
  friend class ConnectionSlot;
  void Release();

  const size_t max_;
  mutable std::mutex mu_;
  size_t in_use_ = 0;
  std::function<void()> waiter_;
};

}  // namespace runicorn::server::detail

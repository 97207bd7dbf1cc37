#include "server/bodies.h"

#include <algorithm>
#include <cstring>

namespace runicorn::server {

runtrack::Result<size_t> GeneratedBody::Read(char* out, size_t capacity) {
  while (pending_pos_ == pending_.size() && !done_) {
    pending_.clear();
    pending_pos_ = 0;
    RUNTRACK_ASSIGN_OR_RETURN(bool more, next_(&pending_));
    done_ = !more;
  }
  size_t n = std::min(capacity, pending_.size() - pending_pos_);
  std::memcpy(out, pending_.data() + pending_pos_, n);
  pending_pos_ += n;
  return n;
}

}  // namespace runicorn::server

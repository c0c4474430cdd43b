#include "plugin/host_buffer.hpp"

#include <new>

namespace kleene::plugin::detail {

HostBuffer::HostBuffer(std::size_t limit) : buffer_{this, &HostBuffer::append}, limit_(limit) {}

int HostBuffer::append(kleene_buffer* self, const char* data, std::size_t len) noexcept {
  if (self == nullptr || self->opaque == nullptr) return KLEENE_E_FAILED;
  auto* buffer = static_cast<HostBuffer*>(self->opaque);
  if (len == 0) return KLEENE_OK;
  if (data == nullptr || len > buffer->limit_ - buffer->data_.size()) {
    buffer->overflowed_ = data != nullptr;
    return KLEENE_E_FAILED;
  }
  try {
    buffer->data_.append(data, len);
  } catch (const std::bad_alloc&) {
    buffer->overflowed_ = true;
    return KLEENE_E_FAILED;
  }
  return KLEENE_OK;
}

}  // namespace kleene::plugin::detail

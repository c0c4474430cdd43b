// Cryptographically secure randomness from the kernel (getrandom).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace kleene {

// Fill `out` from getrandom(2). Aborts if the kernel cannot provide randomness: an id or name
// from a weak source would be worse than stopping.
void random_bytes(std::span<std::byte> out);

// Uniform in [0, bound), without modulo bias. bound must be > 0.
[[nodiscard]] std::uint32_t random_below(std::uint32_t bound);

}  // namespace kleene

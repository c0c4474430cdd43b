// Errors in the core and plugins: an errno-like code plus a message, carried in
// std::expected and propagated with TRY (the SerenityOS AK/Try.h idiom).
#pragma once

#include <cerrno>
#include <expected>
#include <string>
#include <utility>

namespace kleene {

struct Error {
  int code = EIO;  // an errno value (ENOENT, EINVAL, EEXIST, EBUSY, ...)
  std::string message;

  // "context: message" — add what the caller was doing, keep the code.
  [[nodiscard]] Error wrap(std::string_view context) const {
    return Error{code, std::string(context) + ": " + message};
  }
};

template <typename T = void>
using Result = std::expected<T, Error>;

[[nodiscard]] inline std::unexpected<Error> make_error(int code, std::string message) {
  return std::unexpected(Error{code, std::move(message)});
}

// The message of the current errno, e.g. "open /x: No such file or directory".
[[nodiscard]] std::unexpected<Error> errno_error(std::string_view what);

}  // namespace kleene

// Evaluate a Result; on error return it from the enclosing function, else yield the value.
// __extension__ keeps -Wpedantic quiet about the GNU statement expression.
#define TRY(expr)                                                                           \
  __extension__({                                                                           \
    auto&& kleene_try_result_ = (expr);                                                     \
    if (!kleene_try_result_) return std::unexpected(std::move(kleene_try_result_).error()); \
    std::move(kleene_try_result_).value();                                                  \
  })

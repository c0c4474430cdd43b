#include "util/error.hpp"

#include <cstring>
#include <string>

namespace kleene {

std::unexpected<Error> errno_error(std::string_view what) {
  const int code = errno;  // read first: building the message may clobber errno
  std::string message(what);
  message += ": ";
  message += ::strerrordesc_np(code) != nullptr ? ::strerrordesc_np(code) : "Unknown error";
  return std::unexpected(Error{code, std::move(message)});
}

}  // namespace kleene

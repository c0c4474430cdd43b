// A shared library loaded on first use (dlopen) instead of linked: for libraries that a daemon
// which never needs them should not carry in memory (libcurl, libnftables). Functions are
// bound with the types of the library's own header, so a symbol of another type does not
// compile. Users link ${CMAKE_DL_LIBS}.
#pragma once

#include <dlfcn.h>

#include <cerrno>
#include <string>

#include "util/error.hpp"

namespace kleene::util {

class SharedLibrary {
 public:
  // RTLD_NOW | RTLD_LOCAL. The handle is never closed: the library's global state lives until
  // the process exits.
  static Result<SharedLibrary> open(const char* soname) {
    void* handle = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = ::dlerror();
      return make_error(ENOENT, std::string("cannot load ") + soname + ": " +
                                    (why != nullptr ? why : "unknown error"));
    }
    return SharedLibrary(handle, soname);
  }

  // Binds `function` to the symbol `name`; a missing one is collected for check().
  template <class Function>
  void bind(Function*& function, const char* name) {
    function = reinterpret_cast<Function*>(::dlsym(handle_, name));
    if (function == nullptr) missing_ += (missing_.empty() ? "" : ", ") + std::string(name);
  }

  // ENOSYS "<soname> lacks a, b" when a bind found nothing.
  Result<void> check() const {
    if (missing_.empty()) return {};
    return make_error(ENOSYS, soname_ + " lacks " + missing_);
  }

 private:
  SharedLibrary(void* handle, std::string soname) : handle_(handle), soname_(std::move(soname)) {}

  void* handle_;
  std::string soname_;
  std::string missing_;
};

// The result of `Load` (a loader of a struct of bound functions), made once per process: the
// first caller runs it while the others wait; a failure is kept and reported to every caller,
// as a missing library does not appear later.
template <class Library, Result<Library> (*Load)()>
const Result<Library>& load_once() {
  static const Result<Library> loaded = Load();
  return loaded;
}

}  // namespace kleene::util

// kleene plugin SDK: a header-only C++17 layer over the C ABI in abi.h.
//
// An author subclasses NetworkDriver, StorageBackend or Builder, overrides the operations the
// plugin implements (each takes and returns nlohmann::json; the rest answer "not implemented
// yet"), and registers the class with one macro in one .cpp file:
//
//   class MyDriver : public kleene::sdk::NetworkDriver {
//    public:
//     using NetworkDriver::NetworkDriver;  // (Host host, nlohmann::json config)
//     nlohmann::json create_network(const nlohmann::json& request) override;
//   };
//   KLEENE_NETWORK_PLUGIN(MyDriver, "mydriver", "0.1.0", "what it does", KLEENE_CAP_NET_BRIDGE)
//
// Throw kleene::sdk::Error(status, message) to fail an operation; any other exception becomes
// KLEENE_E_FAILED with its what(). Exceptions never cross the ABI: the macro's trampolines catch
// everything. Build the plugin with hidden visibility so only the entry point is exported
// (find_package(KleenePlugin) + kleene_add_plugin_module does that). See docs/plugins.md.
#ifndef KLEENE_PLUGIN_SDK_HPP
#define KLEENE_PLUGIN_SDK_HPP

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "kleene/plugin/abi.h"

namespace kleene {
namespace sdk {

using json = nlohmann::json;

// The error an operation reports: a kleene_status and a message for the user.
class Error : public std::runtime_error {
 public:
  Error(kleene_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  kleene_status status() const noexcept { return status_; }

 private:
  kleene_status status_;
};

struct RunResult {
  int exit_code = 0;  // the exit status, or 128 + signal number
  std::string out;
  std::string err;
};

namespace detail {

// A kleene_buffer owned by the plugin (for run_command's output), appending to a std::string.
class StringBuffer {
 public:
  StringBuffer() : buffer_{this, &StringBuffer::append} {}
  StringBuffer(const StringBuffer&) = delete;
  StringBuffer& operator=(const StringBuffer&) = delete;
  kleene_buffer* get() noexcept { return &buffer_; }
  std::string take() { return std::move(data_); }

 private:
  static int append(kleene_buffer* self, const char* data, std::size_t len) noexcept {
    try {
      static_cast<StringBuffer*>(self->opaque)->data_.append(data, len);
      return KLEENE_OK;
    } catch (...) {
      return KLEENE_E_FAILED;
    }
  }

  kleene_buffer buffer_;
  std::string data_;
};

inline bool append(kleene_buffer* buffer, const std::string& text) noexcept {
  return buffer != nullptr && buffer->append != nullptr &&
         buffer->append(buffer, text.data(), text.size()) == KLEENE_OK;
}

}  // namespace detail

// The services kleened offers the plugin (logging, running host commands).
class Host {
 public:
  explicit Host(const kleene_host_services* services) : services_(services) {}

  void log(kleene_log_level level, const std::string& message) const noexcept {
    if (offers(offsetof(kleene_host_services, log) + sizeof(services_->log)) && services_->log) {
      services_->log(services_->host_ctx, level, message.c_str());
    }
  }
  void debug(const std::string& message) const noexcept { log(KLEENE_LOG_DEBUG, message); }
  void info(const std::string& message) const noexcept { log(KLEENE_LOG_INFO, message); }
  void warn(const std::string& message) const noexcept { log(KLEENE_LOG_WARN, message); }
  void error(const std::string& message) const noexcept { log(KLEENE_LOG_ERROR, message); }

  // Run argv (argv[0] an absolute path, no shell) with stdin_data on its stdin and `env`
  // ("KEY=VALUE"; none means an empty environment). A non-zero exit is not an error: check
  // exit_code. Throws Error when the command could not be run at all.
  RunResult run(const std::vector<std::string>& argv, const std::string& stdin_data = {},
                const std::optional<std::vector<std::string>>& env = std::nullopt) const {
    if (!offers(offsetof(kleene_host_services, run_command) + sizeof(services_->run_command)) ||
        services_->run_command == nullptr) {
      throw Error(KLEENE_E_UNSUPPORTED, "the host offers no run_command service");
    }
    std::vector<const char*> c_argv = c_strings(argv);
    std::vector<const char*> c_env;
    if (env) c_env = c_strings(*env);
    detail::StringBuffer out;
    detail::StringBuffer err;
    RunResult result;
    const int status = services_->run_command(
        services_->host_ctx, c_argv.data(), env ? c_env.data() : nullptr, stdin_data.data(),
        stdin_data.size(), out.get(), err.get(), &result.exit_code);
    result.out = out.take();
    result.err = err.take();
    if (status != KLEENE_OK) {  // the host's message names the program
      if (result.err.empty()) result.err = (argv.empty() ? "" : argv[0]) + ": cannot run";
      throw Error(static_cast<kleene_status>(status), result.err);
    }
    return result;
  }

  // Ask the engine for an operation (ABI 1.1; docs/plugins.md, "Engine operations") and return
  // its JSON answer. Throws Error with the host's status and message when it fails, and
  // KLEENE_E_UNSUPPORTED when the host is older than 1.1.
  json engine(const std::string& op, const json& request) const {
    if (!offers(offsetof(kleene_host_services, engine_call) + sizeof(services_->engine_call)) ||
        services_->engine_call == nullptr) {
      throw Error(KLEENE_E_UNSUPPORTED, "the host offers no engine operations (ABI < 1.1)");
    }
    const std::string body = request.dump(-1, ' ', false, json::error_handler_t::replace);
    detail::StringBuffer response;
    detail::StringBuffer error;
    const int status = services_->engine_call(services_->host_ctx, op.c_str(), body.c_str(),
                                              response.get(), error.get());
    if (status != KLEENE_OK) {
      std::string message = error.take();
      if (message.empty()) message = op + " failed with status " + std::to_string(status);
      throw Error(static_cast<kleene_status>(status), message);
    }
    const std::string text = response.take();
    return text.empty() ? json::object() : json::parse(text);
  }

  const kleene_host_services* raw() const noexcept { return services_; }

 private:
  // Whether the host's table reaches `end` bytes: the SQLite iVersion rule, so a plugin built
  // against a newer minor still runs in an older kleened that lacks a later service.
  bool offers(std::size_t end) const noexcept {
    return services_ != nullptr && end <= services_->struct_size;
  }
  static std::vector<const char*> c_strings(const std::vector<std::string>& strings) {
    std::vector<const char*> result;
    result.reserve(strings.size() + 1);
    for (const auto& s : strings)
      result.push_back(s.c_str());
    result.push_back(nullptr);
    return result;
  }

  const kleene_host_services* services_;
};

// What every plugin instance has: the host services and its section of kleened's config.
class Plugin {
 public:
  Plugin(Host host, json config) : host_(host), config_(std::move(config)) {}
  virtual ~Plugin() = default;
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  const Host& host() const noexcept { return host_; }
  const json& config() const noexcept { return config_; }

 protected:
  [[noreturn]] static void not_implemented(const char* op) {
    throw Error(KLEENE_E_NOT_IMPLEMENTED, std::string(op) + " is not implemented yet");
  }

 private:
  Host host_;
  json config_;
};

// Network drivers, after libnetwork's CNM. See kleene_network_ops.
class NetworkDriver : public Plugin {
 public:
  using Plugin::Plugin;
  virtual json create_network(const json&) { not_implemented("create_network"); }
  virtual json delete_network(const json&) { not_implemented("delete_network"); }
  virtual json create_endpoint(const json&) { not_implemented("create_endpoint"); }
  virtual json delete_endpoint(const json&) { not_implemented("delete_endpoint"); }
  virtual json join(const json&) { not_implemented("join"); }
  virtual json leave(const json&) { not_implemented("leave"); }
};

// Storage backends. See kleene_storage_ops.
class StorageBackend : public Plugin {
 public:
  using Plugin::Plugin;
  virtual json init(const json&) { not_implemented("init"); }
  virtual json create_dataset(const json&) { not_implemented("create_dataset"); }
  virtual json destroy(const json&) { not_implemented("destroy"); }
  virtual json snapshot(const json&) { not_implemented("snapshot"); }
  virtual json clone(const json&) { not_implemented("clone"); }
  virtual json rename(const json&) { not_implemented("rename"); }
  virtual json list_snapshots(const json&) { not_implemented("list_snapshots"); }
  virtual json list_clones(const json&) { not_implemented("list_clones"); }
  virtual json mountpoint(const json&) { not_implemented("mountpoint"); }
  virtual json copy(const json&) { not_implemented("copy"); }
  virtual json info(const json&) { not_implemented("info"); }
  virtual json list_datasets(const json&) { not_implemented("list_datasets"); }
  virtual json unmount(const json&) { not_implemented("unmount"); }
};

// Image builders. See kleene_builder_ops.
class Builder : public Plugin {
 public:
  using Plugin::Plugin;
  virtual json build(const json&) { not_implemented("build"); }
};

namespace detail {

// Runs `body`, turning every exception into a status plus a message in `error`.
template <typename Body>
int guarded(kleene_buffer* error, Body&& body) noexcept {
  try {
    body();
    return KLEENE_OK;
  } catch (const Error& e) {
    append(error, e.what());
    return e.status() == KLEENE_OK ? KLEENE_E_FAILED : e.status();
  } catch (const json::exception& e) {
    // A request of the wrong shape (e.g. a missing key read with at()).
    append(error, std::string("invalid request: ") + e.what());
    return KLEENE_E_INVALID;
  } catch (const std::bad_alloc&) {
    append(error, "out of memory");
    return KLEENE_E_FAILED;
  } catch (const std::exception& e) {
    append(error, e.what());
    return KLEENE_E_FAILED;
  } catch (...) {
    append(error, "unknown exception");
    return KLEENE_E_FAILED;
  }
}

template <typename Base, json (Base::*Method)(const json&)>
int operation(void* instance, const char* request_json, kleene_buffer* response,
              kleene_buffer* error) noexcept {
  return guarded(error, [&] {
    if (request_json == nullptr) throw Error(KLEENE_E_INVALID, "the request is NULL");
    json request = json::parse(request_json, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded()) throw Error(KLEENE_E_INVALID, "the request is not valid JSON");
    Base* self = static_cast<Base*>(static_cast<Plugin*>(instance));
    const json result = (self->*Method)(request);
    if (!append(response, result.dump())) {
      throw Error(KLEENE_E_FAILED, "the response does not fit the host's buffer");
    }
  });
}

template <typename T>
int create(const kleene_host_services* host, const char* config_json, void** instance,
           kleene_buffer* error) noexcept {
  return guarded(error, [&] {
    json config = json::object();
    if (config_json != nullptr && *config_json != '\0') {
      config = json::parse(config_json, nullptr, /*allow_exceptions=*/false);
      if (config.is_discarded()) throw Error(KLEENE_E_INVALID, "the config is not valid JSON");
    }
    std::unique_ptr<Plugin> plugin = std::make_unique<T>(Host(host), std::move(config));
    *instance = plugin.release();  // owned by the host now; destroy() deletes it
  });
}

inline void destroy(void* instance) noexcept {
  try {
    delete static_cast<Plugin*>(instance);
  } catch (...) {  // a throwing destructor must not cross the ABI either
  }
}

inline const kleene_network_ops* network_ops() noexcept {
  using B = NetworkDriver;
  static const kleene_network_ops ops = {sizeof(kleene_network_ops),
                                         0,
                                         &operation<B, &B::create_network>,
                                         &operation<B, &B::delete_network>,
                                         &operation<B, &B::create_endpoint>,
                                         &operation<B, &B::delete_endpoint>,
                                         &operation<B, &B::join>,
                                         &operation<B, &B::leave>};
  return &ops;
}

inline const kleene_storage_ops* storage_ops() noexcept {
  using B = StorageBackend;
  static const kleene_storage_ops ops = {
      sizeof(kleene_storage_ops),        0,
      &operation<B, &B::init>,           &operation<B, &B::create_dataset>,
      &operation<B, &B::destroy>,        &operation<B, &B::snapshot>,
      &operation<B, &B::clone>,          &operation<B, &B::rename>,
      &operation<B, &B::list_snapshots>, &operation<B, &B::list_clones>,
      &operation<B, &B::mountpoint>,     &operation<B, &B::copy>,
      &operation<B, &B::info>,           &operation<B, &B::list_datasets>,
      &operation<B, &B::unmount>};
  return &ops;
}

inline const kleene_builder_ops* builder_ops() noexcept {
  using B = Builder;
  static const kleene_builder_ops ops = {sizeof(kleene_builder_ops), 0, &operation<B, &B::build>};
  return &ops;
}

template <typename T>
kleene_plugin_descriptor make_descriptor(kleene_plugin_kind kind, const char* name,
                                         const char* version, const char* description,
                                         std::uint64_t capabilities, const void* ops) noexcept {
  return kleene_plugin_descriptor{KLEENE_PLUGIN_ABI_MAJOR,
                                  KLEENE_PLUGIN_ABI_MINOR,
                                  sizeof(kleene_plugin_descriptor),
                                  static_cast<std::uint32_t>(kind),
                                  name,
                                  version,
                                  description,
                                  capabilities,
                                  &create<T>,
                                  &destroy,
                                  ops};
}

}  // namespace detail
}  // namespace sdk
}  // namespace kleene

// Registration: one of these per plugin, at namespace scope in one .cpp file. Defines the
// exported entry point, so a shared object holds exactly one plugin.
#define KLEENE_SDK_DEFINE_ENTRY_(Class, Base, kind, ops, name, version, description, caps)    \
  static_assert(std::is_base_of<::kleene::sdk::Base, Class>::value,                           \
                #Class " must derive from kleene::sdk::" #Base);                              \
  extern "C" KLEENE_PLUGIN_EXPORT const kleene_plugin_descriptor* kleene_plugin_entry(void) { \
    static const kleene_plugin_descriptor descriptor =                                        \
        ::kleene::sdk::detail::make_descriptor<Class>(kind, name, version, description, caps, \
                                                      ::kleene::sdk::detail::ops());          \
    return &descriptor;                                                                       \
  }

#define KLEENE_NETWORK_PLUGIN(Class, name, version, description, capabilities)             \
  KLEENE_SDK_DEFINE_ENTRY_(Class, NetworkDriver, KLEENE_PLUGIN_NETWORK, network_ops, name, \
                           version, description, capabilities)
#define KLEENE_STORAGE_PLUGIN(Class, name, version, description, capabilities)              \
  KLEENE_SDK_DEFINE_ENTRY_(Class, StorageBackend, KLEENE_PLUGIN_STORAGE, storage_ops, name, \
                           version, description, capabilities)
#define KLEENE_BUILDER_PLUGIN(Class, name, version, description, capabilities)                \
  KLEENE_SDK_DEFINE_ENTRY_(Class, Builder, KLEENE_PLUGIN_BUILDER, builder_ops, name, version, \
                           description, capabilities)

#endif  // KLEENE_PLUGIN_SDK_HPP

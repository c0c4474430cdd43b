/*
 * kleene plugin ABI — the whole contract between kleened and its plugins.
 *
 * Rules (see docs/plugins.md):
 *  - A plugin is a shared object exporting one C symbol, KLEENE_PLUGIN_ENTRY_SYMBOL, of type
 *    kleene_plugin_entry_fn. It returns a pointer to a descriptor with static storage duration.
 *  - Every struct starts with its own size (or follows abi_major/abi_minor/struct_size).
 *    Fields are only ever appended; a new field bumps KLEENE_PLUGIN_ABI_MINOR. Removing or
 *    changing a field bumps KLEENE_PLUGIN_ABI_MAJOR. The host refuses another major, refuses a
 *    struct larger than it knows, zero-fills what an older plugin did not know, and never calls
 *    a function the plugin's struct does not contain.
 *  - Payloads are UTF-8 JSON strings, owned by the caller and valid only during the call.
 *    Results and error messages go into host-owned kleene_buffer objects.
 *  - Exceptions, C++ types and allocations never cross this boundary.
 *  - The host may call the operations of one instance from several threads at once; a plugin
 *    that keeps mutable state guards it itself.
 *
 * Changing this file without bumping the version fails the ABI checksum test
 * (tests/unit/plugin/abi_checksum_test.cpp).
 */
#ifndef KLEENE_PLUGIN_ABI_H
#define KLEENE_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KLEENE_PLUGIN_ABI_MAJOR 1
#define KLEENE_PLUGIN_ABI_MINOR 2

/* The one symbol a plugin exports. */
#define KLEENE_PLUGIN_ENTRY_SYMBOL "kleene_plugin_entry"

#if defined(__GNUC__)
#define KLEENE_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define KLEENE_PLUGIN_EXPORT
#endif

/* Status codes returned by every plugin and host-service function. */
typedef enum kleene_status {
  KLEENE_OK = 0,
  KLEENE_E_NOT_IMPLEMENTED = 1, /* the operation exists in the ABI but this plugin lacks it */
  KLEENE_E_INVALID = 2,         /* the request is malformed or a value is out of range */
  KLEENE_E_NOT_FOUND = 3,       /* the object named by the request does not exist */
  KLEENE_E_EXISTS = 4,          /* the object already exists */
  KLEENE_E_BUSY = 5,            /* the object is in use; retrying later may succeed */
  KLEENE_E_FAILED = 6,          /* the operation was tried and failed */
  KLEENE_E_UNSUPPORTED = 7      /* the request asks for something this plugin never does */
} kleene_status;

typedef enum kleene_plugin_kind {
  KLEENE_PLUGIN_NETWORK = 1,
  KLEENE_PLUGIN_STORAGE = 2,
  KLEENE_PLUGIN_BUILDER = 3
} kleene_plugin_kind;

typedef enum kleene_log_level {
  KLEENE_LOG_DEBUG = 0,
  KLEENE_LOG_INFO = 1,
  KLEENE_LOG_WARN = 2,
  KLEENE_LOG_ERROR = 3
} kleene_log_level;

/* Capability bits. The core branches on these, never on plugin names. */
/* network drivers */
#define KLEENE_CAP_NET_CONNECT_WHILE_RUNNING (UINT64_C(1) << 0) /* join/leave while running */
#define KLEENE_CAP_NET_IPV6 (UINT64_C(1) << 1)                  /* IPv6 addresses and routes */
#define KLEENE_CAP_NET_OWN_NETNS (UINT64_C(1) << 2)    /* the container needs its own netns */
#define KLEENE_CAP_NET_BRIDGE (UINT64_C(1) << 3)       /* attaches to bridge networks */
#define KLEENE_CAP_NET_LOOPBACK (UINT64_C(1) << 4)     /* attaches to loopback networks */
#define KLEENE_CAP_NET_CUSTOM (UINT64_C(1) << 5)       /* attaches to custom networks */
#define KLEENE_CAP_NET_NO_ENDPOINTS (UINT64_C(1) << 6) /* connects to no network at all */
/* storage backends */
#define KLEENE_CAP_STORAGE_SNAPSHOT (UINT64_C(1) << 16)
#define KLEENE_CAP_STORAGE_CLONE (UINT64_C(1) << 17)
#define KLEENE_CAP_STORAGE_SEND_RECEIVE (UINT64_C(1) << 18)
/* image builders */
#define KLEENE_CAP_BUILD_CACHE (UINT64_C(1) << 32)
#define KLEENE_CAP_BUILD_MULTI_STAGE (UINT64_C(1) << 33)
#define KLEENE_CAP_BUILD_CONTEXT_UPLOAD (UINT64_C(1) << 34)

/*
 * A growable byte buffer owned by the side that created it: the host for operation results and
 * errors, the plugin for the output of run_command. The other side only calls append, and only
 * during the call the buffer was passed to. append returns KLEENE_OK, or KLEENE_E_FAILED when
 * memory or the owner's size limit runs out (what was appended before stays).
 */
typedef struct kleene_buffer {
  void* opaque; /* the owner's state; the other side never touches it */
  int (*append)(struct kleene_buffer* self, const char* data, size_t len);
} kleene_buffer;

/*
 * Services the host offers to plugins. Passed to kleene_plugin_descriptor.create and valid
 * until destroy returns. Check struct_size (or abi_minor) before using a field added later.
 */
typedef struct kleene_host_services {
  uint32_t abi_major;
  uint32_t abi_minor;
  uint32_t struct_size;
  uint32_t reserved;
  void* host_ctx; /* pass back as the first argument of every service below */

  /* Log a NUL-terminated message through kleened's log, tagged with the plugin's name. */
  void (*log)(void* host_ctx, kleene_log_level level, const char* message);

  /*
   * Run a host command without a shell. argv is NULL-terminated and argv[0] must be an absolute
   * path. envp is NULL-terminated or NULL for an empty environment. stdin_data may be NULL.
   * stdout/stderr of the command are appended to out/err (either may be NULL to discard).
   * Returns KLEENE_OK when the command ran (its exit code, or 128+signal, in *exit_code) and
   * another status, with a message in err, when it could not be started.
   */
  int (*run_command)(void* host_ctx, const char* const* argv, const char* const* envp,
                     const char* stdin_data, size_t stdin_len, kleene_buffer* out,
                     kleene_buffer* err, int* exit_code);

  /*
   * ABI 1.1. Ask the engine to do something (the image builder drives builds with it). `op` is
   * the operation's name, request_json its JSON request; on KLEENE_OK the JSON response is in
   * `response`, otherwise a message is in `error`. The operations and their fields are listed in
   * docs/plugins.md ("Engine operations"); an unknown op is KLEENE_E_UNSUPPORTED. May block for
   * as long as the operation runs (a RUN step of a build, say).
   */
  int (*engine_call)(void* host_ctx, const char* op, const char* request_json,
                     kleene_buffer* response, kleene_buffer* error);
} kleene_host_services;

/*
 * Every plugin operation has this shape: a JSON request in, a JSON response appended to
 * `response` on KLEENE_OK, a human-readable message appended to `error` otherwise.
 * `instance` is what create() returned. A NULL entry in an ops table means the plugin lacks
 * the operation: the host answers "not supported" without calling anything.
 */
typedef int (*kleene_op_fn)(void* instance, const char* request_json, kleene_buffer* response,
                            kleene_buffer* error);

/* Network drivers, after libnetwork's CNM: network -> endpoint -> join/leave -> delete. */
typedef struct kleene_network_ops {
  uint32_t struct_size;
  uint32_t reserved;
  kleene_op_fn create_network;
  kleene_op_fn delete_network;
  kleene_op_fn create_endpoint;
  kleene_op_fn delete_endpoint;
  kleene_op_fn join;  /* attach an endpoint to a container's network namespace */
  kleene_op_fn leave; /* detach it again */
} kleene_network_ops;

/* Storage backends: datasets, snapshots and clones, named by backend-neutral paths. */
typedef struct kleene_storage_ops {
  uint32_t struct_size;
  uint32_t reserved;
  kleene_op_fn init; /* prepare the backend (e.g. create the pool/root) */
  kleene_op_fn create_dataset;
  kleene_op_fn destroy; /* optionally recursive */
  kleene_op_fn snapshot;
  kleene_op_fn clone;
  kleene_op_fn rename;
  kleene_op_fn list_snapshots;
  kleene_op_fn list_clones;
  kleene_op_fn mountpoint;
  kleene_op_fn copy; /* full copy of a dataset (send/receive) */
  kleene_op_fn info; /* properties of a dataset, or whether it exists */
  /* Since ABI 1.2: the file systems directly below a dataset and which of them are mounted
   * (kleened's reconciliation at start compares them with its rows), and unmounting one (kleened
   * keeps stopped containers unmounted when many are mounted: zfs-fuse mounts ~1000 at most). */
  kleene_op_fn list_datasets;
  kleene_op_fn unmount;
} kleene_storage_ops;

/* Image builders. */
typedef struct kleene_builder_ops {
  uint32_t struct_size;
  uint32_t reserved;
  kleene_op_fn build;
} kleene_builder_ops;

/* The descriptor a plugin's entry point returns. */
typedef struct kleene_plugin_descriptor {
  uint32_t abi_major;   /* KLEENE_PLUGIN_ABI_MAJOR the plugin was built against */
  uint32_t abi_minor;   /* KLEENE_PLUGIN_ABI_MINOR the plugin was built against */
  uint32_t struct_size; /* sizeof(kleene_plugin_descriptor) the plugin was built against */
  uint32_t kind;        /* kleene_plugin_kind */
  const char* name;     /* unique among loaded plugins; [a-z0-9_-]{1,64} */
  const char* version;  /* the plugin's own version, free form */
  const char* description;
  uint64_t capabilities; /* KLEENE_CAP_* bits */

  /*
   * Create an instance. config_json is the plugin's section of kleened's config ("{}" if
   * none). On KLEENE_OK *instance holds the plugin's state; otherwise a message is in error.
   */
  int (*create)(const kleene_host_services* host, const char* config_json, void** instance,
                kleene_buffer* error);
  /* Destroy an instance made by a successful create. Never fails. The host unloads the
   * shared object only after every instance is destroyed. */
  void (*destroy)(void* instance);

  /* Points to kleene_network_ops, kleene_storage_ops or kleene_builder_ops, by kind, with
   * static storage duration. */
  const void* ops;
} kleene_plugin_descriptor;

typedef const kleene_plugin_descriptor* (*kleene_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* KLEENE_PLUGIN_ABI_H */

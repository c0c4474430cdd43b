#include "plugin/abi_tables.hpp"

#include <array>
#include <utility>

namespace kleene::plugin {

std::string_view to_string(Kind kind) {
  switch (kind) {
    case Kind::network:
      return "network";
    case Kind::storage:
      return "storage";
    case Kind::builder:
      return "builder";
  }
  return "unknown";
}

}  // namespace kleene::plugin

namespace kleene::plugin::detail {
namespace {

#define KLEENE_OP(type, field)    \
  OpField {                       \
#field, offsetof(type, field) \
  }

constexpr std::array kNetworkOps = {
    KLEENE_OP(kleene_network_ops, create_network),
    KLEENE_OP(kleene_network_ops, delete_network),
    KLEENE_OP(kleene_network_ops, create_endpoint),
    KLEENE_OP(kleene_network_ops, delete_endpoint),
    KLEENE_OP(kleene_network_ops, join),
    KLEENE_OP(kleene_network_ops, leave),
};

constexpr std::array kStorageOps = {
    KLEENE_OP(kleene_storage_ops, init),           KLEENE_OP(kleene_storage_ops, create_dataset),
    KLEENE_OP(kleene_storage_ops, destroy),        KLEENE_OP(kleene_storage_ops, snapshot),
    KLEENE_OP(kleene_storage_ops, clone),          KLEENE_OP(kleene_storage_ops, rename),
    KLEENE_OP(kleene_storage_ops, list_snapshots), KLEENE_OP(kleene_storage_ops, list_clones),
    KLEENE_OP(kleene_storage_ops, mountpoint),     KLEENE_OP(kleene_storage_ops, copy),
    KLEENE_OP(kleene_storage_ops, info),           KLEENE_OP(kleene_storage_ops, list_datasets),
    KLEENE_OP(kleene_storage_ops, unmount),
};

constexpr std::array kBuilderOps = {
    KLEENE_OP(kleene_builder_ops, build),
};

#undef KLEENE_OP

constexpr std::array<std::pair<uint64_t, std::string_view>, 13> kCapabilities = {{
    {KLEENE_CAP_NET_CONNECT_WHILE_RUNNING, "connect_while_running"},
    {KLEENE_CAP_NET_IPV6, "ipv6"},
    {KLEENE_CAP_NET_OWN_NETNS, "own_netns"},
    {KLEENE_CAP_NET_BRIDGE, "bridge"},
    {KLEENE_CAP_NET_LOOPBACK, "loopback"},
    {KLEENE_CAP_NET_CUSTOM, "custom"},
    {KLEENE_CAP_NET_NO_ENDPOINTS, "no_endpoints"},
    {KLEENE_CAP_STORAGE_SNAPSHOT, "snapshot"},
    {KLEENE_CAP_STORAGE_CLONE, "clone"},
    {KLEENE_CAP_STORAGE_SEND_RECEIVE, "send_receive"},
    {KLEENE_CAP_BUILD_CACHE, "cache"},
    {KLEENE_CAP_BUILD_MULTI_STAGE, "multi_stage"},
    {KLEENE_CAP_BUILD_CONTEXT_UPLOAD, "context_upload"},
}};

}  // namespace

std::span<const OpField> op_fields(Kind kind) {
  switch (kind) {
    case Kind::network:
      return kNetworkOps;
    case Kind::storage:
      return kStorageOps;
    case Kind::builder:
      return kBuilderOps;
  }
  return {};
}

std::size_t ops_struct_size(Kind kind) {
  switch (kind) {
    case Kind::network:
      return sizeof(kleene_network_ops);
    case Kind::storage:
      return sizeof(kleene_storage_ops);
    case Kind::builder:
      return sizeof(kleene_builder_ops);
  }
  return 0;
}

std::optional<Kind> kind_from_abi(uint32_t value) {
  switch (value) {
    case KLEENE_PLUGIN_NETWORK:
      return Kind::network;
    case KLEENE_PLUGIN_STORAGE:
      return Kind::storage;
    case KLEENE_PLUGIN_BUILDER:
      return Kind::builder;
    default:
      return std::nullopt;
  }
}

std::vector<std::string> capability_names(uint64_t capabilities) {
  std::vector<std::string> names;
  for (const auto& [bit, name] : kCapabilities) {
    if ((capabilities & bit) != 0) names.emplace_back(name);
  }
  return names;
}

}  // namespace kleene::plugin::detail

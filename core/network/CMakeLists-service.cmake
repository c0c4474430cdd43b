# kleene_network_service: network create/remove/prune for kleened's API: the store rows, the
# bridge over netlink and the firewall over libnftables. Included from core/network/CMakeLists.txt.
add_library(kleene_network_service STATIC ${CMAKE_CURRENT_LIST_DIR}/service.cpp)
add_library(kleene::network_service ALIAS kleene_network_service)
target_include_directories(kleene_network_service PUBLIC ${KLEENE_CORE_DIR})
target_link_libraries(kleene_network_service
  PUBLIC kleene::network_store kleene::network_firewall kleene::network_nft
         kleene::network_netlink kleene::store kleene::util
  PRIVATE spdlog::spdlog)

# kleene_network_netlink: links, addresses and routes over rtnetlink (libnl-route-3), also
# inside other network namespaces. Included from core/network/CMakeLists.txt.
pkg_check_modules(LIBNL_ROUTE REQUIRED IMPORTED_TARGET GLOBAL libnl-route-3.0 libnl-3.0)
add_library(kleene_network_netlink STATIC ${CMAKE_CURRENT_LIST_DIR}/netlink.cpp)
add_library(kleene::network_netlink ALIAS kleene_network_netlink)
target_include_directories(kleene_network_netlink PUBLIC ${KLEENE_CORE_DIR})
target_link_libraries(kleene_network_netlink PUBLIC kleene::util PRIVATE PkgConfig::LIBNL_ROUTE)

# kleene_network_nft: loads the rendered firewall through libnftables (never by spawning nft).
# Included from core/network/CMakeLists.txt.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBNFTABLES REQUIRED IMPORTED_TARGET libnftables)
add_library(kleene_network_nft STATIC ${CMAKE_CURRENT_LIST_DIR}/nft.cpp)
add_library(kleene::network_nft ALIAS kleene_network_nft)
target_include_directories(kleene_network_nft PUBLIC ${KLEENE_CORE_DIR})
target_link_libraries(kleene_network_nft PUBLIC kleene::util kleene::network_firewall
  PRIVATE PkgConfig::LIBNFTABLES)

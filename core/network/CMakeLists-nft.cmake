# kleene_network_nft: loads the rendered firewall through libnftables (never by spawning nft).
# Included from core/network/CMakeLists.txt. libnftables is dlopen()ed on first use (nft.cpp),
# not linked: only its header is needed here, the library itself at run time.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBNFTABLES REQUIRED IMPORTED_TARGET libnftables)
add_library(kleene_network_nft STATIC ${CMAKE_CURRENT_LIST_DIR}/nft.cpp)
add_library(kleene::network_nft ALIAS kleene_network_nft)
target_include_directories(kleene_network_nft PUBLIC ${KLEENE_CORE_DIR})
target_include_directories(kleene_network_nft SYSTEM PRIVATE
  $<TARGET_PROPERTY:PkgConfig::LIBNFTABLES,INTERFACE_INCLUDE_DIRECTORIES>)
target_link_libraries(kleene_network_nft PUBLIC kleene::util kleene::network_firewall
  PRIVATE ${CMAKE_DL_LIBS})

# kleene_network_firewall: renders kleene's nftables ruleset from a snapshot of the store.
# Included from core/network/CMakeLists.txt.
add_library(kleene_network_firewall STATIC ${CMAKE_CURRENT_LIST_DIR}/firewall.cpp)
add_library(kleene::network_firewall ALIAS kleene_network_firewall)
target_include_directories(kleene_network_firewall PUBLIC ${KLEENE_CORE_DIR})
target_link_libraries(kleene_network_firewall PUBLIC kleene::util)

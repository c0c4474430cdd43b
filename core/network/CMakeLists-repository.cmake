# kleene_network_store: NetworkConfig/EndPointConfig rules, the driver/type connect matrix and
# the networks and endpoints tables (store only, no kernel).
add_library(kleene_network_store STATIC
  ${CMAKE_CURRENT_LIST_DIR}/config.cpp
  ${CMAKE_CURRENT_LIST_DIR}/repository.cpp)
add_library(kleene::network_store ALIAS kleene_network_store)
target_include_directories(kleene_network_store PUBLIC ${KLEENE_CORE_DIR})
target_link_libraries(kleene_network_store
  PUBLIC kleene::store kleene::network_ipam kleene::util nlohmann_json::nlohmann_json)

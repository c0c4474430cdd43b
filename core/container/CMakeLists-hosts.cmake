# kleene_container_hosts: a container's /etc/hosts, rendered and written inside its rootfs
# (included from core/container/CMakeLists.txt).
add_library(kleene_container_hosts STATIC ${CMAKE_CURRENT_LIST_DIR}/hosts_file.cpp)
add_library(kleene::container_hosts ALIAS kleene_container_hosts)
target_include_directories(kleene_container_hosts PUBLIC ${KLEENE_CORE_DIR})
target_link_libraries(kleene_container_hosts PUBLIC kleene::util)

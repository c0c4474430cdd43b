# Build contexts uploaded over /images/build (binary frames holding a tar), unpacked with
# core/image/create's hostile-archive extraction into a private directory per build. A small
# library of its own, so its unit tests do not link the whole server.
add_library(kleene_build_context STATIC ${CMAKE_CURRENT_LIST_DIR}/build_context.cpp)
target_include_directories(kleene_build_context PUBLIC ${KLEENE_CORE_DIR})
target_link_libraries(kleene_build_context
  PUBLIC kleene_image_extract kleene::util nlohmann_json::nlohmann_json
  PRIVATE spdlog::spdlog fmt::fmt)
target_link_libraries(kleene_api PUBLIC kleene_build_context)

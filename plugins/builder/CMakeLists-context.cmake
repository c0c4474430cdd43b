# The build context: .dockerignore, COPY/ADD source resolution, copying into a container root
# (openat2 RESOLVE_BENEATH / RESOLVE_IN_ROOT) and the content digest for the build cache.
target_sources(kleene_builder_core PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/context.cpp
  ${CMAKE_CURRENT_LIST_DIR}/context_copy.cpp)
target_link_libraries(kleene_builder_core PRIVATE OpenSSL::Crypto)

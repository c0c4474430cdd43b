# klee's side of a build context upload: PATH as a pax tar (libarchive's writer), less what
# .dockerignore excludes (kleene_builder_core's IgnoreRules, pure and daemon-free).
pkg_check_modules(KLEE_LIBARCHIVE REQUIRED IMPORTED_TARGET libarchive)
target_sources(kleene_cli PRIVATE ${CMAKE_CURRENT_LIST_DIR}/commands/build_context.cpp)
target_link_libraries(kleene_cli PUBLIC kleene_builder_core PRIVATE PkgConfig::KLEE_LIBARCHIVE)

# klee's side of a build context upload: PATH as a pax tar (libarchive's writer), less what
# .dockerignore excludes (kleene_builder_core's IgnoreRules, pure and daemon-free).
pkg_check_modules(KLEE_LIBARCHIVE REQUIRED IMPORTED_TARGET libarchive)
target_sources(kleene_cli PRIVATE ${CMAKE_CURRENT_LIST_DIR}/commands/build_context.cpp)
# libarchive is dlopen()ed when a context is packed (commands/build_context.cpp), not linked:
# only its headers are needed here.
target_include_directories(kleene_cli SYSTEM PRIVATE
  $<TARGET_PROPERTY:PkgConfig::KLEE_LIBARCHIVE,INTERFACE_INCLUDE_DIRECTORIES>)
target_link_libraries(kleene_cli PUBLIC kleene_builder_core PRIVATE ${CMAKE_DL_LIBS})

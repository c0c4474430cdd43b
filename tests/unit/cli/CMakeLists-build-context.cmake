# pack_context on tmpfs trees, read back with libarchive, and the round trip through kleened's
# receive_context (core/api/build_context.cpp) over a fake WebSocket.
pkg_check_modules(KLEE_TEST_LIBARCHIVE REQUIRED IMPORTED_TARGET libarchive)
add_executable(kleene_cli_build_context_tests ${CMAKE_CURRENT_LIST_DIR}/build_context_test.cpp)
target_include_directories(kleene_cli_build_context_tests PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/../api)
target_link_libraries(kleene_cli_build_context_tests PRIVATE
  kleene_cli kleene_build_context PkgConfig::KLEE_TEST_LIBARCHIVE GTest::gtest_main)
gtest_discover_tests(kleene_cli_build_context_tests TEST_PREFIX "cli." PROPERTIES LABELS unit)

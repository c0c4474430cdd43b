# The build context: .dockerignore, COPY resolution, copying into a root, digest (tmpfs).
add_executable(kleene_builder_context_tests ${CMAKE_CURRENT_LIST_DIR}/context_test.cpp)
target_link_libraries(kleene_builder_context_tests PRIVATE kleene_builder_core GTest::gtest_main)
gtest_discover_tests(kleene_builder_context_tests PROPERTIES LABELS unit)

# The Dockerfile parser and the in-process ARG/ENV substitution.
add_executable(kleene_builder_dockerfile_tests ${CMAKE_CURRENT_LIST_DIR}/dockerfile_test.cpp)
target_link_libraries(kleene_builder_dockerfile_tests PRIVATE kleene_builder_core GTest::gtest_main)
gtest_discover_tests(kleene_builder_dockerfile_tests PROPERTIES LABELS unit)

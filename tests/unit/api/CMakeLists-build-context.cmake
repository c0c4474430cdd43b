# receive_context (an uploaded build context) over a fake WebSocket client, on tmpfs. Uses the
# tarball builder of the image-creation tests.
add_executable(kleene_build_context_tests ${CMAKE_CURRENT_LIST_DIR}/build_context_test.cpp)
target_include_directories(kleene_build_context_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(kleene_build_context_tests PRIVATE
  kleene_build_context kleene_image_create_test_util GTest::gtest_main)
gtest_discover_tests(kleene_build_context_tests PROPERTIES LABELS unit)

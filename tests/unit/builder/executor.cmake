# The build executor driven by a fake engine (the engine operations recorded, roots on tmpfs).
add_executable(kleene_builder_executor_tests ${CMAKE_CURRENT_LIST_DIR}/executor_test.cpp)
target_link_libraries(kleene_builder_executor_tests PRIVATE kleene_builder_exec GTest::gtest_main)
gtest_discover_tests(kleene_builder_executor_tests PROPERTIES LABELS unit)

# The build plan: stages, numbering, step actions, cache keys, messages, image config.
add_executable(kleene_builder_plan_tests ${CMAKE_CURRENT_LIST_DIR}/plan_test.cpp)
target_link_libraries(kleene_builder_plan_tests PRIVATE kleene_builder_core GTest::gtest_main)
gtest_discover_tests(kleene_builder_plan_tests PROPERTIES LABELS unit)

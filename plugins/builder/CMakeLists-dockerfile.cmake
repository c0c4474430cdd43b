# The Dockerfile parser and the in-process ARG/ENV substitution (pure logic, no shell).
target_sources(kleene_builder_core PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/dockerfile.cpp
  ${CMAKE_CURRENT_LIST_DIR}/dockerfile_expand.cpp)

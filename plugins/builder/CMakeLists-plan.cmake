# The build plan: stages and their selection, numbered steps, cache keys, Kleene's build
# messages and the final image configuration (pure logic).
target_sources(kleene_builder_core PRIVATE ${CMAKE_CURRENT_LIST_DIR}/plan.cpp)
target_link_libraries(kleene_builder_core PRIVATE OpenSSL::Crypto)

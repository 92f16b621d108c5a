# SPDX-License-Identifier: MIT
# The replay tests link the replay library and the test-only allocators.
foreach(t test_replay_trace test_replay_engine test_replay_report test_replay_cli)
  if(TARGET ${t})
    target_link_libraries(${t} PRIVATE buddy_replay_lib)
    target_sources(${t} PRIVATE ${CMAKE_CURRENT_LIST_DIR}/testalloc.c)
    target_include_directories(${t} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  endif()
endforeach()
# The CLI test runs the programs, so they must be built first.
if(TARGET test_replay_cli)
  add_dependencies(test_replay_cli buddy buddy-run-native)
endif()
foreach(t test_replay_trace test_replay_engine test_replay_report test_replay_cli)
  if(TARGET ${t})
    target_compile_definitions(${t} PRIVATE BUDDY_TEST_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  endif()
endforeach()

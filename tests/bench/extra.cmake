# SPDX-License-Identifier: MIT
# The workload tests link the bench library.
if(TARGET test_bench_workload)
  target_link_libraries(test_bench_workload PRIVATE buddy_runner_lib)
endif()
# The timer of bench/preload/programs.sh (bench/ builds it with the process malloc,
# after this folder: hence the test on buddymalloc_shared).
if(TARGET buddymalloc_shared)
  add_test(NAME bench_runstat COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/runstat.sh
    $<TARGET_FILE:preload_runstat>)
  set_property(TEST bench_runstat PROPERTY LABELS bench)
endif()

# SPDX-License-Identifier: MIT
# The workload tests link the bench library.
if(TARGET test_bench_workload)
  target_link_libraries(test_bench_workload PRIVATE buddy_runner_lib)
endif()

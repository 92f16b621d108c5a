# SPDX-License-Identifier: MIT
# The process malloc (src/preload). The cmocka tests (test_preload_*.c, every
# build) call the bmalloc_ functions of libbuddy; here they run again with
# the environment options, and, where libbuddymalloc is built (not in the
# sanitizer builds, whose interceptors own malloc), a program linked with
# libbuddymalloc.a and real programs under LD_PRELOAD.
set(BUDDY_PRELOAD_DIR ${CMAKE_CURRENT_LIST_DIR})

# The multi-threaded ones also run under ThreadSanitizer (make check-tsan: label threads).
set_property(TEST test_preload_threads test_preload_stress APPEND PROPERTY LABELS threads)

if(BUDDY_COVERAGE)
  foreach(t test_preload_api test_preload_errors test_preload_threads test_preload_stress)
    target_compile_definitions(${t} PRIVATE BUDDY_TEST_COVERAGE)
  endforeach()
endif()

buddy_add_test(test_preload_errors_check preload $<TARGET_FILE:test_preload_errors>)
set_property(TEST test_preload_errors_check APPEND PROPERTY ENVIRONMENT BUDDY_MALLOC_CHECK=1
  BUDDY_MALLOC_STATS_FILE=${CMAKE_CURRENT_BINARY_DIR}/preload-stats.txt)
buddy_add_test(test_preload_errors_check2 preload $<TARGET_FILE:test_preload_errors>)
set_property(TEST test_preload_errors_check2 APPEND PROPERTY ENVIRONMENT BUDDY_MALLOC_CHECK=2
  BUDDY_MALLOC_STATS_FILE=/nonexistent-dir/buddy-stats)
buddy_add_test(test_preload_api_nocache preload $<TARGET_FILE:test_preload_api>)
set_property(TEST test_preload_api_nocache APPEND PROPERTY ENVIRONMENT BUDDY_MALLOC_TCACHE=0
  BUDDY_MALLOC_STATS=1 BUDDY_MALLOC_CHECK=)

if(TARGET buddymalloc_shared AND NOT BUDDY_VALGRIND AND NOT BUDDY_COVERAGE)
  add_executable(preload_static_probe ${BUDDY_PRELOAD_DIR}/static_probe.c)
  target_link_libraries(preload_static_probe PRIVATE buddymalloc_static)
  target_include_directories(preload_static_probe PRIVATE ${PROJECT_SOURCE_DIR}/include)
  add_test(NAME preload_static_link COMMAND preload_static_probe)
  add_test(NAME preload_real_programs COMMAND sh ${BUDDY_PRELOAD_DIR}/real_programs.sh
    $<TARGET_FILE:buddymalloc_shared>)
  set_property(TEST preload_static_link preload_real_programs PROPERTY LABELS preload)
endif()

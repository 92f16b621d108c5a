# SPDX-License-Identifier: MIT
# Extra page-allocator tests: the core must stay freestanding.
#
# These run nm over object files, not a program, so there is nothing for
# memcheck to look at: they are registered with add_test directly, under the
# same label and in every build (including the valgrind one).
set(BUDDY_FREESTANDING_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/check_freestanding.cmake)

add_test(NAME page_core_freestanding
  COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM}
    "-DOBJECTS=$<JOIN:$<TARGET_OBJECTS:buddy_core>,|>"
    -P ${BUDDY_FREESTANDING_SCRIPT})
set_property(TEST page_core_freestanding APPEND PROPERTY LABELS page)

# The check itself must be able to fail: the probe object calls malloc,
# printf and free, so the same script run on it has to name malloc.
add_library(page_freestanding_probe OBJECT ${CMAKE_CURRENT_LIST_DIR}/freestanding_probe.c)
add_test(NAME page_core_freestanding_detects_libc
  COMMAND ${CMAKE_COMMAND} -DNM=${CMAKE_NM}
    "-DOBJECTS=$<JOIN:$<TARGET_OBJECTS:page_freestanding_probe>,|>"
    -P ${BUDDY_FREESTANDING_SCRIPT})
set_tests_properties(page_core_freestanding_detects_libc PROPERTIES
  PASS_REGULAR_EXPRESSION "not in the core: malloc\n" LABELS page)

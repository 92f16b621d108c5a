# SPDX-License-Identifier: MIT
# Tests of the `buddy` command: golden-file sessions per allocator, every
# error message, the command line, the SVG, and (C tests, globbed) the
# session API and the interactive mode on a pseudo-terminal.
set(BUDDY_TOOLS_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})

# The C tests drive sessions directly and need the tool's own sources.
foreach(t test_buddy_session test_buddy_pty)
  if(TARGET ${t})
    target_link_libraries(${t} PRIVATE buddy_session)
  endif()
endforeach()
if(TARGET test_buddy_pty)
  target_link_libraries(test_buddy_pty PRIVATE util)
  add_dependencies(test_buddy_pty buddy)
endif()

# Shell-driven tests: the shell itself never runs under valgrind; the
# scripts run build/buddy under memcheck when BUDDY_UNDER_VALGRIND is 1.
function(buddy_add_script_test name)
  add_test(NAME ${name} COMMAND sh ${ARGN})
  set_property(TEST ${name} APPEND PROPERTY LABELS tools)
  set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT
    BUDDY_SOURCE_DIR=${PROJECT_SOURCE_DIR} BUDDY_BINARY_DIR=${PROJECT_BINARY_DIR})
  if(BUDDY_VALGRIND)
    set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT BUDDY_UNDER_VALGRIND=1)
  endif()
endfunction()

# One golden session per allocator mode; each script NAME.txt runs with
# --allocator=MODE (errors.txt: pages).
foreach(name pages errors heap bestfit kmalloc)
  set(mode ${name})
  if(name STREQUAL "errors")
    set(mode pages)
  endif()
  buddy_add_script_test(test_buddy_golden_${name} ${BUDDY_TOOLS_TEST_DIR}/run_golden.sh
    $<TARGET_FILE:buddy> ${BUDDY_TOOLS_TEST_DIR}/golden ${name} --allocator=${mode})
endforeach()

buddy_add_script_test(test_buddy_cli ${BUDDY_TOOLS_TEST_DIR}/cli.sh
  $<TARGET_FILE:buddy> ${BUDDY_TOOLS_TEST_DIR}/golden)
buddy_add_script_test(test_buddy_svg ${BUDDY_TOOLS_TEST_DIR}/svg_check.sh $<TARGET_FILE:buddy>)
set_property(TEST test_buddy_svg PROPERTY SKIP_RETURN_CODE 77)
buddy_add_script_test(test_buddy_docs ${BUDDY_TOOLS_TEST_DIR}/docs_check.sh $<TARGET_FILE:buddy>
  ${PROJECT_SOURCE_DIR})

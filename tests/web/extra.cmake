# SPDX-License-Identifier: MIT
# Tests of the web page (web/), in the plain build only (see the top-level
# CMakeLists.txt):
#   test_web_layout   the same operations on the native core and the wasm
#                     core, identical layouts; the page's session against the
#                     native `buddy` command, identical output (Node.js)
#   test_web_browser  the built page in headless Chromium, driven like a person
#                     would, against what the native command prints; saves the
#                     screenshot (Node.js and Chromium; skips, saying so,
#                     without them)
if(NOT TARGET web)
  return()
endif()
add_executable(web_layout_native ${CMAKE_CURRENT_LIST_DIR}/layout_native.c)
target_link_libraries(web_layout_native PRIVATE buddy_static)
set_target_properties(web_layout_native PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})

find_program(BUDDY_NODE NAMES node nodejs)
set(BUDDY_WEB_DIR ${PROJECT_BINARY_DIR}/web)
function(buddy_web_test name)
  if(BUDDY_WEB_MISSING)
    add_test(NAME ${name} COMMAND sh -c "echo 'skipped: the web page needs ${BUDDY_WEB_MISSING}'; exit 77")
  elseif(NOT BUDDY_NODE)
    add_test(NAME ${name} COMMAND sh -c "echo 'skipped: Node.js not found (apt-get install nodejs)'; exit 77")
  else()
    add_test(NAME ${name} COMMAND ${BUDDY_NODE} ${ARGN})
  endif()
  set_property(TEST ${name} PROPERTY SKIP_RETURN_CODE 77)
  set_property(TEST ${name} APPEND PROPERTY LABELS web)
  set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT
    BUDDY_SOURCE_DIR=${PROJECT_SOURCE_DIR} BUDDY_BINARY_DIR=${PROJECT_BINARY_DIR})
endfunction()

buddy_web_test(test_web_layout ${CMAKE_CURRENT_LIST_DIR}/layout_test.js
  $<TARGET_FILE:web_layout_native> $<TARGET_FILE:buddy> ${BUDDY_WEB_DIR}/buddy.wasm ${BUDDY_WASM_CHECK})
buddy_web_test(test_web_browser ${CMAKE_CURRENT_LIST_DIR}/browser_test.js
  $<TARGET_FILE:buddy> ${BUDDY_WEB_DIR} ${PROJECT_BINARY_DIR}/web-screenshots)

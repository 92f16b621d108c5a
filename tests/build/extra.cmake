# SPDX-License-Identifier: MIT
# The installed headers, pkg-config file and CMake package work for a consumer.
# Not under valgrind, sanitizers or coverage: it builds with the system compiler
# and links the installed library without their runtimes.
if(NOT BUDDY_VALGRIND AND NOT BUDDY_SANITIZE AND NOT BUDDY_COVERAGE)
  add_test(NAME install_consumer
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/install_consumer.sh ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
  set_property(TEST install_consumer PROPERTY LABELS build)
endif()

# `make run` in the built tree: quiet, and building only the command.
if(NOT BUDDY_VALGRIND AND NOT BUDDY_SANITIZE AND NOT BUDDY_COVERAGE)
  add_test(NAME make_run
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/make_run.sh ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
  set_property(TEST make_run PROPERTY LABELS build)
endif()

# LICENSE, and an SPDX line in every source file.
add_test(NAME spdx COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/spdx_check.sh ${PROJECT_SOURCE_DIR})
set_property(TEST spdx PROPERTY LABELS build)

# The manual: a page per public header, every function, option and command.
if(NOT BUDDY_VALGRIND AND NOT BUDDY_SANITIZE AND NOT BUDDY_COVERAGE)
  add_test(NAME man_pages
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/man_check.sh $<TARGET_FILE:buddy> ${PROJECT_SOURCE_DIR})
  set_property(TEST man_pages PROPERTY LABELS build)
endif()

# Every global symbol of libbuddy.a has a project prefix; libbuddy.so exports
# exactly the public headers' functions. Not in instrumented builds, whose
# objects carry the instrumentation's own symbols.
if(NOT BUDDY_VALGRIND AND NOT BUDDY_SANITIZE AND NOT BUDDY_COVERAGE AND NOT BUDDY_FUZZ)
  add_test(NAME symbols
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/symbols_check.sh ${CMAKE_NM}
      $<TARGET_FILE:buddy_static> $<TARGET_FILE:buddy_shared> ${PROJECT_SOURCE_DIR})
  set_property(TEST symbols PROPERTY LABELS build)
endif()

# The installed headers, pkg-config file and CMake package work for a consumer.
# Not under valgrind or sanitizers: it builds with the system compiler.
if(NOT BUDDY_VALGRIND AND NOT BUDDY_SANITIZE)
  add_test(NAME install_consumer
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/install_consumer.sh ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
  set_property(TEST install_consumer PROPERTY LABELS build)
endif()

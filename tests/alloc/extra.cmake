# SPDX-License-Identifier: MIT
# balloc_names() is safe to call from several threads: names_probe.c calls it
# from four at once, built with ThreadSanitizer with the registry alone, in
# the plain build (the sanitizer and valgrind builds cannot add TSan).
if(NOT (BUDDY_SANITIZE OR BUDDY_VALGRIND OR BUDDY_COVERAGE OR BUDDY_FUZZ OR BUDDY_TSAN))
  include(CheckCSourceRuns)
  set(CMAKE_REQUIRED_FLAGS -fsanitize=thread)
  set(CMAKE_REQUIRED_LINK_OPTIONS -fsanitize=thread)
  check_c_source_runs("int main(void) { return 0; }" BUDDY_HAVE_TSAN)
  unset(CMAKE_REQUIRED_FLAGS)
  unset(CMAKE_REQUIRED_LINK_OPTIONS)
  find_package(Threads REQUIRED)
  if(BUDDY_HAVE_TSAN)
    add_executable(alloc_names_tsan ${CMAKE_CURRENT_LIST_DIR}/names_probe.c
      ${PROJECT_SOURCE_DIR}/src/alloc/registry.c)
    target_include_directories(alloc_names_tsan PRIVATE ${PROJECT_SOURCE_DIR}/include)
    target_compile_options(alloc_names_tsan PRIVATE -fsanitize=thread -fno-omit-frame-pointer)
    target_link_options(alloc_names_tsan PRIVATE -fsanitize=thread)
    target_link_libraries(alloc_names_tsan PRIVATE Threads::Threads)
    add_test(NAME alloc_names_tsan COMMAND alloc_names_tsan)
    set_property(TEST alloc_names_tsan PROPERTY LABELS alloc)
    set_property(TEST alloc_names_tsan PROPERTY ENVIRONMENT "TSAN_OPTIONS=halt_on_error=1 exitcode=66")
  else()
    message(STATUS "alloc_names_tsan: the compiler cannot build with -fsanitize=thread; test left out")
  endif()
endif()

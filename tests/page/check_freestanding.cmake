# SPDX-License-Identifier: MIT
# check_freestanding.cmake - proves the page allocator core is freestanding:
# across its object files, every undefined symbol must be defined by another
# core object, or be one of the memory primitives compilers may emit calls to
# even for freestanding code (memset, memcpy, memmove), or belong to the
# instrumentation runtime of a sanitizer or coverage build. Anything else
# (malloc, free, printf, abort, ...) fails.
#
# Usage: cmake -DNM=<nm> -DOBJECTS=<obj>|<obj>|... -P check_freestanding.cmake
if(NOT NM OR NOT OBJECTS)
  message(FATAL_ERROR "usage: cmake -DNM=nm -DOBJECTS=a.o|b.o -P check_freestanding.cmake")
endif()
string(REPLACE "|" ";" objects "${OBJECTS}")

set(defined "")
set(undefined "")
foreach(obj IN LISTS objects)
  execute_process(COMMAND ${NM} -P ${obj} RESULT_VARIABLE rc
    OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} failed on ${obj}: ${err}")
  endif()
  string(REPLACE "\n" ";" lines "${out}")
  foreach(line IN LISTS lines)
    if(NOT line MATCHES "^([^ ]+) ([A-Za-z?])")
      continue()
    endif()
    set(type "${CMAKE_MATCH_2}") # before REGEX REPLACE resets CMAKE_MATCH_*
    string(REGEX REPLACE "@.*$" "" sym "${CMAKE_MATCH_1}")
    if(type STREQUAL "U" OR type STREQUAL "w" OR type STREQUAL "v")
      list(APPEND undefined "${sym}")
    else()
      list(APPEND defined "${sym}")
    endif()
  endforeach()
endforeach()

set(bad "")
foreach(sym IN LISTS undefined)
  list(FIND defined "${sym}" found)
  if(NOT found EQUAL -1)
    continue()
  endif()
  if(sym MATCHES "^(memset|memcpy|memmove)$")
    continue()
  endif()
  if(sym MATCHES "^(__asan_|__ubsan_|__tsan_|__sanitizer_|__gcov_|__llvm_gcov|__llvm_profile)")
    continue()
  endif()
  list(APPEND bad "${sym}")
endforeach()
list(REMOVE_DUPLICATES bad)

list(LENGTH objects nobj)
if(bad)
  foreach(sym IN LISTS bad)
    message(STATUS "not in the core: ${sym}")
  endforeach()
  string(REPLACE ";" ", " bad_text "${bad}")
  message(FATAL_ERROR "not freestanding: ${nobj} objects reference ${bad_text}")
endif()
message(STATUS "freestanding: ${nobj} objects reference nothing outside the core")

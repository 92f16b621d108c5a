# SPDX-License-Identifier: MIT
# Runs at install time (the top CMakeLists.txt sets its inputs in an
# install(CODE)), so it sees the prefix really installed to, whether from
# CMAKE_INSTALL_PREFIX, `cmake --install --prefix` or `make install PREFIX=`.
# It writes lib/pkgconfig/buddy.pc (and buddymalloc.pc) and makes the shared library findable when
# a program built against it runs:
# - a libdir the dynamic loader searches through ld.so.conf (/usr/local/lib
#   on Debian) needs its cache refreshed: ldconfig runs when installing as
#   root without DESTDIR (a package's own scripts do it otherwise);
# - a libdir neither the linker nor the loader knows (a private prefix such as
#   ~/.local): buddy.pc adds -Wl,-rpath, so programs built with
#   `pkg-config --libs buddy` run without LD_LIBRARY_PATH.
# Inputs: BUDDY_PC_IN, BUDDY_MALLOC_PC_IN (may be empty), BUDDY_LIBDIR, BUDDY_INCLUDEDIR, BUDDY_SYSTEM_LIBDIRS,
# PROJECT_DESCRIPTION, PROJECT_VERSION.
# BUDDY_PC_<DIR> is the line in buddy.pc, BUDDY_FULL_<DIR> the path.
foreach(d LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${BUDDY_${d}}")
    set(BUDDY_PC_${d} "${BUDDY_${d}}")
    set(BUDDY_FULL_${d} "${BUDDY_${d}}")
  else()
    set(BUDDY_PC_${d} "\${prefix}/${BUDDY_${d}}")
    set(BUDDY_FULL_${d} "${CMAKE_INSTALL_PREFIX}/${BUDDY_${d}}")
  endif()
endforeach()
set(BUDDY_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")

# The directories the dynamic loader is configured to search (ldconfig -v
# prints each as "DIR: (from FILE:LINE)"; -N -X change nothing). The
# environment variable BUDDY_LOADER_DIRS (a ;-list) names them instead: the
# install test uses it to take this path without touching the system.
# (This runs as a script, where no policy is set: no if(IN_LIST) here.)
find_program(BUDDY_LDCONFIG ldconfig PATHS /sbin /usr/sbin)
set(loader_dirs "")
if(DEFINED ENV{BUDDY_LOADER_DIRS})
  set(loader_dirs "$ENV{BUDDY_LOADER_DIRS}")
elseif(BUDDY_LDCONFIG)
  execute_process(COMMAND ${BUDDY_LDCONFIG} -v -N -X OUTPUT_VARIABLE out ERROR_QUIET)
  string(REGEX MATCHALL "(^|\n)/[^:\n]*:" found "${out}")
  foreach(f ${found})
    string(REGEX REPLACE "^\n?(.*):$" "\\1" f "${f}")
    list(APPEND loader_dirs "${f}")
  endforeach()
endif()

get_filename_component(libdir_real "${BUDDY_FULL_LIBDIR}" REALPATH)
set(BUDDY_PC_RPATH " -Wl,-rpath,\${libdir}")
set(in_loader_conf OFF)
foreach(d ${BUDDY_SYSTEM_LIBDIRS} ${loader_dirs})
  get_filename_component(d_real "${d}" REALPATH)
  if(d_real STREQUAL libdir_real)
    set(BUDDY_PC_RPATH "")
    list(FIND loader_dirs "${d}" at)
    if(at GREATER -1)
      set(in_loader_conf ON)
    endif()
  endif()
endforeach()

# buddy.pc, and buddymalloc.pc when libbuddymalloc is built (BUDDY_MALLOC_PC_IN).
foreach(in ${BUDDY_PC_IN} ${BUDDY_MALLOC_PC_IN})
  get_filename_component(name "${in}" NAME_WE)
  set(pc "$ENV{DESTDIR}${BUDDY_FULL_LIBDIR}/pkgconfig/${name}.pc")
  message(STATUS "Installing: ${pc}")
  configure_file("${in}" "${pc}" @ONLY)
  list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${pc}")
endforeach()

if(in_loader_conf AND "$ENV{DESTDIR}" STREQUAL "" AND BUDDY_LDCONFIG)
  execute_process(COMMAND id -u OUTPUT_VARIABLE uid OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(uid STREQUAL "0")
    message(STATUS "Running ldconfig: ${BUDDY_FULL_LIBDIR} is in the dynamic loader's path")
    execute_process(COMMAND ${BUDDY_LDCONFIG})
  endif()
endif()

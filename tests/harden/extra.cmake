# SPDX-License-Identifier: MIT
# Memory-checker annotations: tests that valgrind and AddressSanitizer each
# report a use after free and an overflow into a neighbouring block made on
# our pages (annot_probe.c) and on a slab object of the kmalloc heap
# (slab_probe.c), and stay silent on correct use.
set(BUDDY_HARDEN_DIR ${CMAKE_CURRENT_LIST_DIR})

if(BUDDY_SANITIZE)
  # The ASan build annotates the library by itself.
  add_executable(annot_probe_asan ${BUDDY_HARDEN_DIR}/annot_probe.c)
  target_link_libraries(annot_probe_asan PRIVATE buddy_static)
  foreach(mode uaf overflow)
    add_test(NAME annot_asan_${mode} COMMAND ${BUDDY_HARDEN_DIR}/expect_report.sh
      "ERROR: AddressSanitizer: use-after-poison" $<TARGET_FILE:annot_probe_asan> ${mode})
    set_property(TEST annot_asan_${mode} PROPERTY LABELS harden)
  endforeach()
  add_test(NAME annot_asan_ok COMMAND annot_probe_asan ok)
  set_property(TEST annot_asan_ok PROPERTY LABELS harden)
  add_executable(slab_probe_asan ${BUDDY_HARDEN_DIR}/slab_probe.c)
  target_link_libraries(slab_probe_asan PRIVATE buddy_static)
  foreach(mode uaf overflow)
    add_test(NAME slab_annot_asan_${mode} COMMAND ${BUDDY_HARDEN_DIR}/expect_report.sh
      "ERROR: AddressSanitizer: use-after-poison" $<TARGET_FILE:slab_probe_asan> ${mode})
    set_property(TEST slab_annot_asan_${mode} PROPERTY LABELS harden)
  endforeach()
  add_test(NAME slab_annot_asan_ok COMMAND slab_probe_asan ok)
  set_property(TEST slab_annot_asan_ok PROPERTY LABELS harden)
elseif(VALGRIND_EXE)
  # The core compiled again with the valgrind client requests.
  file(GLOB annot_core_sources ${PROJECT_SOURCE_DIR}/src/page/*.c ${PROJECT_SOURCE_DIR}/src/common/*.c)
  add_executable(annot_probe_vg ${BUDDY_HARDEN_DIR}/annot_probe.c ${annot_core_sources})
  target_include_directories(annot_probe_vg PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(annot_probe_vg PRIVATE BUDDY_ANNOTATE_VALGRIND)
  set(vg ${VALGRIND_EXE} --error-exitcode=99 --leak-check=no)
  add_test(NAME annot_valgrind_uaf COMMAND ${BUDDY_HARDEN_DIR}/expect_report.sh
    "is 32 bytes inside a block of size 64 free'd" ${vg} $<TARGET_FILE:annot_probe_vg> uaf)
  add_test(NAME annot_valgrind_overflow COMMAND ${BUDDY_HARDEN_DIR}/expect_report.sh
    "is 16 bytes after a block of size 64 alloc'd" ${vg} $<TARGET_FILE:annot_probe_vg> overflow)
  add_test(NAME annot_valgrind_ok COMMAND ${vg} $<TARGET_FILE:annot_probe_vg> ok)
  set_property(TEST annot_valgrind_uaf annot_valgrind_overflow annot_valgrind_ok PROPERTY LABELS harden)
  # The slab layer and the kmalloc heap on it, compiled the same way.
  file(GLOB slab_probe_sources ${PROJECT_SOURCE_DIR}/src/page/*.c ${PROJECT_SOURCE_DIR}/src/common/*.c
    ${PROJECT_SOURCE_DIR}/src/slab/*.c ${PROJECT_SOURCE_DIR}/src/kmalloc/*.c)
  add_executable(slab_probe_vg ${BUDDY_HARDEN_DIR}/slab_probe.c ${slab_probe_sources})
  target_include_directories(slab_probe_vg PRIVATE ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_compile_definitions(slab_probe_vg PRIVATE BUDDY_ANNOTATE_VALGRIND)
  add_test(NAME slab_annot_valgrind_uaf COMMAND ${BUDDY_HARDEN_DIR}/expect_report.sh
    "is 32 bytes inside a block of size 64 free'd" ${vg} $<TARGET_FILE:slab_probe_vg> uaf)
  add_test(NAME slab_annot_valgrind_overflow COMMAND ${BUDDY_HARDEN_DIR}/expect_report.sh
    "is 0 bytes after a (recently re-allocated )?block of size 64 alloc'd" ${vg} $<TARGET_FILE:slab_probe_vg> overflow)
  add_test(NAME slab_annot_valgrind_ok COMMAND ${vg} $<TARGET_FILE:slab_probe_vg> ok)
  set_property(TEST slab_annot_valgrind_uaf slab_annot_valgrind_overflow slab_annot_valgrind_ok
    PROPERTY LABELS harden)
endif()

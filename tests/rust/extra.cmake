# SPDX-License-Identifier: MIT
# The Rust port's tests (only when the build has it, BUDDY_RUST):
#   test_rust_diff   the Rust zone against the C zone, through the C ABI
#   test_rust_bench  the "page-rust" bench target against the C core's "page"
#   test_rust_heap   the Rust byte heap's C ABI and `buddy replay -a rust`
#   rust_cargo_test  the crate's own tests (units, model stress, global allocator),
#                    in the dev profile: optimized, with both assertion tiers on
#   rust_lint        rustfmt --check, clippy -D warnings, rustdoc -D warnings
# The cargo tests run once, in this build only: the sanitizer and valgrind
# builds are configured without the Rust port.
if(BUDDY_RUST_ON)
  target_link_libraries(test_rust_diff PRIVATE buddy_rust)
  target_link_libraries(test_rust_bench PRIVATE buddy_runner_rust)
  add_dependencies(test_rust_bench buddy-run-native)
  target_link_libraries(test_rust_heap PRIVATE buddy_runner_rust buddy_replay_lib)
  target_sources(test_rust_heap PRIVATE ${PROJECT_SOURCE_DIR}/tests/replay/testalloc.c)
  target_include_directories(test_rust_heap PRIVATE ${PROJECT_SOURCE_DIR}/tests/replay)
  add_test(NAME rust_cargo_test
    COMMAND ${BUDDY_CARGO_ENV} ${CARGO_EXE} test ${BUDDY_CARGO_FLAGS} --workspace)
  add_test(NAME rust_lint
    COMMAND ${BUDDY_CARGO_ENV} sh ${PROJECT_SOURCE_DIR}/scripts/rust-lint.sh ${CARGO_EXE}
      ${PROJECT_SOURCE_DIR}/rust/Cargo.toml)
  set_tests_properties(rust_cargo_test rust_lint PROPERTIES LABELS rust)
endif()

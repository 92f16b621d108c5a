// SPDX-License-Identifier: MIT
//! The README's Rust examples are the crate's examples, word for word, and
//! they run: the page allocator example prints what the README says (the
//! same lines as the C example), the global allocator example succeeds.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The ```rust blocks of README.md.
fn rust_blocks() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        match (&mut cur, line) {
            (None, "```rust") => cur = Some(String::new()),
            (Some(b), "```") => {
                blocks.push(std::mem::take(b));
                cur = None;
            }
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// An example's source without its SPDX line.
fn example(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("examples/{name}.rs"));
    let src = std::fs::read_to_string(p).unwrap();
    src.split_once('\n').unwrap().1.to_string()
}

/// Run a built example (cargo test builds them beside the test binaries).
fn run(name: &str) -> String {
    let exe = std::env::current_exe().unwrap();
    let dir = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    let out = Command::new(&dir)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn test_readme_examples_are_the_crate_examples() {
    let blocks = rust_blocks();
    assert_eq!(
        blocks.len(),
        2,
        "the README's Rust section has two examples"
    );
    assert_eq!(blocks[0], example("zone"));
    assert_eq!(blocks[1], example("global_allocator"));
}

#[test]
fn test_readme_zone_example_prints_the_c_example_lines() {
    let out = run("zone");
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    // The C example's output, indented by four spaces after "prints".
    let after = readme.split("\nprints\n").nth(1).unwrap();
    let want: String = after
        .lines()
        .skip_while(|l| l.is_empty())
        .take_while(|l| l.starts_with("    "))
        .map(|l| format!("{}\n", &l[4..]))
        .collect();
    assert_eq!(out, want);
    assert!(run("global_allocator").contains(" allocations, "));
}

// SPDX-License-Identifier: MIT
//! A program whose `#[global_allocator]` is the buddy heap: every
//! allocation of this test binary (the test harness's too) comes from a
//! 128 MiB arena in a static. Threads grow and shrink Vec, String, BTreeMap
//! and HashMap values at the same time and check their results; the heap
//! must hand out only arena memory, stay sound, and report misuse through
//! its handler (or, without one, stop the program with a message).
#![deny(clippy::undocumented_unsafe_blocks)]

use buddy::{Arena, Error, ErrorKind, ErrorReport, LockedHeap};
use std::alloc::{GlobalAlloc, Layout};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

const ARENA_BYTES: usize = 128 << 20;
static ARENA: Arena<[u8; ARENA_BYTES]> = Arena::new();

static MISUSES: AtomicUsize = AtomicUsize::new(0);
static LAST_KIND: AtomicI32 = AtomicI32::new(0);

fn on_misuse(arg: usize, r: &ErrorReport<'_>) {
    assert_eq!(arg, 7);
    assert!(r.msg.starts_with("buddy: "), "{}", r.msg);
    assert_eq!(r.kind, ErrorKind::of(r.error));
    LAST_KIND.store(r.error.code(), Ordering::SeqCst);
    MISUSES.fetch_add(1, Ordering::SeqCst);
}

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::with_arena(&ARENA).with_error_handler(on_misuse, 7);

fn in_arena(p: *const u8) -> bool {
    let a = &ARENA as *const _ as usize;
    (a..a + ARENA_BYTES + 4096).contains(&(p as usize))
}

/// One thread's workload; returns a checksum the caller recomputes.
fn workload(t: u64, rounds: u64) -> u64 {
    let mut sum = 0u64;
    for r in 0..rounds {
        // Vec growth (realloc in place or moving) and shrinkage.
        let mut v: Vec<u64> = Vec::new();
        for i in 0..20_000 {
            v.push(i * t + r);
        }
        assert!(in_arena(v.as_ptr().cast()));
        v.truncate(500);
        v.shrink_to_fit();
        sum = sum.wrapping_add(v.iter().sum::<u64>());
        // Strings.
        let mut s = String::new();
        for i in 0..2_000 {
            s.push_str(&format!("{i:x}-{t};"));
        }
        sum = sum.wrapping_add(s.len() as u64);
        // A tree and a hash map, filled, thinned, refilled.
        let mut tree = BTreeMap::new();
        let mut map: HashMap<u64, Vec<u8>> = HashMap::new();
        for i in 0..3_000u64 {
            tree.insert(i * 7 % 3_001, format!("{i}"));
            map.insert(i, vec![(i % 251) as u8; (i % 97) as usize]);
        }
        for i in (0..3_000u64).step_by(2) {
            tree.remove(&(i * 7 % 3_001));
            map.remove(&i);
        }
        map.shrink_to_fit();
        sum = sum.wrapping_add(tree.len() as u64 + map.len() as u64);
        sum = sum.wrapping_add(
            map.values()
                .map(|b| b.iter().map(|&x| x as u64).sum::<u64>())
                .sum(),
        );
        sum = sum.wrapping_add(tree.values().map(|s| s.len() as u64).sum());
    }
    sum
}

#[test]
fn test_global_threads_workload() {
    let rounds = 6;
    // The expected checksums, computed one thread at a time first.
    let expect: Vec<u64> = (1..=4).map(|t| workload(t, rounds)).collect();
    let threads: Vec<_> = (1..=4)
        .map(|t| std::thread::spawn(move || workload(t, rounds)))
        .collect();
    let got: Vec<u64> = threads.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(got, expect);
    let h = HEAP.lock();
    assert_eq!(h.zone().check(&mut |m| panic!("check: {m}")), 0);
    let st = h.zone().stats();
    assert!(st.allocs > 100_000 && st.frees > 100_000, "{st:?}");
}

#[test]
fn test_global_boxes_come_from_the_arena() {
    let b = Box::new([1u8; 100]);
    assert!(in_arena(b.as_ptr()));
    let big = vec![0u8; 4 << 20];
    assert!(in_arena(big.as_ptr()));
    let aligned = Layout::from_size_align(64, 4096).unwrap();
    // SAFETY: a valid layout; freed below with the same layout.
    let p = unsafe { HEAP.alloc_zeroed(aligned) };
    assert!(!p.is_null() && p as usize % 4096 == 0 && in_arena(p));
    // SAFETY: p came from HEAP.alloc_zeroed with this layout.
    unsafe { HEAP.dealloc(p, aligned) };
    // Too big for the arena: null, not a crash.
    let huge = Layout::from_size_align(1 << 30, 8).unwrap();
    // SAFETY: a valid layout.
    assert!(unsafe { HEAP.alloc(huge) }.is_null());
}

#[test]
fn test_global_realloc_keeps_contents() {
    let layout = Layout::from_size_align(100, 8).unwrap();
    // SAFETY: valid layouts; every pointer passed back came from HEAP with
    // the layout given.
    unsafe {
        let p = HEAP.alloc(layout);
        p.write_bytes(0x3c, 100);
        let q = HEAP.realloc(p, layout, 10_000);
        assert!(!q.is_null());
        assert!(std::slice::from_raw_parts(q, 100)
            .iter()
            .all(|&b| b == 0x3c));
        let r = HEAP.realloc(q, Layout::from_size_align(10_000, 8).unwrap(), 50);
        assert!(std::slice::from_raw_parts(r, 50).iter().all(|&b| b == 0x3c));
        HEAP.dealloc(r, Layout::from_size_align(50, 8).unwrap());
    }
}

#[test]
fn test_global_misuse_is_reported_and_refused() {
    let layout = Layout::from_size_align(48, 8).unwrap();
    let before = MISUSES.load(Ordering::SeqCst);
    // SAFETY: the first alloc/dealloc pair is correct. The later calls break
    // GlobalAlloc's contract on purpose: LockedHeap defines what happens
    // (nothing changes; the handler is told), which is what this tests.
    unsafe {
        let p = HEAP.alloc(layout);
        HEAP.dealloc(p, layout);
        HEAP.dealloc(p, layout);
        assert_eq!(LAST_KIND.load(Ordering::SeqCst), Error::Double.code());
        let q = HEAP.alloc(layout);
        HEAP.dealloc(q.add(16), layout);
        assert_eq!(LAST_KIND.load(Ordering::SeqCst), Error::NotBlock.code());
        HEAP.dealloc(q, Layout::from_size_align(4096, 8).unwrap());
        assert_eq!(LAST_KIND.load(Ordering::SeqCst), Error::Order.code());
        let outside = [0u8; 16];
        assert!(HEAP
            .realloc(outside.as_ptr() as *mut u8, layout, 100)
            .is_null());
        assert_eq!(LAST_KIND.load(Ordering::SeqCst), Error::Outside.code());
        HEAP.dealloc(q, layout); // the block survived every refused call
    }
    assert!(MISUSES.load(Ordering::SeqCst) >= before + 4);
}

/// Without a handler, misuse stops the program with a message (as glibc's
/// "free(): double free detected"), instead of unwinding out of the allocator.
#[test]
fn test_global_misuse_without_handler_aborts() {
    if std::env::var_os("BUDDY_ABORT_CHILD").is_some() {
        let heap = LockedHeap::new();
        let mem: &'static mut [u8] = Box::leak(vec![0u8; 8192].into_boxed_slice());
        heap.add_memory_static(mem).unwrap();
        let layout = Layout::from_size_align(32, 8).unwrap();
        // SAFETY: deliberately a double free (see the test's purpose).
        unsafe {
            let p = heap.alloc(layout);
            heap.dealloc(p, layout);
            heap.dealloc(p, layout);
        }
        unreachable!("the double free must stop the program");
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "test_global_misuse_without_handler_aborts",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("BUDDY_ABORT_CHILD", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("buddy: dealloc(): double free at 0x"), "{err}");
    assert!(!err.contains("must stop the program"), "{err}");
}

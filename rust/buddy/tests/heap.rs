// SPDX-License-Identifier: MIT
//! Unit tests of the byte heap, the locked heap, the arena and the spin
//! lock: sizes and alignments, every refused free, realloc in place and
//! moving, and the memory hand-over rules.
#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use buddy::{Arena, Error, Heap, LockedHeap, SpinLock, MIN_BLOCK};
use std::alloc::Layout;
use std::sync::Arc;

fn lay(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// A heap over `len` bytes whose start is aligned to exactly `align`.
fn heap_over(len: usize, align: usize) -> (Heap, usize) {
    let buf = common::arena_aligned(1, len + align, 2 * align);
    let mem = &mut buf[align..];
    let base = mem.as_ptr() as usize;
    let mut h = Heap::new();
    h.add_memory_static(mem).unwrap();
    (h, base)
}

/// A heap whose region, after its carved metadata and the guard before it
/// (64 bytes: 4 blocks), is exactly 4096 blocks (one free block of order 12,
/// starting at the memory's 4096-aligned base).
fn pow2_heap() -> (Heap, usize) {
    let z = buddy::Zone::new(&buddy::Config {
        page_size: MIN_BLOCK,
        ..buddy::Config::new()
    })
    .unwrap();
    let len = (0..)
        .map(|i| (1 << 16) + i * MIN_BLOCK)
        .find(|&len| {
            len / MIN_BLOCK - z.meta_size(len).div_ceil(MIN_BLOCK) - 64 / MIN_BLOCK == 4096
        })
        .unwrap();
    let (h, base) = heap_over(len, 4096);
    assert_eq!(h.zone().stats().total_pages, 4096);
    (h, base)
}

fn fill(p: *mut u8, n: usize, v: u8) {
    // SAFETY: callers pass blocks the heap handed out, of at least n bytes.
    unsafe { p.write_bytes(v, n) }
}

fn all(p: *const u8, n: usize, v: u8) -> bool {
    // SAFETY: as in fill.
    unsafe { std::slice::from_raw_parts(p, n) }
        .iter()
        .all(|&b| b == v)
}

#[test]
fn test_heap_empty_fails() {
    let mut h = Heap::default();
    assert_eq!(h.alloc(lay(8, 8)), Err(Error::NoMem));
    assert_eq!(h.zone().stats().total_pages, 0);
    assert_eq!(h.free(std::ptr::null_mut()), Err(Error::Null));
}

#[test]
fn test_heap_sizes_round_up_to_powers_of_two() {
    let (mut h, base) = heap_over(1 << 16, 4096);
    let cases = [
        (0, 16),
        (1, 16),
        (16, 16),
        (17, 32),
        (100, 128),
        (4096, 4096),
        (5000, 8192),
    ];
    let mut got = Vec::new();
    for (size, usable) in cases {
        let p = h.alloc(lay(size, 1)).unwrap().as_ptr();
        assert!(p as usize >= base);
        assert_eq!(h.usable_size(p), Ok(usable), "size {size}");
        assert_eq!(p as usize % usable.min(4096), 0);
        fill(p, usable, 0x5a);
        got.push((p, usable));
    }
    // No two blocks overlap, and writing one never touched another.
    got.sort();
    for w in got.windows(2) {
        assert!(w[0].0 as usize + w[0].1 <= w[1].0 as usize);
    }
    for (p, n) in &got {
        assert!(all(*p, *n, 0x5a));
        h.free(*p).unwrap();
    }
    assert_eq!(h.zone().stats().used_pages, 0);
    assert_eq!(h.zone().check(&mut |m| panic!("{m}")), 0);
}

#[test]
fn test_heap_alignment() {
    let (mut h, _) = heap_over(1 << 17, 4096);
    for align in [1, 2, 8, 16, 32, 64, 256, 1024, 4096] {
        let p = h.alloc(lay(24, align)).unwrap().as_ptr();
        assert_eq!(p as usize % align, 0, "align {align}");
        assert_eq!(h.dealloc(p, lay(24, align)), Ok(()));
    }
    // Above the base alignment of the memory: refused, not misaligned.
    assert_eq!(h.alloc(lay(24, 8192)), Err(Error::NoMem));
    // Small memory is aligned to the smallest block only.
    let (mut small, _) = heap_over(4096, 16);
    assert!(small.alloc(lay(16, 16)).is_ok());
    assert_eq!(small.alloc(lay(16, 32)), Err(Error::NoMem));
}

#[test]
fn test_heap_alloc_zeroed_and_exhaustion() {
    let (mut h, _) = heap_over(1 << 16, 4096);
    let p = h.alloc(lay(1000, 8)).unwrap().as_ptr();
    fill(p, 1000, 0xff);
    h.free(p).unwrap();
    let q = h.alloc_zeroed(lay(1000, 8)).unwrap().as_ptr();
    assert!(all(q, 1024, 0));
    h.free(q).unwrap();
    let mut v = Vec::new();
    while let Ok(p) = h.alloc(lay(1024, 16)) {
        v.push(p);
    }
    assert!(v.len() >= 50);
    assert_eq!(h.alloc(lay(1024, 16)), Err(Error::NoMem));
    assert_eq!(h.alloc_zeroed(lay(1 << 20, 16)), Err(Error::NoMem));
    for p in v {
        h.dealloc(p.as_ptr(), lay(1024, 16)).unwrap();
    }
}

#[test]
fn test_heap_refused_frees_change_nothing() {
    let (mut h, base) = pow2_heap();
    let p = h.alloc(lay(64, 8)).unwrap().as_ptr();
    assert_eq!(p as usize, base);
    let q = h.alloc(lay(64, 8)).unwrap().as_ptr();
    h.free(q).unwrap();
    let before = h.zone().stats();
    let outside = [0u8; 32];
    assert_eq!(
        h.dealloc(outside.as_ptr() as *mut u8, lay(64, 8)),
        Err(Error::Outside)
    );
    assert_eq!(h.dealloc(q, lay(64, 8)), Err(Error::Double));
    assert_eq!(
        h.dealloc(p.wrapping_add(16), lay(16, 8)),
        Err(Error::NotBlock)
    );
    assert_eq!(h.dealloc(p, lay(128, 8)), Err(Error::Order));
    assert_eq!(
        h.dealloc(std::ptr::null_mut(), lay(64, 8)),
        Err(Error::Null)
    );
    assert_eq!(h.free(p.wrapping_add(1)), Err(Error::NotBlock));
    assert_eq!(h.usable_size(q), Err(Error::Double));
    assert_eq!(h.usable_size(base as *const u8).ok(), Some(64));
    assert_eq!(h.realloc(q, lay(64, 8), 200), Err(Error::Double));
    assert_eq!(h.realloc(p, lay(32, 8), 200), Err(Error::Order));
    assert_eq!(h.zone().stats(), before);
    h.dealloc(p, lay(64, 8)).unwrap();
}

#[test]
fn test_heap_realloc_in_place_and_moving() {
    let (mut h, base) = pow2_heap();
    let p = h.alloc(lay(100, 8)).unwrap().as_ptr();
    assert_eq!(p as usize, base);
    fill(p, 100, 0x11);
    // Grows in place over its free buddies.
    let q = h.realloc(p, lay(100, 8), 1000).unwrap().as_ptr();
    assert_eq!(q, p);
    assert_eq!(h.usable_size(q), Ok(1024));
    assert!(all(q, 100, 0x11));
    // Shrinks in place.
    let r = h.realloc(q, lay(1000, 8), 40).unwrap().as_ptr();
    assert_eq!(r, q);
    assert_eq!(h.usable_size(r), Ok(64));
    // Blocked above: moves, keeping the contents.
    let blocker = h.alloc(lay(64, 8)).unwrap().as_ptr();
    assert_eq!(blocker as usize, r as usize + 64);
    fill(r, 40, 0x22);
    let s = h.realloc(r, lay(40, 8), 300).unwrap().as_ptr();
    assert_ne!(s, r);
    assert!(all(s, 40, 0x22));
    assert_eq!(h.usable_size(r), Err(Error::Double)); // the old block was freed
                                                      // Impossible: the old block stays as it was.
    assert_eq!(h.realloc(s, lay(300, 8), 1 << 20), Err(Error::NoMem));
    assert!(all(s, 40, 0x22));
    assert_eq!(h.usable_size(s), Ok(512));
    h.free(s).unwrap();
    h.free(blocker).unwrap();
    assert_eq!(h.zone().check(&mut |m| panic!("{m}")), 0);
}

#[test]
fn test_heap_add_memory_rules() {
    let mut h = Heap::new();
    assert_eq!(
        h.add_memory_static(common::arena_aligned(1, 8, 16)),
        Err(Error::Small)
    );
    // 20 bytes from an odd address: nothing is left after aligning to 16.
    let odd = &mut common::arena_aligned(1, 40, 16)[1..21];
    assert_eq!(h.add_memory_static(odd), Err(Error::Small));
    h.add_memory_static(common::arena_aligned(1, 4096, 16))
        .unwrap();
    // Metadata carved from the end: less than 4096 bytes usable.
    let st = h.zone().stats();
    assert!(st.total_pages * MIN_BLOCK < 4096 && st.total_pages * MIN_BLOCK > 3000);
    // Raw memory, too.
    let more = common::arena_aligned(1, 1 << 16, 4096);
    // SAFETY: leaked memory, the heap's for good.
    unsafe { h.add_memory(more.as_mut_ptr(), more.len()) }.unwrap();
    assert_eq!(h.zone().stats().nr_regions, 2);
}

#[test]
fn test_locked_heap_and_arena() {
    static ARENA: Arena<[u8; 1 << 16]> = Arena::new();
    static HEAP: LockedHeap = LockedHeap::with_arena(&ARENA);
    let p = HEAP.lock().alloc(lay(32, 8)).unwrap().as_ptr();
    assert!((p as usize) >= &ARENA as *const _ as usize);
    assert!((p as usize) < &ARENA as *const _ as usize + (1 << 16) + 4096);
    // The arena was claimed once: nobody else gets it.
    let arena: &'static Arena = &ARENA;
    assert!(arena.claim().is_none());
    HEAP.lock().free(p).unwrap();
    // A locked heap given memory at run time.
    let h = LockedHeap::new();
    h.add_memory_static(common::arena_aligned(1, 8192, 4096))
        .unwrap();
    let more = common::arena_aligned(1, 8192, 4096);
    // SAFETY: leaked memory, the heap's for good.
    unsafe { h.add_memory(more.as_mut_ptr(), more.len()) }.unwrap();
    assert_eq!(h.lock().zone().stats().nr_regions, 2);
    let d = LockedHeap::default();
    assert_eq!(d.lock().alloc(lay(1, 1)), Err(Error::NoMem));
    let a: Arena<[u8; 64]> = Arena::default();
    assert_eq!(std::mem::align_of_val(&a), 4096);
}

#[test]
fn test_spin_lock() {
    let lock = Arc::new(SpinLock::new(0u64));
    let g = lock.lock();
    assert!(lock.try_lock().is_none());
    drop(g);
    assert!(lock.try_lock().is_some());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let l = Arc::clone(&lock);
            std::thread::spawn(move || {
                for _ in 0..20_000 {
                    *l.lock() += 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*lock.lock(), 80_000);
    let mut own = Arc::try_unwrap(lock).ok().unwrap();
    *own.get_mut() += 1;
    assert_eq!(own.into_inner(), 80_001);
}

// SPDX-License-Identifier: MIT
//! Damage the zone must catch: free-list links broken the ways a stray
//! write or a use after free breaks them (caught before a link is followed,
//! on the free lists and the cache lists, by allocation, merging free,
//! resize and drain), writes into poisoned freed pages, and metadata damage
//! that the check must report. Each case ends the same way: the call fails
//! with `Error::Corrupt`, hands out nothing, the callback runs once, and the
//! zone refuses every later change.
//!
//! These tests write into memory the zone owns, through raw pointers, as a
//! buggy program would: that is the point.
#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use buddy::{Config, Error, ErrorKind, ErrorReport, Flags, Zone, POISON_BYTE};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

const PS: usize = 64;
const NPAGES: usize = 256;

/// Damage reports, per fixture (the callback's argument indexes this).
static REPORTS: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

fn on_error(arg: usize, r: &ErrorReport<'_>) {
    assert_eq!((r.kind, r.error), (ErrorKind::Corrupt, Error::Corrupt));
    // "buddy: <op>(): <problem> at <addr>"
    let head = format!("buddy: {}(): ", r.op);
    let tail = format!(" at {:#x}", r.addr);
    assert!(
        r.msg.starts_with(&head) && r.msg.ends_with(&tail),
        "{}",
        r.msg
    );
    REPORTS
        .lock()
        .unwrap()
        .push((arg, format!("{} | {}", r.op, r.msg)));
}

struct Fixture {
    z: Zone,
    id: usize,
    arena: *mut u8,
    meta: *mut u8,
    a: *mut u8, // page 0, allocated
    c: *mut u8, // page 2: allocated, or cached with the cache on
}

impl Fixture {
    /// Page size 64, 256 pages. Without the cache: 0 a, 1 free o0, 2 c,
    /// 3 free o0, 4 free o2, 8 free o3, ... (order-0 list: 1 -> 3). With the
    /// cache: 1 and 2 cached (newest first: 2 -> 1).
    fn new(cache: bool, callback: bool, poison: bool) -> Fixture {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let cfg = Config {
            page_size: PS,
            pcp_high: if cache { 8 } else { 0 },
            pcp_max_order: if poison { 2 } else { 0 },
            poison,
            on_error: if callback { Some(on_error) } else { None },
            error_arg: id,
            ..Config::new()
        };
        let mut z = Zone::new(&cfg).unwrap();
        let arena = common::arena(PS, NPAGES).as_mut_ptr();
        let meta = common::meta_buf(8192).as_mut_ptr();
        // SAFETY: leaked buffers, the zone's for good (the tests write into
        // them only to play a buggy program).
        unsafe { z.add_region(arena, PS * NPAGES, Some((meta, 8192))) }.unwrap();
        let mut f = Fixture {
            z,
            id,
            arena,
            meta,
            a: arena,
            c: arena,
        };
        if !poison {
            f.a = f.z.alloc_pages(0, Flags::NONE).unwrap().as_ptr();
            let b = f.z.alloc_pages(0, Flags::NONE).unwrap().as_ptr();
            f.c = f.z.alloc_pages(0, Flags::NONE).unwrap().as_ptr();
            assert_eq!((f.a, b, f.c), (arena, f.page(1), f.page(2)));
            f.z.free(b).unwrap();
            if cache {
                f.z.free(f.c).unwrap();
            }
        }
        assert_eq!(common::check(&f.z), 0);
        f
    }

    fn page(&self, i: usize) -> *mut u8 {
        self.arena.wrapping_add(i * PS)
    }

    /// Write link word `w` (0 next, 1 prev) of page i.
    fn set_link(&self, i: usize, w: usize, v: usize) {
        // SAFETY: the arena is live (leaked) and page i is inside it; the
        // zone holds no reference into it.
        unsafe { self.page(i).cast::<usize>().add(w).write(v) }
    }

    fn reports(&self) -> Vec<String> {
        REPORTS
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.0 == self.id)
            .map(|r| r.1.clone())
            .collect()
    }

    /// Reported once, clearly, and every change is now refused.
    fn assert_stopped(&mut self, what: &str) {
        assert_eq!(self.z.last_error(), Some(Error::Corrupt));
        let r = self.reports();
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(r[0].contains(what), "{r:?}");
        let z = &mut self.z;
        assert_eq!(z.alloc_pages(3, Flags::NONE).err(), Some(Error::Corrupt));
        assert_eq!(
            z.alloc_pages_exact(3, Flags::NONE).err(),
            Some(Error::Corrupt)
        );
        assert_eq!(z.free(self.a), Err(Error::Corrupt));
        assert_eq!(z.free_pages(self.a, 0), Err(Error::Corrupt));
        assert_eq!(z.free_pages_exact(self.a, 1), Err(Error::Corrupt));
        assert_eq!(z.resize(self.a, 1), Err(Error::Corrupt));
        assert_eq!(z.alloc_size(self.a), Err(Error::Corrupt));
        assert_eq!(z.remove_region(self.arena), Err(Error::Corrupt));
        let other = common::arena(PS, 4);
        assert_eq!(z.add_region_static(other, None), Err(Error::Corrupt));
        z.drain_cache(); // does nothing
        assert_eq!(self.reports().len(), 1); // once, not per refused call
    }

    fn expect_alloc_caught(mut self) {
        assert_eq!(
            self.z.alloc_pages(0, Flags::NONE).err(),
            Some(Error::Corrupt)
        );
        self.assert_stopped("alloc_pages | buddy: alloc_pages(): corrupted free list: ");
    }
}

static OUTSIDE: [usize; 8] = [0; 8];

fn outside() -> usize {
    OUTSIDE.as_ptr() as usize
}

#[test]
fn test_damage_next_outside_regions() {
    let f = Fixture::new(false, true, false);
    f.set_link(1, 0, outside());
    f.expect_alloc_caught();
}

#[test]
fn test_damage_next_off_block_boundary() {
    let f = Fixture::new(false, true, false);
    f.set_link(1, 0, f.page(3) as usize + 8);
    f.expect_alloc_caught();
}

#[test]
fn test_damage_next_to_allocated_block() {
    let f = Fixture::new(false, true, false);
    f.set_link(1, 0, f.page(2) as usize);
    f.expect_alloc_caught();
}

#[test]
fn test_damage_next_to_other_order() {
    let f = Fixture::new(false, true, false);
    f.set_link(1, 0, f.page(4) as usize);
    f.expect_alloc_caught();
}

#[test]
fn test_damage_next_to_head_when_not_last() {
    // 0 stands for the list head; page 1 is not the last node.
    let f = Fixture::new(false, true, false);
    f.set_link(1, 0, 0);
    f.expect_alloc_caught();
}

#[test]
fn test_damage_prev_outside_regions() {
    let f = Fixture::new(false, true, false);
    f.set_link(1, 1, outside());
    f.expect_alloc_caught();
}

#[test]
fn test_damage_neighbour_not_pointing_back() {
    let f = Fixture::new(false, true, false);
    f.set_link(3, 1, f.page(3) as usize);
    f.expect_alloc_caught();
}

#[test]
fn test_damage_pattern_over_links() {
    let f = Fixture::new(false, true, false);
    f.set_link(1, 0, 0x4141_4141_4141_4141);
    f.set_link(1, 1, 0x4141_4141_4141_4141);
    f.expect_alloc_caught();
}

/// Links that form a cycle without the list's head: both links of a free
/// block overwritten with its own address (a program setting up a list head
/// in memory it freed), or two free blocks made to point at each other. Each
/// neighbour "points back", but unlinked the block would stay on the list.
/// Caught before the unlink.
#[test]
fn test_damage_links_forming_a_cycle() {
    for (i, j) in [(1, 1), (1, 3)] {
        let f = Fixture::new(false, true, false);
        for (from, to) in [(i, j), (j, i)] {
            f.set_link(from, 0, f.page(to) as usize);
            f.set_link(from, 1, f.page(to) as usize);
        }
        f.expect_alloc_caught();
    }
}

#[test]
fn test_damage_found_by_merging_free() {
    let mut f = Fixture::new(false, true, false);
    f.set_link(1, 0, outside());
    assert_eq!(f.z.free(f.a), Err(Error::Corrupt));
    f.assert_stopped("free_pages | buddy: free_pages(): corrupted free list: ");
}

#[test]
fn test_damage_found_by_resize() {
    let mut f = Fixture::new(false, true, false);
    f.set_link(1, 1, f.page(2) as usize);
    assert_eq!(f.z.resize(f.a, 1), Err(Error::Corrupt));
    f.assert_stopped("resize | buddy: resize(): corrupted free list: ");
}

#[test]
fn test_damage_found_by_remove_region() {
    // A wholly free region: its blocks' links are checked before unlinking.
    let mut f = Fixture::new(false, true, false);
    f.z.free(f.a).unwrap();
    f.z.free(f.c).unwrap();
    f.set_link(0, 0, outside()); // the one order-8 block
    assert_eq!(f.z.remove_region(f.arena), Err(Error::Corrupt));
    f.assert_stopped("remove_region | buddy: remove_region(): corrupted free list: ");
}

#[test]
fn test_damage_cached_next_outside() {
    let f = Fixture::new(true, true, false);
    f.set_link(2, 0, outside());
    f.expect_alloc_caught();
}

#[test]
fn test_damage_cached_prev_not_head() {
    let f = Fixture::new(true, true, false);
    f.set_link(2, 1, f.page(1) as usize);
    f.expect_alloc_caught();
}

#[test]
fn test_damage_cached_neighbour_not_pointing_back() {
    let f = Fixture::new(true, true, false);
    f.set_link(1, 1, f.page(1) as usize);
    f.expect_alloc_caught();
}

#[test]
fn test_damage_found_by_drain() {
    let mut f = Fixture::new(true, true, false);
    f.set_link(1, 0, f.page(5) as usize);
    f.z.drain_cache();
    f.assert_stopped("drain_cache | buddy: drain_cache(): corrupted free list: ");
}

#[test]
fn test_damage_found_by_exact_alloc() {
    let mut f = Fixture::new(false, true, false);
    f.set_link(4, 0, outside());
    assert_eq!(
        f.z.alloc_pages_exact(3, Flags::NONE).err(),
        Some(Error::Corrupt)
    );
    f.assert_stopped("alloc_pages | buddy: alloc_pages(): corrupted free list: ");
}

#[test]
fn test_damage_without_callback_still_stops() {
    let mut f = Fixture::new(false, false, false);
    f.set_link(1, 0, outside());
    assert_eq!(f.z.alloc_pages(0, Flags::NONE).err(), Some(Error::Corrupt));
    assert_eq!(f.z.alloc_pages(1, Flags::NONE).err(), Some(Error::Corrupt));
    assert!(f.reports().is_empty());
}

#[test]
fn test_damage_none_without_damage() {
    for cache in [false, true] {
        let mut f = Fixture::new(cache, true, false);
        f.z.alloc_pages(0, Flags::NONE).unwrap();
        f.z.resize(f.a, 0).unwrap();
        f.z.drain_cache();
        f.z.free(f.a).unwrap();
        assert!(f.reports().is_empty());
        assert_eq!(common::check(&f.z), 0);
    }
}

/* ------------------------------------------------------------------ */
/* the check finds damage                                              */
/* ------------------------------------------------------------------ */

fn findings(z: &Zone) -> Vec<String> {
    let mut v = Vec::new();
    z.check(&mut |m| v.push(m.to_string()));
    v
}

fn expect_finding(z: &Zone, what: &str) {
    let v = findings(z);
    assert!(v.iter().any(|m| m.contains(what)), "{what:?} not in {v:?}");
}

#[test]
fn test_check_finds_broken_links() {
    let f = Fixture::new(false, true, false);
    f.set_link(1, 0, outside());
    expect_finding(&f.z, "P4: free list order 0: node ");
    expect_finding(&f.z, " is not a block of this list");
    f.set_link(1, 0, f.page(3) as usize);
    assert_eq!(common::check(&f.z), 0); // repaired
    f.set_link(3, 1, f.page(3) as usize);
    expect_finding(&f.z, "P4: free list order 0: node ");
    expect_finding(&f.z, ": prev does not point back");
    f.set_link(3, 1, f.page(1) as usize);
    assert_eq!(common::check(&f.z), 0);
    f.set_link(1, 0, 0); // the list ends early
    expect_finding(
        &f.z,
        "P4: free list order 0: list head's prev is not the last node",
    );
}

#[test]
fn test_check_finds_metadata_damage() {
    let f = Fixture::new(false, true, false);
    let meta_bytes = f.z.meta_size(PS * NPAGES);
    let pg = f.meta.wrapping_add(meta_bytes - NPAGES); // the page bytes end the metadata
    let peek = |i: usize| {
        // SAFETY: inside the leaked metadata buffer.
        unsafe { pg.add(i).read() }
    };
    let poke = |i: usize, v: u8| {
        // SAFETY: as above.
        unsafe { pg.add(i).write(v) }
    };
    let old = peek(4);
    poke(4, 0); // a free block's first page marked as a tail
    expect_finding(&f.z, "P2: region 0 page 4: expected the start of a block");
    expect_finding(
        &f.z,
        "P4: order 2: 0 free blocks in the regions but nr_free is 1",
    );
    expect_finding(&f.z, "P8: region 0: ");
    poke(4, old);
    assert_eq!(common::check(&f.z), 0);
    poke(5, 0x41); // a page inside a block marked as a block start
    expect_finding(
        &f.z,
        "P2: region 0 page 4: block of order 2 overlaps page 5",
    );
    poke(5, 0);
    poke(2, 0x80 | 0x20); // allocation start claiming a continuation
    expect_finding(&f.z, "P7: region 0 page 3: broken exact-allocation chain");
    poke(2, 0x80);
    assert_eq!(common::check(&f.z), 0);
    // A pair bit flipped (order 0's map follows the 336-byte header).
    let map0 = f.meta.wrapping_add(336);
    // SAFETY: inside the metadata buffer.
    unsafe { map0.write(map0.read() ^ 0x4) };
    expect_finding(
        &f.z,
        "P3: region 0 order 0: pair bit for pages 4/5 is 1, expected 0",
    );
    // SAFETY: as above.
    unsafe { map0.write(map0.read() ^ 0x4) };
    assert_eq!(common::check(&f.z), 0);
    // Two free buddies that did not merge (P5; their pair bit disagrees too):
    // page 2 (allocated) marked free beside page 3, which is free.
    assert_eq!(f.c, f.page(2));
    poke(2, 0x40);
    expect_finding(
        &f.z,
        "P5: region 0 order 0: buddies at pages 2 and 3 are both free",
    );
    poke(2, 0x80);
    // The region header's max order (P9).
    let hdr_max_order = f.meta.wrapping_add(44);
    // SAFETY: inside the metadata buffer (the header's max order byte).
    let old = unsafe { hdr_max_order.read() };
    // SAFETY: as above.
    unsafe { hdr_max_order.write(old - 1) };
    expect_finding(&f.z, "P9: region 0: max_order 7, expected 8");
    expect_finding(&f.z, "P9: zone: max_order 8, expected 7");
    // SAFETY: as above.
    unsafe { hdr_max_order.write(old) };
    assert_eq!(common::check(&f.z), 0);
}

/* ------------------------------------------------------------------ */
/* poisoning                                                           */
/* ------------------------------------------------------------------ */

fn peek(p: *mut u8) -> u8 {
    // SAFETY: callers pass addresses inside a leaked arena.
    unsafe { p.read_volatile() }
}

fn poke(p: *mut u8, v: u8) {
    // SAFETY: as in peek.
    unsafe { p.write_volatile(v) }
}

#[test]
fn test_poison_fills_freed_pages() {
    let mut f = Fixture::new(false, true, true);
    let p = f.z.alloc_pages(1, Flags::NONE).unwrap().as_ptr();
    for i in 0..2 * PS {
        poke(p.wrapping_add(i), 0x11);
    }
    f.z.free(p).unwrap();
    assert!((16..2 * PS).all(|i| peek(p.wrapping_add(i)) == POISON_BYTE));
    // A shrink poisons the pages it gives back.
    let q = f.z.alloc_pages(2, Flags::NONE).unwrap().as_ptr();
    for i in 0..4 * PS {
        poke(q.wrapping_add(i), 0x22);
    }
    f.z.resize(q, 0).unwrap();
    assert_eq!(peek(q.wrapping_add(PS - 1)), 0x22);
    // Pages 1 (order 0) and 2-3 (order 1) are free blocks now: links, then poison.
    assert!((PS + 16..2 * PS).all(|i| peek(q.wrapping_add(i)) == POISON_BYTE));
    assert!((2 * PS + 16..4 * PS).all(|i| peek(q.wrapping_add(i)) == POISON_BYTE));
    assert!(f.reports().is_empty());
}

fn assert_poison_caught(mut f: Fixture) {
    f.a = f.arena;
    assert_eq!(f.z.last_error(), Some(Error::Corrupt));
    let r = f.reports();
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0].contains("written after free"), "{r:?}");
    assert_eq!(f.z.alloc_pages(0, Flags::NONE).err(), Some(Error::Corrupt));
    assert_eq!(f.z.free(f.a), Err(Error::Corrupt));
}

#[test]
fn test_poison_catches_write_after_free() {
    let mut f = Fixture::new(false, true, true);
    let p = f.z.alloc_pages(1, Flags::NONE).unwrap().as_ptr();
    f.z.free(p).unwrap();
    poke(p.wrapping_add(PS + 5), 0);
    assert_eq!(f.z.alloc_pages(1, Flags::NONE).err(), Some(Error::Corrupt));
    assert_poison_caught(f);
}

#[test]
fn test_poison_catches_write_in_cached_block() {
    let mut f = Fixture::new(true, true, true);
    let p = f.z.alloc_pages(0, Flags::NONE).unwrap().as_ptr();
    f.z.free(p).unwrap();
    poke(p.wrapping_add(PS - 1), 0x42);
    assert_eq!(f.z.alloc_pages(0, Flags::NONE).err(), Some(Error::Corrupt));
    assert_poison_caught(f);
}

#[test]
fn test_poison_catches_write_before_exact_alloc() {
    let mut f = Fixture::new(false, true, true);
    let p = f.z.alloc_pages_exact(3, Flags::NONE).unwrap().as_ptr();
    f.z.free(p).unwrap();
    poke(p.wrapping_add(2 * PS + 20), 7);
    assert_eq!(
        f.z.alloc_pages_exact(3, Flags::NONE).err(),
        Some(Error::Corrupt)
    );
    assert_poison_caught(f);
}

#[test]
fn test_poison_catches_write_before_resize() {
    let mut f = Fixture::new(false, true, true);
    let p = f.z.alloc_pages(2, Flags::NONE).unwrap().as_ptr();
    f.z.resize(p, 0).unwrap();
    poke(p.wrapping_add(3 * PS), 1);
    assert_eq!(f.z.resize(p, 2), Err(Error::Corrupt));
    assert_poison_caught(f);
}

#[test]
fn test_poison_off_checks_nothing() {
    let mut f = Fixture::new(false, true, false);
    let p = f.z.alloc_pages(1, Flags::NONE).unwrap().as_ptr();
    f.z.free(p).unwrap();
    poke(p.wrapping_add(PS + 5), 0);
    assert_eq!(f.z.alloc_pages(1, Flags::NONE).unwrap().as_ptr(), p);
    assert!(f.reports().is_empty());
    assert!(!Config::new().poison);
}

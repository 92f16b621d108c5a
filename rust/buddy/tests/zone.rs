// SPDX-License-Identifier: MIT
//! Unit tests of the page allocator, one group per function: exact block
//! layouts after known sequences, every error variant (and that a refused
//! call changes nothing), statistics, buddyinfo, the indices, the walk.
#![deny(clippy::undocumented_unsafe_blocks)]

mod common;

use buddy::{
    status_text, AllocInfo, BlockState, Config, Error, ErrorKind, Flags, SpinLock, Zone, ALL_ERRORS,
};
use common::*;
use std::ptr;

const PS: usize = 4096;

fn zone16() -> (Zone, *mut u8) {
    let mut z = zone(PS, None);
    let base = add(&mut z, 16);
    (z, base)
}

fn at(base: *mut u8, page: usize) -> *mut u8 {
    base.wrapping_add(page * PS)
}

/* ------------------------------------------------------------------ */
/* errors, flags, configuration                                        */
/* ------------------------------------------------------------------ */

#[test]
fn test_error_codes_texts_and_display() {
    for (i, e) in ALL_ERRORS.iter().enumerate() {
        assert_eq!(e.code(), i as i32 + 1);
        assert_eq!(Error::from_code(e.code()), Some(*e));
        assert_eq!(e.to_string(), e.text());
        assert_eq!(status_text(e.code()), e.text());
    }
    assert_eq!(Error::from_code(0), None);
    assert_eq!(Error::from_code(16), None);
    assert_eq!(status_text(0), "success");
    assert_eq!(status_text(-1), "unknown status");
    assert_eq!(status_text(16), "unknown status");
    assert_eq!(
        Error::Double.to_string(),
        "double free: the block is already free"
    );
    let boxed: Box<dyn std::error::Error> = Box::new(Error::NoMem);
    assert!(boxed.to_string().starts_with("out of memory"));
}

#[test]
fn test_flags_bits() {
    assert_eq!(Flags::ZERO.bits(), 1);
    assert_eq!(Flags::from_bits(0xff), Flags::ZERO);
    assert!((Flags::NONE | Flags::ZERO).contains(Flags::ZERO));
    assert!(!Flags::NONE.contains(Flags::ZERO));
    assert_eq!(Flags::default(), Flags::NONE);
}

#[test]
fn test_zone_new_defaults() {
    let z = Zone::new(&Config::default()).unwrap();
    assert_eq!(z.page_size(), 4096);
    assert_eq!(z.name(), "Normal");
    assert_eq!(z.last_error(), None);
    let st = z.stats();
    assert_eq!((st.total_pages, st.nr_regions, st.max_order), (0, 0, 0));
    assert_eq!(info(&z), "Node 0, zone   Normal      0 \n");
    assert_eq!(layout(&z), "");
    assert_eq!(check(&z), 0);
}

#[test]
fn test_zone_new_config_errors() {
    let bad = [
        Config {
            page_size: 0,
            ..Config::new()
        },
        Config {
            page_size: 8,
            ..Config::new()
        },
        Config {
            page_size: 24,
            ..Config::new()
        },
        Config {
            page_size: 4097,
            ..Config::new()
        },
        Config {
            max_order: Some(32),
            ..Config::new()
        },
        Config {
            name: "sixteen-chars-xx",
            ..Config::new()
        },
        Config {
            pcp_high: 1,
            pcp_max_order: 11,
            ..Config::new()
        },
    ];
    for c in &bad {
        assert_eq!(Zone::new(c).err(), Some(Error::Config), "{c:?}");
    }
    // Limits themselves are fine; the cache's order only matters with the cache on.
    for c in [
        Config {
            page_size: 16,
            max_order: Some(31),
            ..Config::new()
        },
        Config {
            name: "fifteen-chars-x",
            ..Config::new()
        },
        Config {
            pcp_high: 1,
            pcp_max_order: 10,
            ..Config::new()
        },
        Config {
            pcp_high: 0,
            pcp_max_order: 99,
            ..Config::new()
        },
    ] {
        assert!(Zone::new(&c).is_ok(), "{c:?}");
    }
}

/// A zone can be made in a constant and live in a static.
static STATIC_ZONE: SpinLock<Zone> = SpinLock::new(match Zone::new(&Config::new()) {
    Ok(z) => z,
    Err(_) => panic!("default config"),
});

#[test]
fn test_zone_new_in_a_static_and_moved() {
    let mut g = STATIC_ZONE.lock();
    let base = add(&mut g, 4);
    let p = g.alloc_pages(1, Flags::NONE).unwrap();
    assert_eq!(p.as_ptr(), base);
    drop(g);
    // Zones move freely: no block stores the zone's address.
    let (z, _) = zone16();
    let mut boxed = Box::new(z);
    let q = boxed.alloc_pages(0, Flags::NONE).unwrap();
    let mut v = [*boxed];
    v[0].free_pages(q.as_ptr(), 0).unwrap();
    assert_eq!(layout(&v[0]), "[r0] 0:4F");
    assert_eq!(check(&v[0]), 0);
}

#[test]
fn test_zone_name_in_buddyinfo() {
    let mut z = Zone::new(&Config {
        name: "DMA32",
        ..Config::new()
    })
    .unwrap();
    add(&mut z, 2);
    assert_eq!(info(&z), "Node 0, zone    DMA32      0      1 \n");
    let mut z = Zone::new(&Config {
        name: "LongerName",
        ..Config::new()
    })
    .unwrap();
    add(&mut z, 1);
    assert_eq!(info(&z), "Node 0, zone LongerName      1 \n");
    assert_eq!(z.name(), "LongerName");
}

/* ------------------------------------------------------------------ */
/* regions                                                             */
/* ------------------------------------------------------------------ */

fn expect_carving(pages: usize, lay: &str, inf: &str) {
    let mut z = zone(PS, None);
    add(&mut z, pages);
    assert_eq!(layout(&z), lay, "{pages} pages");
    assert_eq!(info(&z), inf, "{pages} pages");
    assert_eq!(check(&z), 0);
}

#[test]
fn test_region_carving() {
    expect_carving(1, "[r0] 0:0F", "Node 0, zone   Normal      1 \n");
    expect_carving(
        5,
        "[r0] 0:2F 4:0F",
        "Node 0, zone   Normal      1      0      1 \n",
    );
    expect_carving(
        7,
        "[r0] 0:2F 4:1F 6:0F",
        "Node 0, zone   Normal      1      1      1 \n",
    );
    expect_carving(
        13,
        "[r0] 0:3F 8:2F 12:0F",
        "Node 0, zone   Normal      1      0      1      1 \n",
    );
    expect_carving(
        100,
        "[r0] 0:6F 64:5F 96:2F",
        "Node 0, zone   Normal      0      0      1      0      0      1      1 \n",
    );
    expect_carving(
        1000,
        "[r0] 0:9F 512:8F 768:7F 896:6F 960:5F 992:3F",
        "Node 0, zone   Normal      0      0      0      1      0      1      1      1      1      1 \n",
    );
}

#[test]
fn test_region_max_order_cap() {
    let mut z = zone(PS, Some(2));
    add(&mut z, 11);
    assert_eq!(layout(&z), "[r0] 0:2F 4:2F 8:1F 10:0F");
    assert_eq!(info(&z), "Node 0, zone   Normal      1      1      2 \n");
    assert_eq!(z.alloc_pages(3, Flags::NONE).err(), Some(Error::MaxOrder));
    assert_eq!(
        z.alloc_pages_exact(5, Flags::NONE).err(),
        Some(Error::Count)
    );
    let mut z = zone(PS, Some(0));
    add(&mut z, 3);
    assert_eq!(layout(&z), "[r0] 0:0F 1:0F 2:0F");
}

#[test]
fn test_region_meta_size() {
    let z = zone(PS, None);
    assert_eq!(z.meta_size(0), 0);
    assert_eq!(z.meta_size(PS - 1), 0);
    // 1 page: the header and one page byte (no bitmap at order 0 = max).
    assert_eq!(z.meta_size(PS), 336 + 1);
    // 16 pages, max order 4: bitmaps of orders 0..3 take a word each.
    assert_eq!(z.meta_size(16 * PS), 336 + 4 * 8 + 16);
    // 1000 pages: order 0 has 500 pairs, 8 words; ...
    let maps: usize = (0..9)
        .map(|k| (1000usize + (2 << k) - 1) >> (k + 1))
        .map(|b| b.div_ceil(64) * 8)
        .sum();
    assert_eq!(z.meta_size(1000 * PS), 336 + maps + 1000);
    let capped = zone(PS, Some(1));
    assert_eq!(capped.meta_size(16 * PS), 336 + 8 + 16);
}

#[test]
fn test_region_carved_metadata() {
    let mut z = zone(PS, None);
    let mem = arena(PS, 18);
    let base = mem.as_mut_ptr();
    z.add_region_static(mem, None).unwrap();
    // 18 pages: one for the metadata, behind one guard page.
    assert_eq!(layout(&z), "[r0] 0:4F");
    let ri = z.region_info(0).unwrap();
    assert_eq!(ri.base, base as usize);
    assert_eq!(
        (
            ri.nr_pages,
            ri.free_pages,
            ri.cached_pages,
            ri.id,
            ri.max_order
        ),
        (16, 16, 0, 0, 4)
    );
    // The metadata's range starts with the guard.
    assert_eq!((ri.meta, ri.meta_bytes), (base as usize + 16 * PS, 2 * PS));
    assert_eq!(z.stats().meta_bytes, 2 * PS);
    // Removing gives the whole slice back.
    let back = z.remove_region_static(base).unwrap();
    assert_eq!(back.mem.len(), 18 * PS);
    assert_eq!(back.mem.as_ptr(), base as *const u8);
    assert!(back.meta.is_none());
    assert_eq!(z.stats().total_pages, 0);
    assert_eq!(check(&z), 0);
}

#[test]
fn test_region_add_errors() {
    let mut z = zone(PS, None);
    let first = add(&mut z, 8);
    let s = snap(&z);
    let mem = arena(PS, 9);
    let p = mem.as_mut_ptr();
    let meta = meta_buf(4096);
    let m = meta.as_mut_ptr();
    let need = z.meta_size(8 * PS);
    // SAFETY: every call in the block is refused before the zone touches any
    // of this memory, which stays valid for the whole test.
    unsafe {
        assert_eq!(
            z.add_region(ptr::null_mut(), 8 * PS, None),
            Err(Error::Null)
        );
        assert_eq!(z.add_region(p.add(8), 8 * PS, None), Err(Error::Align));
        assert_eq!(z.add_region(p, 8 * PS + 8, None), Err(Error::Align));
        assert_eq!(z.add_region(p, 0, None), Err(Error::Small));
        // One page cannot also hold its carved metadata.
        assert_eq!(z.add_region(p, PS, None), Err(Error::Small));
        // A range that wraps around the address space.
        let top = ptr::without_provenance_mut::<u8>(usize::MAX - PS + 1);
        assert_eq!(z.add_region(top, 2 * PS, None), Err(Error::Small));
        assert_eq!(
            z.add_region(p, 8 * PS, Some((m, need - 1))),
            Err(Error::Meta)
        );
        assert_eq!(
            z.add_region(p, 8 * PS, Some((m.add(4), need))),
            Err(Error::Meta)
        );
        assert_eq!(
            z.add_region(p, 8 * PS, Some((ptr::null_mut(), need))),
            Err(Error::Meta)
        );
        assert_eq!(
            z.add_region(p, 8 * PS, Some((p.add(PS), need))),
            Err(Error::Meta)
        );
        // The first region's memory, whole or in part, or its metadata.
        assert_eq!(z.add_region(first, 8 * PS, None), Err(Error::Overlap));
        assert_eq!(
            z.add_region(first.add(4 * PS), 8 * PS, None),
            Err(Error::Overlap)
        );
        let ri = z.region_info(0).unwrap();
        let first_meta = ptr::with_exposed_provenance_mut::<u8>(ri.meta);
        assert_eq!(
            z.add_region(p, 8 * PS, Some((first_meta, need))),
            Err(Error::Overlap)
        );
    }
    assert_eq!(z.last_error(), Some(Error::Overlap));
    expect_unchanged(&z, &s);
}

#[test]
fn test_region_add_meta_zeroed() {
    let mut z = zone(PS, None);
    let mem = arena(PS, 16);
    let meta = meta_buf(z.meta_size(16 * PS)); // fresh: all zero
    let (p, m, n) = (mem.as_mut_ptr(), meta.as_mut_ptr(), meta.len());
    // SAFETY: both leaked buffers are the zone's for good; meta is all zero.
    unsafe { z.add_region_ex(p, 16 * PS, Some((m, n)), true) }.unwrap();
    assert_eq!(layout(&z), "[r0] 0:4F");
    assert_eq!(check(&z), 0);
}

#[test]
fn test_region_several_never_merge_across() {
    let mut z = zone(PS, None);
    // Two regions back to back in one buffer: buddies and bits are per region.
    let mem = arena(PS, 8);
    let (a, b) = mem.split_at_mut(4 * PS);
    let base_a = a.as_mut_ptr();
    z.add_region_static(b, Some(meta_buf(400))).unwrap();
    z.add_region_static(a, Some(meta_buf(400))).unwrap();
    // Address order, ids in order of addition.
    assert_eq!(layout(&z), "[r1] 0:2F [r0] 0:2F");
    assert_eq!(info(&z), "Node 0, zone   Normal      0      0      2 \n");
    let x = z.alloc_pages(2, Flags::NONE).unwrap();
    let y = z.alloc_pages(2, Flags::NONE).unwrap();
    assert_eq!(z.alloc_pages(0, Flags::NONE).err(), Some(Error::NoMem));
    z.free(x.as_ptr()).unwrap();
    z.free(y.as_ptr()).unwrap();
    assert_eq!(info(&z), "Node 0, zone   Normal      0      0      2 \n");
    assert_eq!(z.region_info(0).unwrap().base, base_a as usize);
    assert_eq!(z.region_info(0).unwrap().id, 1);
    assert_eq!(z.region_info(2).err(), Some(Error::Count));
    assert_eq!(check(&z), 0);
}

#[test]
fn test_region_many_beyond_the_index() {
    // More regions than the bisection index holds: the list search takes over.
    let mut z = zone(64, None);
    let mut bases = Vec::new();
    for _ in 0..70 {
        bases.push(add(&mut z, 2));
    }
    assert_eq!(z.stats().nr_regions, 70);
    let mut got = Vec::new();
    while let Ok(p) = z.alloc_pages(0, Flags::NONE) {
        got.push(p);
    }
    assert_eq!(got.len(), 140);
    for (i, p) in got.iter().enumerate() {
        if i % 2 == 0 {
            z.free(p.as_ptr()).unwrap();
        }
    }
    for (i, p) in got.iter().enumerate() {
        if i % 2 == 1 {
            assert_eq!(z.alloc_size(p.as_ptr()), Ok(1));
            z.free_pages(p.as_ptr(), 0).unwrap();
        }
    }
    assert_eq!(z.stats().nr_free[1], 70);
    for b in bases.iter().rev() {
        z.remove_region(*b).unwrap();
    }
    assert_eq!(z.stats().total_pages, 0);
    assert_eq!(check(&z), 0);
}

#[test]
fn test_region_remove() {
    let (mut z, base) = zone16();
    let p = z.alloc_pages(0, Flags::NONE).unwrap();
    let s = snap(&z);
    assert_eq!(z.remove_region(base), Err(Error::Busy));
    assert_eq!(z.remove_region(at(base, 1)), Err(Error::Outside));
    assert_eq!(z.remove_region(ptr::null_mut()), Err(Error::Null));
    assert_eq!(
        z.remove_region_static(at(base, 1)).err(),
        Some(Error::Outside)
    );
    expect_unchanged(&z, &s);
    z.free(p.as_ptr()).unwrap();
    z.remove_region(base).unwrap();
    assert_eq!(layout(&z), "");
    assert_eq!(info(&z), "Node 0, zone   Normal      0 \n");
    assert_eq!(z.alloc_pages(0, Flags::NONE).err(), Some(Error::NoMem));
    // A new region gets the next id.
    add(&mut z, 2);
    assert_eq!(layout(&z), "[r1] 0:1F");
    assert_eq!(check(&z), 0);
}

#[test]
fn test_region_remove_static_gives_memory_back() {
    let mut z = zone(PS, None);
    let mem = arena(PS, 4);
    let meta = meta_buf(z.meta_size(4 * PS));
    let (p, m) = (mem.as_mut_ptr(), meta.as_mut_ptr());
    z.add_region_static(mem, Some(meta)).unwrap();
    let back = z.remove_region_static(p).unwrap();
    assert_eq!(
        (back.mem.as_ptr(), back.mem.len()),
        (p as *const u8, 4 * PS)
    );
    let meta = back.meta.unwrap();
    assert_eq!(meta.as_ptr(), m as *const u8);
    // The memory can go round again.
    back.mem.fill(0x77);
    z.add_region_static(back.mem, Some(meta)).unwrap();
    assert_eq!(layout(&z), "[r1] 0:2F");
    // A region added through the raw call cannot come back as a slice.
    let raw = arena(PS, 4);
    let rp = raw.as_mut_ptr();
    // SAFETY: leaked memory, the zone's for good.
    unsafe { z.add_region(rp, 4 * PS, None) }.unwrap();
    assert_eq!(z.remove_region_static(rp).err(), Some(Error::Outside));
    z.remove_region(rp).unwrap();
    assert_eq!(check(&z), 0);
}

/* ------------------------------------------------------------------ */
/* allocation                                                          */
/* ------------------------------------------------------------------ */

#[test]
fn test_alloc_pages_splits_lowest_first() {
    let (mut z, base) = zone16();
    let a = z.alloc_pages(0, Flags::NONE).unwrap();
    assert_eq!(a.as_ptr(), base);
    assert_eq!(layout(&z), "[r0] 0:0A 1:0F 2:1F 4:2F 8:3F");
    assert_eq!(
        info(&z),
        "Node 0, zone   Normal      1      1      1      1      0 \n"
    );
    let b = z.alloc_pages(1, Flags::NONE).unwrap();
    assert_eq!(b.as_ptr(), at(base, 2));
    let c = z.alloc_pages(0, Flags::NONE).unwrap();
    assert_eq!(c.as_ptr(), at(base, 1));
    let d = z.alloc_pages(3, Flags::NONE).unwrap();
    assert_eq!(d.as_ptr(), at(base, 8));
    assert_eq!(layout(&z), "[r0] 0:0A 1:0A 2:1A 4:2F 8:3A");
    assert_eq!(check(&z), 0);
}

#[test]
fn test_alloc_pages_errors() {
    let (mut z, _) = zone16();
    let (lay, inf) = (layout(&z), info(&z));
    assert_eq!(z.alloc_pages(5, Flags::NONE).err(), Some(Error::NoMem));
    assert_eq!(z.last_error(), Some(Error::NoMem));
    assert_eq!(z.stats().failures, 1);
    assert_eq!(z.alloc_pages(32, Flags::NONE).err(), Some(Error::MaxOrder));
    assert_eq!(z.last_error(), Some(Error::MaxOrder));
    assert_eq!(z.stats().failures, 1); // MaxOrder is not a failure for lack of memory
    assert_eq!((layout(&z), info(&z)), (lay, inf));
    let whole = z.alloc_pages(4, Flags::NONE).unwrap();
    assert_eq!(z.alloc_pages(0, Flags::NONE).err(), Some(Error::NoMem));
    z.free(whole.as_ptr()).unwrap();
    assert_eq!(check(&z), 0);
    // A capped zone refuses orders above its cap even with room.
    let mut capped = zone(PS, Some(1));
    add(&mut capped, 16);
    assert_eq!(
        capped.alloc_pages(2, Flags::NONE).err(),
        Some(Error::MaxOrder)
    );
}

#[test]
fn test_alloc_pages_zero_flag() {
    let mut z = zone(PS, None);
    let mem = arena(PS, 4);
    mem.fill(0xee);
    let base = mem.as_mut_ptr();
    z.add_region_static(mem, Some(meta_buf(z.meta_size(4 * PS))))
        .unwrap();
    let p = z.alloc_pages(1, Flags::ZERO).unwrap();
    assert_eq!(p.as_ptr(), base);
    // SAFETY: the block is ours: 2 pages at p.
    let bytes = unsafe { std::slice::from_raw_parts(p.as_ptr(), 2 * PS) };
    assert!(bytes.iter().all(|&b| b == 0));
    let q = z.alloc_pages_exact(2, Flags::ZERO).unwrap();
    // SAFETY: as above.
    let bytes = unsafe { std::slice::from_raw_parts(q.as_ptr(), 2 * PS) };
    assert!(bytes.iter().all(|&b| b == 0));
    // Without the flag the old bytes stay (beyond the links of free blocks).
    z.free(p.as_ptr()).unwrap();
    let r = z.alloc_pages(0, Flags::NONE).unwrap();
    // SAFETY: as above.
    let bytes = unsafe { std::slice::from_raw_parts(r.as_ptr(), PS) };
    assert!(bytes[64..].iter().all(|&b| b == 0));
}

#[test]
fn test_alloc_pages_exact_layouts() {
    let (mut z, base) = zone16();
    let a = z.alloc_pages_exact(3, Flags::NONE).unwrap();
    assert_eq!(a.as_ptr(), base);
    assert_eq!(layout(&z), "[r0] 0:1A 2:0c 3:0F 4:2F 8:3F");
    let b = z.alloc_pages_exact(5, Flags::NONE).unwrap();
    assert_eq!(b.as_ptr(), at(base, 8));
    assert_eq!(
        layout(&z),
        "[r0] 0:1A 2:0c 3:0F 4:2F 8:2A 12:0c 13:0F 14:1F"
    );
    // Powers of two are plain blocks.
    let c = z.alloc_pages_exact(4, Flags::NONE).unwrap();
    assert_eq!(c.as_ptr(), at(base, 4));
    assert_eq!(z.alloc_size(a.as_ptr()), Ok(3));
    assert_eq!(z.alloc_size(b.as_ptr()), Ok(5));
    assert_eq!(z.alloc_size(c.as_ptr()), Ok(4));
    z.free_pages_exact(b.as_ptr(), 5).unwrap();
    z.free(a.as_ptr()).unwrap();
    z.free_pages(c.as_ptr(), 2).unwrap();
    assert_eq!(layout(&z), "[r0] 0:4F");
    assert_eq!(check(&z), 0);
}

#[test]
fn test_alloc_pages_exact_errors() {
    let (mut z, _) = zone16();
    let s = snap(&z);
    assert_eq!(
        z.alloc_pages_exact(0, Flags::NONE).err(),
        Some(Error::Count)
    );
    assert_eq!(
        z.alloc_pages_exact((1 << 31) + 1, Flags::NONE).err(),
        Some(Error::Count)
    );
    assert_eq!(z.last_error(), Some(Error::Count));
    expect_unchanged(&z, &s);
    assert_eq!(
        z.alloc_pages_exact(17, Flags::NONE).err(),
        Some(Error::NoMem)
    );
    assert_eq!(z.stats().failures, 1);
}

/* ------------------------------------------------------------------ */
/* free                                                                */
/* ------------------------------------------------------------------ */

#[test]
fn test_free_merges_back() {
    let (mut z, _) = zone16();
    let ps: Vec<_> = (0..16)
        .map(|_| z.alloc_pages(0, Flags::NONE).unwrap())
        .collect();
    assert_eq!(
        info(&z),
        "Node 0, zone   Normal      0      0      0      0      0 \n"
    );
    for p in ps.iter().step_by(2) {
        z.free_pages(p.as_ptr(), 0).unwrap();
    }
    assert_eq!(
        info(&z),
        "Node 0, zone   Normal      8      0      0      0      0 \n"
    );
    for p in ps.iter().skip(1).step_by(2) {
        z.free(p.as_ptr()).unwrap();
    }
    assert_eq!(layout(&z), "[r0] 0:4F");
    let st = z.stats();
    assert_eq!(
        (st.allocs, st.frees, st.peak_used_pages, st.used_pages),
        (16, 16, 16, 0)
    );
    assert_eq!(check(&z), 0);
}

#[test]
fn test_free_errors_change_nothing() {
    let (mut z, base) = zone16();
    let a = z.alloc_pages(2, Flags::NONE).unwrap(); // pages 0-3
    let e = z.alloc_pages_exact(3, Flags::NONE).unwrap(); // pages 4-6
    let f = z.alloc_pages(0, Flags::NONE).unwrap(); // page 7
    z.free(f.as_ptr()).unwrap();
    let s = snap(&z);
    let outside = [0u8; 64];
    let out = outside.as_ptr() as *mut u8;
    let cases: Vec<(Result<(), Error>, Error)> = vec![
        (z.free(ptr::null_mut()), Error::Null),
        (z.free(out), Error::Outside),
        (z.free(at(base, 16)), Error::Outside), // one past the region
        (z.free(at(base, 1)), Error::NotBlock), // inside the order-2 block
        (z.free(a.as_ptr().wrapping_add(8)), Error::NotBlock), // misaligned, allocated
        (z.free(at(base, 7)), Error::Double),   // the freed page
        (z.free(at(base, 7).wrapping_add(1)), Error::Double), // misaligned, free
        (z.free(at(base, 9)), Error::Double),   // inside a free block
        (z.free(at(base, 5)), Error::NotBlock), // a later block of the exact allocation
        (z.free_pages(a.as_ptr(), 1), Error::Order),
        (z.free_pages(e.as_ptr(), 2), Error::Order), // exact allocations are not one order
        (z.free_pages(out, 0), Error::Outside),
        (z.free_pages(ptr::null_mut(), 0), Error::Null),
        (z.free_pages(at(base, 7), 0), Error::Double),
        (z.free_pages_exact(e.as_ptr(), 4), Error::Order),
        (z.free_pages_exact(a.as_ptr(), 3), Error::Order),
        (z.free_pages_exact(at(base, 1), 1), Error::NotBlock),
    ];
    for (i, (got, want)) in cases.into_iter().enumerate() {
        assert_eq!(got, Err(want), "case {i}");
    }
    assert_eq!(z.last_error(), Some(Error::NotBlock));
    expect_unchanged(&z, &s);
    z.free_pages(a.as_ptr(), 2).unwrap();
    z.free_pages_exact(e.as_ptr(), 3).unwrap();
    assert_eq!(layout(&z), "[r0] 0:4F");
}

#[test]
fn test_alloc_size() {
    let (mut z, base) = zone16();
    let a = z.alloc_pages(2, Flags::NONE).unwrap();
    let e = z.alloc_pages_exact(3, Flags::NONE).unwrap();
    assert_eq!(z.alloc_size(a.as_ptr()), Ok(4));
    assert_eq!(z.alloc_size(e.as_ptr()), Ok(3));
    assert_eq!(z.alloc_size(at(base, 1)), Err(Error::NotBlock));
    assert_eq!(z.alloc_size(at(base, 8)), Err(Error::Double));
    assert_eq!(z.alloc_size(ptr::null()), Err(Error::Null));
    assert_eq!(z.alloc_size(at(base, 99)), Err(Error::Outside));
    assert_eq!(z.last_error(), Some(Error::Outside));
}

/* ------------------------------------------------------------------ */
/* resize                                                              */
/* ------------------------------------------------------------------ */

#[test]
fn test_resize_shrink_and_grow() {
    let (mut z, base) = zone16();
    let a = z.alloc_pages(3, Flags::NONE).unwrap();
    z.resize(a.as_ptr(), 1).unwrap();
    assert_eq!(layout(&z), "[r0] 0:1A 2:1F 4:2F 8:3F");
    assert_eq!(z.alloc_size(a.as_ptr()), Ok(2));
    z.resize(a.as_ptr(), 4).unwrap();
    assert_eq!(layout(&z), "[r0] 0:4A");
    z.resize(a.as_ptr(), 4).unwrap(); // same order: nothing to do
    z.resize(a.as_ptr(), 0).unwrap();
    assert_eq!(layout(&z), "[r0] 0:0A 1:0F 2:1F 4:2F 8:3F");
    let b = z.alloc_pages(0, Flags::NONE).unwrap();
    assert_eq!(b.as_ptr(), at(base, 1));
    let st = z.stats();
    assert_eq!(st.peak_used_pages, 16);
    assert_eq!(check(&z), 0);
}

#[test]
fn test_resize_errors() {
    let (mut z, base) = zone16();
    let a = z.alloc_pages(0, Flags::NONE).unwrap(); // page 0
    let b = z.alloc_pages(0, Flags::NONE).unwrap(); // page 1
    let e = z.alloc_pages_exact(3, Flags::NONE).unwrap(); // pages 4-6
    let s = snap(&z);
    assert_eq!(z.resize(a.as_ptr(), 1), Err(Error::NoMem)); // page 1 is in use
    assert_eq!(z.resize(b.as_ptr(), 1), Err(Error::NoMem)); // not aligned for order 1
    assert_eq!(z.resize(a.as_ptr(), 5), Err(Error::NoMem)); // beyond the region
    assert_eq!(z.resize(a.as_ptr(), 32), Err(Error::MaxOrder));
    assert_eq!(z.resize(e.as_ptr(), 3), Err(Error::Order));
    assert_eq!(z.resize(at(base, 2), 0), Err(Error::Double));
    assert_eq!(z.resize(ptr::null_mut(), 0), Err(Error::Null));
    assert_eq!(z.last_error(), Some(Error::Null));
    expect_unchanged(&z, &s);
}

/* ------------------------------------------------------------------ */
/* page cache                                                          */
/* ------------------------------------------------------------------ */

fn cache_zone(high: u32, max: u32) -> (Zone, *mut u8) {
    let mut z = Zone::new(&Config {
        pcp_high: high,
        pcp_max_order: max,
        ..Config::new()
    })
    .unwrap();
    let base = add(&mut z, 16);
    (z, base)
}

#[test]
fn test_cache_holds_and_serves() {
    let (mut z, base) = cache_zone(4, 1);
    let a = z.alloc_pages(0, Flags::NONE).unwrap();
    z.free_pages(a.as_ptr(), 0).unwrap();
    // Cached, not merged.
    assert_eq!(layout(&z), "[r0] 0:0C 1:0F 2:1F 4:2F 8:3F");
    let st = z.stats();
    assert_eq!(
        (
            st.cached_pages,
            st.nr_cached[0],
            st.free_pages,
            st.used_pages
        ),
        (1, 1, 15, 0)
    );
    assert_eq!(z.region_info(0).unwrap().cached_pages, 1);
    // Served from the cache first (newest first).
    let b = z.alloc_pages(0, Flags::NONE).unwrap();
    assert_eq!(b.as_ptr(), base);
    assert_eq!(z.stats().cached_pages, 0);
    // Double free of a cached block.
    z.free(b.as_ptr()).unwrap();
    assert_eq!(z.free(b.as_ptr()), Err(Error::Double));
    z.drain_cache();
    assert_eq!(layout(&z), "[r0] 0:4F");
    assert_eq!(check(&z), 0);
}

#[test]
fn test_cache_drains_half_when_long() {
    let (mut z, _) = cache_zone(4, 0);
    let ps: Vec<_> = (0..6)
        .map(|_| z.alloc_pages(0, Flags::NONE).unwrap())
        .collect();
    for p in &ps[..4] {
        z.free_pages(p.as_ptr(), 0).unwrap();
    }
    assert_eq!(z.stats().nr_cached[0], 4);
    z.free_pages(ps[4].as_ptr(), 0).unwrap();
    // Over high (4): the oldest (4 + 1) / 2 = 2 go back and merge.
    assert_eq!(z.stats().nr_cached[0], 3);
    assert_eq!(layout(&z), "[r0] 0:1F 2:0C 3:0C 4:0C 5:0A 6:1F 8:3F");
    assert_eq!(check(&z), 0);
}

#[test]
fn test_cache_never_causes_a_failure() {
    let (mut z, base) = cache_zone(8, 3);
    let ps: Vec<_> = (0..16)
        .map(|_| z.alloc_pages(0, Flags::NONE).unwrap())
        .collect();
    for p in &ps {
        z.free_pages(p.as_ptr(), 0).unwrap();
    }
    // 8 cached after drains; the rest merged only in part.
    assert!(z.stats().cached_pages > 0);
    let whole = z.alloc_pages(4, Flags::NONE).unwrap();
    assert_eq!(whole.as_ptr(), base);
    assert_eq!(z.stats().cached_pages, 0);
    z.free(whole.as_ptr()).unwrap();
    // Exact allocations drain too.
    let ps: Vec<_> = (0..16)
        .map(|_| z.alloc_pages(0, Flags::NONE).unwrap())
        .collect();
    for p in &ps {
        z.free(p.as_ptr()).unwrap();
    }
    z.alloc_pages_exact(15, Flags::NONE).unwrap();
    assert_eq!(check(&z), 0);
}

#[test]
fn test_cache_resize_grows_over_cached_buddies() {
    let (mut z, _) = cache_zone(8, 3);
    let a = z.alloc_pages(0, Flags::NONE).unwrap();
    let b = z.alloc_pages(0, Flags::NONE).unwrap();
    let c = z.alloc_pages(1, Flags::NONE).unwrap();
    z.free(b.as_ptr()).unwrap();
    z.free(c.as_ptr()).unwrap();
    assert_eq!(layout(&z), "[r0] 0:0A 1:0C 2:1C 4:2F 8:3F");
    z.resize(a.as_ptr(), 2).unwrap();
    assert_eq!(layout(&z), "[r0] 0:2A 4:2F 8:3F");
    assert_eq!(z.stats().cached_pages, 0);
    // Pieces of a buddy in the cache: drained first, then grown.
    let d = z.alloc_pages(0, Flags::NONE).unwrap(); // page 4
    z.free(d.as_ptr()).unwrap();
    assert_eq!(layout(&z), "[r0] 0:2A 4:0C 5:0F 6:1F 8:3F");
    z.resize(a.as_ptr(), 3).unwrap();
    assert_eq!(layout(&z), "[r0] 0:3A 8:3F");
    assert_eq!(check(&z), 0);
}

#[test]
fn test_cache_remove_region_drains() {
    let (mut z, base) = cache_zone(8, 3);
    let a = z.alloc_pages(0, Flags::NONE).unwrap();
    z.free(a.as_ptr()).unwrap();
    z.remove_region(base).unwrap();
    assert_eq!(z.stats().cached_pages, 0);
    assert_eq!(check(&z), 0);
}

/* ------------------------------------------------------------------ */
/* introspection                                                       */
/* ------------------------------------------------------------------ */

#[test]
fn test_fragmentation_indices() {
    let (mut z, base) = zone16();
    for j in 0..=4 {
        assert_eq!(z.fragmentation_index(j), -1000);
        assert_eq!(z.unusable_index(j), 0);
    }
    let mut pg = vec![z.alloc_pages(0, Flags::NONE).unwrap()];
    assert_eq!(z.fragmentation_index(4), 516);
    assert_eq!(z.fragmentation_index(3), -1000);
    assert_eq!(
        (0..=4).map(|j| z.unusable_index(j)).collect::<Vec<_>>(),
        vec![0, 66, 200, 466, 1000]
    );
    for _ in 1..16 {
        pg.push(z.alloc_pages(0, Flags::NONE).unwrap());
    }
    assert_eq!(z.fragmentation_index(0), 0);
    assert_eq!(z.unusable_index(0), 1000);
    for p in &pg {
        if (p.as_ptr() as usize - base as usize) / PS % 2 == 0 {
            z.free(p.as_ptr()).unwrap();
        }
    }
    assert_eq!(
        (0..=4)
            .map(|j| z.fragmentation_index(j))
            .collect::<Vec<_>>(),
        vec![-1000, 375, 625, 750, 813]
    );
    assert_eq!(z.unusable_index(1), 1000);
    assert_eq!(z.fragmentation_index(32), 0);
    assert_eq!(z.unusable_index(32), 0);
}

#[test]
fn test_walk_blocks_and_states() {
    let (mut z, base) = zone16();
    let e = z.alloc_pages_exact(3, Flags::NONE).unwrap();
    let blocks: Vec<_> = z.blocks().collect();
    assert_eq!(blocks.len(), 5);
    assert_eq!(blocks[0].addr, e.as_ptr() as usize);
    assert_eq!(
        (blocks[0].order, blocks[0].state, blocks[0].first),
        (1, BlockState::Allocated, true)
    );
    assert_eq!(
        (blocks[1].page, blocks[1].order, blocks[1].first),
        (2, 0, false)
    );
    assert_eq!(blocks[1].state, BlockState::Allocated);
    assert_eq!((blocks[2].page, blocks[2].state), (3, BlockState::Free));
    assert_eq!(blocks[4].addr, at(base, 8) as usize);
    assert!(blocks.iter().all(|b| b.region == 0));
    // The iterator stops early when asked.
    assert_eq!(
        z.blocks()
            .take_while(|b| b.state != BlockState::Free)
            .count(),
        2
    );
}

#[test]
fn test_stats_track_everything() {
    let (mut z, _) = zone16();
    let a = z.alloc_pages(2, Flags::NONE).unwrap();
    let b = z.alloc_pages_exact(5, Flags::NONE).unwrap();
    let _ = z.alloc_pages(4, Flags::NONE);
    let st = z.stats();
    assert_eq!((st.page_size, st.max_order, st.nr_regions), (PS, 4, 1));
    assert_eq!(
        (
            st.total_pages,
            st.free_pages,
            st.used_pages,
            st.cached_pages
        ),
        (16, 7, 9, 0)
    );
    assert_eq!((st.allocs, st.frees, st.failures), (2, 0, 1));
    z.free(a.as_ptr()).unwrap();
    z.free(b.as_ptr()).unwrap();
    let st = z.stats();
    assert_eq!(
        (st.free_pages, st.used_pages, st.peak_used_pages, st.frees),
        (16, 0, 9, 2)
    );
    assert_eq!(st.nr_free[4], 1);
    assert_eq!(st.meta_bytes, z.meta_size(16 * PS));
}

/* ------------------------------------------------------------------ */
/* owners and allocation info                                          */
/* ------------------------------------------------------------------ */

#[test]
fn test_error_kinds() {
    let kinds = [
        ErrorKind::Invalid,
        ErrorKind::Double,
        ErrorKind::Interior,
        ErrorKind::Corrupt,
    ];
    for (i, k) in kinds.iter().enumerate() {
        assert_eq!(k.code(), i as i32 + 1);
        assert_eq!(k.to_string(), k.name());
    }
    assert_eq!(ErrorKind::Double.name(), "double free");
    assert_eq!(ErrorKind::of(Error::Outside), ErrorKind::Invalid);
    assert_eq!(ErrorKind::of(Error::Null), ErrorKind::Invalid);
    assert_eq!(ErrorKind::of(Error::Order), ErrorKind::Invalid);
    assert_eq!(ErrorKind::of(Error::Double), ErrorKind::Double);
    assert_eq!(ErrorKind::of(Error::NotBlock), ErrorKind::Interior);
    assert_eq!(ErrorKind::of(Error::Corrupt), ErrorKind::Corrupt);
}

#[test]
fn test_alloc_info_and_free_info() {
    let (mut z, base) = zone16();
    let a = z.alloc_pages(2, Flags::NONE).unwrap();
    let e = z.alloc_pages_exact(3, Flags::NONE).unwrap();
    assert_eq!(
        z.alloc_info(a.as_ptr()),
        Ok(AllocInfo {
            nr_pages: 4,
            owner: 0
        })
    );
    z.set_region_owner(base, 0xabc0).unwrap();
    assert_eq!(
        z.alloc_info(e.as_ptr()),
        Ok(AllocInfo {
            nr_pages: 3,
            owner: 0xabc0
        })
    );
    let s = snap(&z);
    assert_eq!(z.alloc_info(at(base, 1)), Err(Error::NotBlock));
    assert_eq!(z.alloc_info(at(base, 9)), Err(Error::Double));
    assert_eq!(z.alloc_info(ptr::null()), Err(Error::Null));
    assert_eq!(z.free_info(at(base, 99)), Err(Error::Outside));
    assert_eq!(z.last_error(), Some(Error::Outside));
    expect_unchanged(&z, &s);
    assert_eq!(
        z.free_info(e.as_ptr()),
        Ok(AllocInfo {
            nr_pages: 3,
            owner: 0xabc0
        })
    );
    assert_eq!(z.free_info(e.as_ptr()), Err(Error::Double));
    assert_eq!(z.free_info(a.as_ptr()).map(|i| i.nr_pages), Ok(4));
    assert_eq!(layout(&z), "[r0] 0:4F");
}

#[test]
fn test_region_owners() {
    let mut z = zone(PS, None);
    let a = add(&mut z, 4);
    let b = add(&mut z, 4);
    assert_eq!(z.region_owner(a), 0);
    z.set_region_owner(a, 0x1000).unwrap();
    z.set_region_owner(b, 0x2000).unwrap();
    assert_eq!(z.region_owner(at(a, 3).wrapping_add(100)), 0x1000);
    assert_eq!(z.region_owner(b), 0x2000);
    assert_eq!(z.region_owner(at(b, 4)), 0); // past the region
    assert_eq!(z.region_owner(ptr::null()), 0);
    let ri: Vec<usize> = (0..2).map(|i| z.region_info(i).unwrap().owner).collect();
    let mut want = vec![0x1000, 0x2000];
    if (a as usize) > (b as usize) {
        want.reverse();
    }
    assert_eq!(ri, want);
    assert_eq!(z.set_region_owner(at(a, 1), 1), Err(Error::Outside));
    assert_eq!(z.set_region_owner(ptr::null_mut(), 1), Err(Error::Null));
    z.set_region_owner(a, 0).unwrap(); // detached
    assert_eq!(z.region_owner(a), 0);
    assert_eq!(z.record_error(Error::Busy), Error::Busy);
    assert_eq!(z.last_error(), Some(Error::Busy));
}

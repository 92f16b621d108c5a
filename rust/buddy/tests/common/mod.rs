// SPDX-License-Identifier: MIT
//! Helpers shared by the zone tests: page-aligned static memory, zones,
//! the walk as compact text, and a snapshot of everything observable (to
//! prove that a refused call changed nothing).
#![allow(dead_code)]

use buddy::{BlockState, Config, Stats, Zone};

/// `pages` pages of `ps` bytes aligned to `align` (>= ps), for good.
pub fn arena_aligned(ps: usize, pages: usize, align: usize) -> &'static mut [u8] {
    let buf = Box::leak(vec![0u8; pages * ps + align].into_boxed_slice());
    let off = buf.as_ptr().align_offset(align);
    &mut buf[off..off + pages * ps]
}

/// `pages` pages of `ps` bytes, page-aligned, for good.
pub fn arena(ps: usize, pages: usize) -> &'static mut [u8] {
    arena_aligned(ps, pages, ps)
}

/// `len` bytes aligned to 8 (for metadata), for good.
pub fn meta_buf(len: usize) -> &'static mut [u8] {
    arena_aligned(1, len, 8)
}

/// A zone with page size `ps` and max order `max` (None: auto).
pub fn zone(ps: usize, max: Option<u32>) -> Zone {
    Zone::new(&Config {
        page_size: ps,
        max_order: max,
        ..Config::new()
    })
    .unwrap()
}

/// Add `pages` fresh pages with a separate metadata buffer; returns the base.
pub fn add(z: &mut Zone, pages: usize) -> *mut u8 {
    let ps = z.page_size();
    let mem = arena(ps, pages);
    let meta = meta_buf(z.meta_size(pages * ps));
    let base = mem.as_mut_ptr();
    z.add_region_static(mem, Some(meta)).unwrap();
    base
}

/// The walk as text: "[rID]" per region, then "PAGE:ORDER" and a letter per
/// block: F free, C cached, A first block of an allocation, c a later block.
pub fn layout(z: &Zone) -> String {
    let mut s = String::new();
    let mut region = None;
    for b in z.blocks() {
        if region != Some(b.region) {
            if region.is_some() {
                s.push(' ');
            }
            s += &format!("[r{}]", b.region);
            region = Some(b.region);
        }
        let c = match b.state {
            BlockState::Free => 'F',
            BlockState::Cached => 'C',
            BlockState::Allocated if b.first => 'A',
            BlockState::Allocated => 'c',
        };
        s += &format!(" {}:{}{}", b.page, b.order, c);
    }
    s
}

/// The buddyinfo line.
pub fn info(z: &Zone) -> String {
    z.buddyinfo().to_string()
}

/// The check, its findings printed; returns their number.
pub fn check(z: &Zone) -> usize {
    z.check(&mut |m| eprintln!("check: {m}"))
}

/// Everything observable about a zone.
#[derive(Debug, PartialEq, Eq)]
pub struct Snap {
    stats: Stats,
    info: String,
    layout: String,
}

pub fn snap(z: &Zone) -> Snap {
    Snap {
        stats: z.stats(),
        info: info(z),
        layout: layout(z),
    }
}

/// The zone is as it was, and sound.
pub fn expect_unchanged(z: &Zone, s: &Snap) {
    assert_eq!(&snap(z), s);
    assert_eq!(check(z), 0);
}

// SPDX-License-Identifier: MIT
//! Region metadata and the links stored in free blocks: every read and
//! write of memory the zone was handed goes through this file.
//!
//! A region's metadata is laid out as in the C core:
//!
//! ```text
//!     [RegionHdr][pair bitmap, order 0][order 1]...[one byte per page]
//! ```
//!
//! Three handles give access to it:
//!
//! - [`RegionRef`]: the header of a region. It exists only for a region
//!   that [`RegionRef::setup`] laid out and that its zone has not removed
//!   yet (the zone forgets every copy when it removes the region). Its base,
//!   end, page count, shift, page bytes and bitmaps never change after set-up.
//! - [`Pos`]: a page of a region, `idx < nr_pages` checked when it is made,
//!   so page-byte and bitmap accesses through it need no further check.
//! - [`Node`]: the first page of a block seen as a list node: its first two
//!   words are the `next` and `prev` links. Made only from a `Pos`, so it
//!   lies page-aligned inside a region, and a page (>= 16 bytes) holds both
//!   links.
//!
//! A link value of 0 stands for the list head, which lives in the zone; so
//! the lists are the C core's circular lists through their head, with the
//! head written as 0 in the blocks (the zone may move; its address must not
//! be stored in memory).

use core::mem::size_of;
use core::num::NonZeroUsize;
use core::ptr::{self, NonNull};

use crate::zone::Zone;

/// Orders 0..=31, as in the C core.
pub(crate) const NR_ORDERS: usize = 32;
type MapWord = u64;
const MAP_WORD_BITS: usize = 64;
/// Bytes a block's two links take (the C core's ANNOT_LINK_BYTES).
pub(crate) const LINK_BYTES: usize = 2 * size_of::<usize>();

/// The region header at the start of its metadata (behind the guard pages
/// when the metadata is carved from the region's tail): the C core's `struct
/// buddy_region`, field for field and of the same size (so both need the
/// same metadata bytes for a region), with the max order, the page shift
/// and two flags packed where C keeps an `unsigned` max order.
#[repr(C)]
pub(crate) struct RegionHdr {
    next: Option<RegionRef>,        // next region by address
    base: usize,                    // first managed page
    end: usize,                     // one past the last managed page
    nr_pages: usize,                // managed pages
    free_pages: usize,              // pages of this region on the free lists
    id: u32,                        // order of addition, from 0
    max_order: u8,                  // largest block order; no bitmap at this order
    shift: u8,                      // log2 of the page size
    carved: u8,                     // metadata lies in the region's own tail
    is_static: u8,                  // memory came as &'static mut slices
    pg: *mut u8,                    // nr_pages page bytes
    map: [*mut MapWord; NR_ORDERS], // pair bitmaps, orders 0..max_order-1
    meta: *mut u8,                  // start of this region's metadata
    meta_bytes: usize,              // its length
    owner: usize,                   // set_region_owner's word (0: none)
}

/// Header bytes at the start of a region's metadata (8-byte rounded).
pub(crate) const HEADER_BYTES: usize = (size_of::<RegionHdr>() + 7) & !7;
#[cfg(target_pointer_width = "64")]
const _: () = assert!(HEADER_BYTES == 336, "the header must match the C core's");

/// Bits in order k's pair bitmap for a region of n pages.
pub(crate) const fn map_bits(n: usize, k: u32) -> usize {
    (n + (2usize << k) - 1) >> (k + 1)
}

/// 64-bit words in order k's pair bitmap.
pub(crate) const fn map_words(n: usize, k: u32) -> usize {
    map_bits(n, k).div_ceil(MAP_WORD_BITS)
}

/// A live region's header (see the module documentation).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct RegionRef(NonNull<RegionHdr>);

/// What [`RegionRef::setup`] writes into a new header.
pub(crate) struct RegionLayout {
    pub base: *mut u8,
    pub nr_pages: usize,
    pub shift: u32,
    pub id: u32,
    pub max_order: u32,
    pub meta: *mut u8,
    pub meta_bytes: usize,
    /// Guard bytes at the start of the metadata, before the header.
    pub skip: usize,
    pub meta_zeroed: bool,
    pub carved: bool,
    pub is_static: bool,
}

impl RegionRef {
    /// Lay out a region's metadata: header, bitmaps (all 0) and page bytes
    /// (all 0: every page "in use" until the zone frees the carving blocks).
    ///
    /// # Safety
    ///
    /// `l.meta` is 8-byte aligned and valid for reads and writes of
    /// `l.meta_bytes` bytes, which are at least `l.skip` (a multiple of 8)
    /// plus the metadata size of `l.nr_pages` pages at `l.max_order`;
    /// `[l.base, l.base + (l.nr_pages <<
    /// l.shift))` is valid for reads and writes; `l.shift >= 4`. Both ranges
    /// are disjoint and belong to the zone alone until it removes the region.
    pub(crate) unsafe fn setup(l: &RegionLayout) -> RegionRef {
        debug_assert!(l.shift >= 4 && l.meta as usize % 8 == 0 && l.skip % 8 == 0);
        // SAFETY: the guard lies inside the metadata (the caller's promise).
        let hdr_ptr = unsafe { l.meta.add(l.skip) };
        let clear = if l.meta_zeroed {
            HEADER_BYTES
        } else {
            l.meta_bytes - l.skip
        };
        // SAFETY: the caller gives us l.meta_bytes >= l.skip + HEADER_BYTES writable bytes.
        unsafe { ptr::write_bytes(hdr_ptr, 0, clear) };
        let mut map = [ptr::null_mut(); NR_ORDERS];
        let mut off = HEADER_BYTES;
        for (k, slot) in map.iter_mut().enumerate().take(l.max_order as usize) {
            // SAFETY: the bitmaps lie inside the metadata (its size counts them).
            *slot = unsafe { hdr_ptr.add(off) }.cast::<MapWord>();
            off += map_words(l.nr_pages, k as u32) * size_of::<MapWord>();
        }
        let base = l.base.expose_provenance();
        let hdr = RegionHdr {
            next: None,
            base,
            end: base + (l.nr_pages << l.shift),
            nr_pages: l.nr_pages,
            free_pages: 0,
            id: l.id,
            max_order: l.max_order as u8,
            shift: l.shift as u8,
            carved: l.carved as u8,
            is_static: l.is_static as u8,
            // SAFETY: the page bytes end the metadata, inside it.
            pg: unsafe { hdr_ptr.add(off) },
            map,
            meta: l.meta,
            meta_bytes: l.meta_bytes,
            owner: 0,
        };
        let p = hdr_ptr.cast::<RegionHdr>();
        // SAFETY: meta + skip is 8-aligned (RegionHdr's alignment) and holds HEADER_BYTES.
        unsafe { p.write(hdr) };
        // SAFETY: meta is not null (it was written through just now).
        RegionRef(unsafe { NonNull::new_unchecked(p) })
    }

    #[inline(always)]
    fn hdr(self) -> *mut RegionHdr {
        self.0.as_ptr()
    }
}

/// Read a header field (the header is live: RegionRef's invariant).
macro_rules! field {
    ($r:expr, $f:ident) => {
        // SAFETY: a RegionRef points at a live, initialised header.
        unsafe { (*$r.hdr()).$f }
    };
}

/// Write a header field (the zone, which owns the header, is the writer).
macro_rules! set_field {
    ($r:expr, $f:ident, $v:expr) => {
        // SAFETY: a RegionRef points at a live header that only its zone writes.
        unsafe { (*$r.hdr()).$f = $v }
    };
}

impl RegionRef {
    #[inline(always)]
    pub(crate) fn base(self) -> usize {
        field!(self, base)
    }
    #[inline(always)]
    pub(crate) fn end(self) -> usize {
        field!(self, end)
    }
    #[inline(always)]
    pub(crate) fn nr_pages(self) -> usize {
        field!(self, nr_pages)
    }
    #[inline(always)]
    pub(crate) fn free_pages(self) -> usize {
        field!(self, free_pages)
    }
    #[inline(always)]
    pub(crate) fn set_free_pages(self, v: usize) {
        set_field!(self, free_pages, v)
    }
    pub(crate) fn id(self) -> u32 {
        field!(self, id)
    }
    #[inline(always)]
    pub(crate) fn max_order(self) -> u32 {
        field!(self, max_order) as u32
    }
    pub(crate) fn owner(self) -> usize {
        field!(self, owner)
    }
    pub(crate) fn set_owner(self, v: usize) {
        set_field!(self, owner, v)
    }
    #[inline(always)]
    pub(crate) fn shift(self) -> u32 {
        field!(self, shift) as u32
    }
    pub(crate) fn next(self) -> Option<RegionRef> {
        field!(self, next)
    }
    pub(crate) fn set_next(self, v: Option<RegionRef>) {
        set_field!(self, next, v)
    }
    pub(crate) fn meta_addr(self) -> usize {
        field!(self, meta).addr()
    }
    pub(crate) fn meta_ptr(self) -> *mut u8 {
        field!(self, meta)
    }
    pub(crate) fn meta_bytes(self) -> usize {
        field!(self, meta_bytes)
    }
    pub(crate) fn carved(self) -> bool {
        field!(self, carved) != 0
    }
    pub(crate) fn is_static(self) -> bool {
        field!(self, is_static) != 0
    }

    /// Does the region hold address a? (One compare, as the C core's hint test.)
    #[inline(always)]
    pub(crate) fn contains(self, a: usize) -> bool {
        a.wrapping_sub(self.base()) < self.end() - self.base()
    }

    /// Address of page idx (no check: an address is only a number).
    #[inline(always)]
    pub(crate) fn addr(self, idx: usize) -> usize {
        self.base() + (idx << self.shift())
    }

    /// Page idx, if the region has it.
    #[inline(always)]
    pub(crate) fn pos(self, idx: usize) -> Option<Pos> {
        (idx < self.nr_pages()).then_some(Pos { r: self, idx })
    }

    /// Page idx, which the caller's arithmetic keeps inside the region;
    /// damaged metadata that breaks this stops the program.
    #[inline(always)]
    #[track_caller]
    pub(crate) fn page(self, idx: usize) -> Pos {
        match self.pos(idx) {
            Some(p) => p,
            None => page_out_of_range(idx),
        }
    }

    /// The page holding address a, if a is in the region.
    #[inline(always)]
    pub(crate) fn pos_in(self, a: usize) -> Option<Pos> {
        self.pos(a.wrapping_sub(self.base()) >> self.shift())
    }

    /// The page starting exactly at address a, if a is in the region and
    /// page-aligned.
    #[inline(always)]
    pub(crate) fn pos_at(self, a: usize) -> Option<Pos> {
        let off = a.wrapping_sub(self.base());
        if off & ((1usize << self.shift()) - 1) != 0 {
            return None;
        }
        self.pos(off >> self.shift())
    }

    #[inline(always)]
    fn pg_ptr(self) -> *mut u8 {
        field!(self, pg)
    }

    #[inline(always)]
    fn map_ptr(self, k: u32) -> *mut MapWord {
        // SAFETY: a RegionRef points at a live, initialised header. (Indexing
        // the field in place: reading the whole array would copy it.)
        unsafe { (*self.hdr()).map[k as usize] }
    }

    /// The page bytes, to read while the zone is borrowed shared (every
    /// change to a zone needs it borrowed exclusively).
    pub(crate) fn page_bytes(self, _zone: &Zone) -> &[u8] {
        // SAFETY: nr_pages page bytes at pg, live with the region, which the
        // borrowed zone keeps (a region leaves only through &mut Zone).
        unsafe { core::slice::from_raw_parts(self.pg_ptr(), self.nr_pages()) }
    }

    /// Order k's pair bitmap (empty at and above the max order), read as
    /// [`RegionRef::page_bytes`].
    pub(crate) fn map_slice(self, k: u32, _zone: &Zone) -> &[u64] {
        if k >= self.max_order() {
            return &[];
        }
        // SAFETY: k < max_order: map[k] holds map_words(nr_pages, k) words,
        // live as in page_bytes.
        unsafe { core::slice::from_raw_parts(self.map_ptr(k), map_words(self.nr_pages(), k)) }
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn page_out_of_range(idx: usize) -> ! {
    panic!("buddy: page index {idx} outside its region (damaged metadata)")
}

/// A page of a live region, idx < nr_pages (see the module documentation).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Pos {
    r: RegionRef,
    idx: usize,
}

impl Pos {
    #[inline(always)]
    pub(crate) fn region(self) -> RegionRef {
        self.r
    }
    #[inline(always)]
    pub(crate) fn idx(self) -> usize {
        self.idx
    }
    #[inline(always)]
    pub(crate) fn addr(self) -> usize {
        self.r.addr(self.idx)
    }

    /// The page byte.
    #[inline(always)]
    pub(crate) fn pg(self) -> u8 {
        let pg = self.r.pg_ptr();
        // SAFETY: idx < nr_pages (Pos invariant), inside the page bytes.
        unsafe { *pg.add(self.idx) }
    }

    #[inline(always)]
    pub(crate) fn set_pg(self, b: u8) {
        let pg = self.r.pg_ptr();
        // SAFETY: as in pg; the zone owns the metadata.
        unsafe { *pg.add(self.idx) = b }
    }

    #[inline(always)]
    fn map_bit(self, k: u32) -> (*mut MapWord, MapWord) {
        if k >= self.r.max_order() {
            order_without_map(k);
        }
        let bit = self.idx >> (k + 1);
        // SAFETY: k < max_order, so map[k] exists; bit <= (nr_pages - 1) >> (k + 1)
        // lies inside its map_bits(nr_pages, k) bits.
        let w = unsafe { self.r.map_ptr(k).add(bit / MAP_WORD_BITS) };
        (w, 1 << (bit % MAP_WORD_BITS))
    }

    /// Toggle the pair bit at order k; returns its new value.
    #[inline(always)]
    pub(crate) fn map_toggle(self, k: u32) -> bool {
        let (w, m) = self.map_bit(k);
        // SAFETY: map_bit returns a word inside the bitmap, which the zone owns.
        unsafe {
            *w ^= m;
            *w & m != 0
        }
    }

    /// This page as a list node.
    #[inline(always)]
    pub(crate) fn node(self) -> Node {
        // SAFETY: a region never starts at address 0 (the zone refuses a null
        // base) and never wraps around (refused as too small), so no page
        // address is 0.
        Node(unsafe { NonZeroUsize::new_unchecked(self.addr()) })
    }

    /// Bytes from this page to the region's end.
    #[inline(always)]
    fn room(self) -> usize {
        self.r.end() - self.addr()
    }

    /// Fill `len` bytes from offset `off` of this page with `byte` (within the region).
    pub(crate) fn fill(self, off: usize, len: usize, byte: u8) {
        assert!(off <= self.room() && len <= self.room() - off);
        let p = ptr::with_exposed_provenance_mut::<u8>(self.addr() + off);
        // SAFETY: [p, p + len) lies inside the region (checked above), whose
        // memory the zone owns while the region is in it.
        unsafe { ptr::write_bytes(p, byte, len) };
    }

    /// Offset of the first of `len` bytes from offset `off` that is not
    /// `byte`, if any (within the region).
    pub(crate) fn find_not(self, off: usize, len: usize, byte: u8) -> Option<usize> {
        assert!(off <= self.room() && len <= self.room() - off);
        let p = ptr::with_exposed_provenance::<u8>(self.addr() + off);
        // SAFETY: as in fill: inside the region, which the zone owns.
        let bytes = unsafe { core::slice::from_raw_parts(p, len) };
        bytes.iter().position(|&b| b != byte).map(|i| off + i)
    }

    /// Copy `len` bytes from the start of page `src` to this page (both
    /// inside their regions; the caller keeps the ranges apart).
    pub(crate) fn copy_from(self, src: Pos, len: usize) {
        assert!(len <= self.room() && len <= src.room());
        let d = ptr::with_exposed_provenance_mut::<u8>(self.addr());
        let s = ptr::with_exposed_provenance::<u8>(src.addr());
        // SAFETY: both ranges lie inside regions the zone owns (checked above);
        // copy handles overlap, should a caller ever pass overlapping blocks.
        unsafe { ptr::copy(s, d, len) };
    }

    /// A pointer to this page, to hand out.
    #[inline(always)]
    pub(crate) fn ptr(self) -> NonNull<u8> {
        self.node().ptr()
    }
}

#[cold]
#[inline(never)]
fn order_without_map(k: u32) -> ! {
    panic!("buddy: no pair bitmap at order {k} (damaged metadata)")
}

/// The first page of a block, as a list node (see the module documentation).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Node(NonZeroUsize);

impl Node {
    #[inline(always)]
    pub(crate) fn addr(self) -> usize {
        self.0.get()
    }

    /// A pointer to the block, to hand out.
    #[inline(always)]
    pub(crate) fn ptr(self) -> NonNull<u8> {
        let p = ptr::with_exposed_provenance_mut::<u8>(self.addr());
        // SAFETY: a node's address is never 0.
        unsafe { NonNull::new_unchecked(p) }
    }

    #[inline(always)]
    fn word(self, i: usize) -> *mut usize {
        ptr::with_exposed_provenance_mut::<usize>(self.addr() + i * size_of::<usize>())
    }

    /// The `next` link (0: the list head).
    #[inline(always)]
    pub(crate) fn next(self) -> usize {
        // SAFETY: a Node is a page-aligned page of a live region (>= 16 bytes),
        // so both link words are inside it and aligned; the zone owns it.
        unsafe { self.word(0).read() }
    }

    /// The `prev` link (0: the list head).
    #[inline(always)]
    pub(crate) fn prev(self) -> usize {
        // SAFETY: as in next.
        unsafe { self.word(1).read() }
    }

    #[inline(always)]
    pub(crate) fn set_next(self, v: usize) {
        // SAFETY: as in next.
        unsafe { self.word(0).write(v) }
    }

    #[inline(always)]
    pub(crate) fn set_prev(self, v: usize) {
        // SAFETY: as in next.
        unsafe { self.word(1).write(v) }
    }
}

/// The address a list link stores for an optional node (0: the head).
#[inline(always)]
pub(crate) fn link_of(n: Option<Node>) -> usize {
    n.map_or(0, Node::addr)
}

// SPDX-License-Identifier: MIT
//! The binary buddy page allocator: regions, allocation, free with
//! merging, exact-size allocations, in-place resizing and the page cache.
//! A port of the C core (`src/page/page_alloc.c`): the same algorithm, the
//! same metadata, the same results for the same calls.
//!
//! Allocation (rmqueue): find the lowest non-empty order >= the request in
//! the zone's `nonempty` mask (one count-trailing-zeros, no scan), take the
//! first block of that list, and split it down (expand): each split puts
//! the upper half on the free list one order lower and keeps the lower half.
//!
//! Free (free_block): toggle the pair bit at the block's order; if it now
//! reads 0 the buddy (page index XOR 2^order) is free at the same order, so
//! unlink it, merge, and repeat one order up. Stops at the region's largest
//! order. Blocks never merge across regions: buddies and bits are per region.
//!
//! Page cache (optional, Linux's per-CPU page lists): blocks of small
//! orders are freed onto a per-order cache list without merging and
//! allocated from it first. Long lists give their oldest half back; every
//! list is drained before an allocation is allowed to fail.
//!
//! Both are O(max_order). Every public entry point validates its arguments
//! completely before it changes anything, so a rejected call leaves the
//! zone exactly as it was. List links stored in free blocks are checked
//! before they are followed (inside a region, on a block of the expected
//! order, pointing back); damage stops the zone ([`Error::Corrupt`])
//! instead of handing out overlapping memory.
//!
//! Page byte, on the first page of a block (the C core's layout):
//!
//! ```text
//!     bit  7 6 | 5    | 4..0
//!        state | MORE | order
//!     state 00 TAIL  not the first page of a block
//!           01 FREE  a free block of `order`; with MORE, a cached one
//!           10 HEAD  first page of an allocation; its first block has `order`
//!           11 CONT  a later block of an exact allocation
//!     MORE  (HEAD or CONT) the allocation goes on with the next block
//! ```
//!
//! Pair bitmap: bit (i >> (k+1)) of order k's map is free(i, k) XOR
//! free(buddy(i, k), k), where free(j, k) means "page j starts a free block
//! of order k" (pages past the region's end are never free). Orders at or
//! above the region's max order have no map.

use core::fmt::Write;
use core::ptr::NonNull;

use crate::error::{Error, ErrorKind};
use crate::fmtbuf::FmtBuf;
use crate::raw::mem::{self, link_of, Node, Pos, RegionRef, HEADER_BYTES, LINK_BYTES};

/// The largest order any zone allows (a block of 2^31 pages).
pub const MAX_ORDER: u32 = 31;
/// Orders 0..=[`MAX_ORDER`].
pub const NR_ORDERS: usize = mem::NR_ORDERS;
/// Default page size in bytes.
pub const PAGE_SIZE_DEFAULT: usize = 4096;
/// Smallest page size: a free page holds its two list links.
pub const PAGE_SIZE_MIN: usize = 16;
/// Regions found by bisection; a zone with more also searches a list.
pub const NR_REGION_INDEX: usize = 64;
/// The largest order the page cache can hold.
pub const PCP_MAX_ORDER: u32 = 10;
/// Orders 0..=[`PCP_MAX_ORDER`].
pub const NR_PCP_ORDERS: usize = PCP_MAX_ORDER as usize + 1;
/// Byte freed pages are filled with when poisoning (Linux's PAGE_POISON).
pub const POISON_BYTE: u8 = 0xaa;
/// Longest zone name, in bytes.
pub const NAME_MAX: usize = 15;

pub(crate) const PG_STATE: u8 = 0xc0;
pub(crate) const PG_TAIL: u8 = 0x00;
pub(crate) const PG_FREE: u8 = 0x40;
pub(crate) const PG_HEAD: u8 = 0x80;
pub(crate) const PG_CONT: u8 = 0xc0;
pub(crate) const PG_MORE: u8 = 0x20;
pub(crate) const PG_ORDER: u8 = 0x1f;
pub(crate) const PG_CACHED: u8 = PG_FREE | PG_MORE;

/// An allocation as [`Zone::alloc_info`] and [`Zone::free_info`] find it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllocInfo {
    /// Pages held: 2^order, or npages for an exact allocation.
    pub nr_pages: usize,
    /// The owner word of its region ([`Zone::set_region_owner`]), or 0.
    pub owner: usize,
}

/// Allocation flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(transparent)]
pub struct Flags(u32);

impl Flags {
    /// No flags.
    pub const NONE: Flags = Flags(0);
    /// Fill the returned pages with zero bytes (`BUDDY_ZERO`).
    pub const ZERO: Flags = Flags(1);

    /// The flags as the C core's bits.
    pub const fn bits(self) -> u32 {
        self.0
    }
    /// Flags from the C core's bits (unknown bits are ignored, as there).
    pub const fn from_bits(bits: u32) -> Flags {
        Flags(bits & 1)
    }
    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, o: Flags) -> Flags {
        Flags(self.0 | o.0)
    }
}

/// A problem an allocator reports through its error callback: the C
/// library's `(kind, op, ptr, msg)`, and the status the call fails with.
#[derive(Clone, Copy, Debug)]
pub struct ErrorReport<'a> {
    /// What went wrong ([`ErrorKind::Corrupt`] for a zone's damage).
    pub kind: ErrorKind,
    /// The status the call that met it fails with.
    pub error: Error,
    /// The step that met it ("alloc_pages", "free_pages", "drain_cache",
    /// "resize", "remove_region", ...; it may run inside another call).
    pub op: &'a str,
    /// The pointer concerned (the damaged block).
    pub addr: usize,
    /// One printable line: `buddy: <op>(): <problem> at <addr>`.
    pub msg: &'a str,
}

/// The error callback; `arg` is the config's `error_arg`.
pub type ErrorFn = fn(arg: usize, report: &ErrorReport<'_>);

/// A zone's configuration; [`Config::new`] gives the documented defaults.
#[derive(Clone, Copy, Debug)]
pub struct Config<'a> {
    /// Bytes per page: a power of two >= 16. Default 4096.
    pub page_size: usize,
    /// Largest order (<= [`MAX_ORDER`]); `None` (default): as large as the regions allow.
    pub max_order: Option<u32>,
    /// Zone name for the buddyinfo line, at most 15 bytes. Default "Normal".
    pub name: &'a str,
    /// Page cache: blocks per cache list before it is drained; 0 (default) = off.
    pub pcp_high: u32,
    /// Largest cached order, <= [`PCP_MAX_ORDER`]. Default 3.
    pub pcp_max_order: u32,
    /// Fill freed pages with [`POISON_BYTE`] and check them on allocation. Default off.
    pub poison: bool,
    /// Called once when the zone finds its structures damaged (then every
    /// change fails with [`Error::Corrupt`]). Default none.
    pub on_error: Option<ErrorFn>,
    /// Passed to `on_error`.
    pub error_arg: usize,
}

impl Config<'static> {
    /// The defaults: 4 KiB pages, max order auto, "Normal", no cache, no poisoning.
    pub const fn new() -> Config<'static> {
        Config {
            page_size: PAGE_SIZE_DEFAULT,
            max_order: None,
            name: "Normal",
            pcp_high: 0,
            pcp_max_order: 3,
            poison: false,
            on_error: None,
            error_arg: 0,
        }
    }
}

impl Default for Config<'static> {
    fn default() -> Self {
        Config::new()
    }
}

/// A circular list through a head in the zone, the head written as 0 in
/// the blocks' links: `first` is head.next, `last` is head.prev.
#[derive(Clone, Copy, Debug)]
pub(crate) struct List {
    pub(crate) first: Option<Node>,
    pub(crate) last: Option<Node>,
}

impl List {
    const EMPTY: List = List {
        first: None,
        last: None,
    };

    /// Insert n after the head (newest first).
    #[inline(always)]
    fn push(&mut self, n: Node) {
        n.set_next(link_of(self.first));
        n.set_prev(0);
        match self.first {
            Some(f) => f.set_prev(n.addr()),
            None => self.last = Some(n),
        }
        self.first = Some(n);
    }

    /// Unlink the node between prev and next (both already checked).
    #[inline(always)]
    fn unlink(&mut self, prev: Option<Node>, next: Option<Node>) {
        match prev {
            Some(p) => p.set_next(link_of(next)),
            None => self.first = next,
        }
        match next {
            Some(x) => x.set_prev(link_of(prev)),
            None => self.last = prev,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct FreeArea {
    pub(crate) list: List,     // free blocks of this order
    pub(crate) nr_free: usize, // blocks on list
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Pcp {
    pub(crate) list: List,   // cached blocks, newest first
    pub(crate) count: usize, // blocks on list
}

const BUDDY_NOT_FREE: &str = "corrupted free list: pair bitmap names a buddy that is not free";

/// A checked list node with its neighbours (None: the head).
struct Linked {
    pos: Pos,
    prev: Option<Node>,
    next: Option<Node>,
}

/// A zone: one or more regions of memory and the free lists over them.
///
/// The zone is not thread-safe; callers that share one lock around it (see
/// [`SpinLock`](crate::SpinLock)). It may be moved freely: no block stores
/// its address.
///
/// Its invariants are the C core's, numbered the same (P1..P9, listed in
/// `src/page/page_internal.h`; the check reports each broken one by its tag):
///
/// - P1 Regions: the list is sorted by base and no two regions (nor any
///   region's metadata) overlap; end - base == nr_pages << page_shift;
///   nr_regions counts the list, and index holds its first
///   [`NR_REGION_INDEX`] entries in order.
/// - P2 Tiling: the page bytes cut each region into blocks: the first page
///   of a block holds a state other than TAIL and an order k <= the
///   region's max order, its index is a multiple of 2^k, the block ends
///   inside the region, and its other pages are TAIL.
/// - P3 Pair bits: for k below the region's max order, the bit of pair
///   (i, i ^ 2^k) is free(i, k) XOR free(i ^ 2^k, k) (pages past the end are
///   never free; cached blocks are not free); bits past the last pair are 0.
/// - P4 Free lists: free_area\[k\] is a circular doubly linked list (through
///   its head, written as 0 in the blocks) whose every node's neighbours
///   point back at it, of exactly the blocks with free(i, k); nr_free counts
///   them; bit k of nonempty is set iff nr_free != 0.
/// - P5 Merged: below the region's max order, two buddies are never both free.
/// - P6 Page cache: pcp\[k\] is such a list of exactly the cached blocks of
///   order k, only for k < nr_pcp_orders; count counts them, and
///   cached_pages == sum of count << k.
/// - P7 Allocations: a CONT block follows, without a gap, a HEAD or CONT
///   block with MORE set, and only such a block; no chain runs past the end.
/// - P8 Counts: a region's free_pages is the pages of its free blocks; the
///   zone's total_pages, free_pages and meta_bytes are the sums over its
///   regions; peak_used_pages >= total - free - cached pages.
/// - P9 Orders: max_order is cfg_max_order, or with max_order_auto the
///   largest max order of the regions (0 with none); a region's max order
///   is min(floor(log2(nr_pages)), cfg_max_order).
///
/// Once `corrupted` is set, no call changes the zone again.
pub struct Zone {
    pub(crate) free_area: [FreeArea; NR_ORDERS],
    pub(crate) nonempty: u32,    // bit k set iff free_area[k] has a block
    pub(crate) page_shift: u32,  // log2(page_size)
    pub(crate) page_size: usize, // bytes per page
    pub(crate) max_order: u32,   // largest order a block can have (stats' max_order):
    // cfg_max_order, or with max_order_auto the largest order of any region
    pub(crate) cfg_max_order: u32, // configured, MAX_ORDER for auto: above it EMAXORDER
    pub(crate) max_order_auto: bool, // configured as auto
    pub(crate) regions: Option<RegionRef>, // sorted by base address
    pub(crate) hint: Option<RegionRef>, // region of the last lookup
    pub(crate) index: [Option<RegionRef>; NR_REGION_INDEX], // the first regions by address
    pub(crate) nr_regions: u32,    // regions in the zone
    pub(crate) next_region_id: u32, // id given to the next region added
    pub(crate) total_pages: usize, // pages in all regions (metadata excluded)
    pub(crate) free_pages: usize,  // pages on the free lists
    pub(crate) peak_used_pages: usize, // largest total - free - cached seen
    pub(crate) meta_bytes: usize,  // metadata bytes of all regions
    pub(crate) allocs: u64,        // successful allocations
    pub(crate) frees: u64,         // successful frees
    pub(crate) failures: u64,      // allocations that found no block
    pub(crate) last_error: i32,    // status of the last failed call (0: none)
    pub(crate) pcp: [Pcp; NR_PCP_ORDERS], // page cache lists per order
    pub(crate) cached_pages: usize, // pages held on the cache lists
    pub(crate) pcp_high: u32,      // cache list length that triggers a drain
    pub(crate) nr_pcp_orders: u32, // orders below this are cached; 0 = off
    pub(crate) corrupted: bool,    // damage seen: every change now fails
    pub(crate) poison: bool,       // fill freed pages, check them on allocation
    pub(crate) nr_fast_orders: u32, // orders below this take the fast paths:
    // nr_pcp_orders, or 0 when poisoning
    pub(crate) on_error: Option<ErrorFn>,
    pub(crate) error_arg: usize,
    pub(crate) name: [u8; NAME_MAX + 1],
    pub(crate) name_len: u8,
}

/// Largest order a block at idx may have in a region of n pages capped at max.
pub(crate) fn carve_order(idx: usize, n: usize, max: u32) -> u32 {
    let mut k = if idx == 0 {
        max
    } else {
        idx.trailing_zeros().min(max)
    };
    while (1usize << k) > n - idx {
        k -= 1;
    }
    k
}

fn ranges_overlap(a: usize, a_end: usize, b: usize, b_end: usize) -> bool {
    a < b_end && b < a_end
}

/// A region the zone validated and may lay out (see `raw`).
pub(crate) struct RegionPlan {
    pub(crate) nr_pages: usize,
    pub(crate) max_order: u32,
    pub(crate) meta: usize,
    pub(crate) meta_bytes: usize,
    pub(crate) carved: bool,
    /// Bytes of guard before the header: carved metadata sits behind
    /// [`Zone::guard_pages`] unused pages; 0 for metadata given apart.
    pub(crate) skip: usize,
}

impl Zone {
    /// An empty zone with configuration `cfg`; [`Error::Config`] when the page
    /// size is not a power of two >= 16, the max order above 31, the name
    /// longer than 15 bytes, or the cache's max order above 10 with the cache on.
    pub const fn new(cfg: &Config<'_>) -> Result<Zone, Error> {
        let ps = cfg.page_size;
        if ps < PAGE_SIZE_MIN || !ps.is_power_of_two() {
            return Err(Error::Config);
        }
        if let Some(m) = cfg.max_order {
            if m > MAX_ORDER {
                return Err(Error::Config);
            }
        }
        let name = cfg.name.as_bytes();
        if name.len() > NAME_MAX {
            return Err(Error::Config);
        }
        if cfg.pcp_high != 0 && cfg.pcp_max_order > PCP_MAX_ORDER {
            return Err(Error::Config);
        }
        let mut buf = [0u8; NAME_MAX + 1];
        let mut i = 0;
        while i < name.len() {
            buf[i] = name[i];
            i += 1;
        }
        let nr_pcp_orders = if cfg.pcp_high != 0 {
            cfg.pcp_max_order + 1
        } else {
            0
        };
        Ok(Zone {
            free_area: [FreeArea {
                list: List::EMPTY,
                nr_free: 0,
            }; NR_ORDERS],
            nonempty: 0,
            page_shift: ps.trailing_zeros(),
            page_size: ps,
            max_order: match cfg.max_order {
                Some(m) => m,
                None => 0,
            },
            cfg_max_order: match cfg.max_order {
                Some(m) => m,
                None => MAX_ORDER,
            },
            max_order_auto: cfg.max_order.is_none(),
            regions: None,
            hint: None,
            index: [None; NR_REGION_INDEX],
            nr_regions: 0,
            next_region_id: 0,
            total_pages: 0,
            free_pages: 0,
            peak_used_pages: 0,
            meta_bytes: 0,
            allocs: 0,
            frees: 0,
            failures: 0,
            last_error: 0,
            pcp: [Pcp {
                list: List::EMPTY,
                count: 0,
            }; NR_PCP_ORDERS],
            cached_pages: 0,
            pcp_high: cfg.pcp_high,
            nr_pcp_orders,
            corrupted: false,
            poison: cfg.poison,
            // The fast paths skip poisoning.
            nr_fast_orders: if cfg.poison { 0 } else { nr_pcp_orders },
            on_error: cfg.on_error,
            error_arg: cfg.error_arg,
            name: buf,
            name_len: name.len() as u8,
        })
    }

    /// Set (or clear) the damage callback and its argument.
    pub fn set_on_error(&mut self, f: Option<ErrorFn>, arg: usize) {
        self.on_error = f;
        self.error_arg = arg;
    }

    /// The expensive assertion tier (the C core's BUDDY_DEBUG >= 2), in
    /// debug builds: a zone a public call leaves passes the full check, after
    /// every call while the zone is small and about every pages / 256 calls
    /// when large (so a check costs a few steps per call). A zone that has
    /// found damage is left alone: it changes no more.
    #[inline(always)]
    pub(crate) fn on_return<T>(&self, r: T) -> T {
        #[cfg(debug_assertions)]
        self.debug_check();
        r
    }

    #[cfg(debug_assertions)]
    #[inline(never)]
    fn debug_check(&self) {
        let due = (self.allocs + self.frees) % (self.total_pages as u64 / 256 + 1) == 0;
        if due && !self.corrupted {
            self.check(&mut |m| panic!("buddy: check after a call: {m}"));
        }
    }

    /// Bytes per page.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// The status of the last call that failed (`None` if none has).
    pub fn last_error(&self) -> Option<Error> {
        Error::from_code(self.last_error)
    }

    /// Record `e` as the last error and return it: for a wrapper that
    /// refuses a call before the zone sees it (the C ABI does for a null
    /// out-parameter), so that [`Zone::last_error`] tells the same story.
    pub fn record_error(&mut self, e: Error) -> Error {
        self.last_error = e.code();
        e
    }

    #[inline(always)]
    fn fail<T>(&mut self, e: Error) -> Result<T, Error> {
        self.last_error = e.code();
        Err(e)
    }

    /* -------------------------------------------------------------- */
    /* free lists                                                      */
    /* -------------------------------------------------------------- */

    #[inline(always)]
    fn area_add(&mut self, order: u32, n: Node) {
        let fa = &mut self.free_area[order as usize];
        fa.list.push(n);
        if fa.nr_free == 0 {
            self.nonempty |= 1 << order;
        }
        fa.nr_free += 1;
    }

    #[inline(always)]
    fn area_unlink(&mut self, order: u32, l: &Linked) {
        // P4: node_check ran before any unlink.
        debug_assert!(
            self.free_area[order as usize].nr_free > 0
                && l.next.is_none_or(|x| x.prev() == l.pos.addr())
                && l.prev.is_none_or(|p| p.next() == l.pos.addr())
        );
        let fa = &mut self.free_area[order as usize];
        fa.list.unlink(l.prev, l.next);
        fa.nr_free -= 1;
        if fa.nr_free == 0 {
            self.nonempty &= !(1 << order);
        }
    }

    /// Record damage once, tell the callback, and refuse every later
    /// change. `op` names the step that met it, `what` the damage.
    #[cold]
    #[inline(never)]
    pub(crate) fn corrupt(&mut self, op: &str, what: &str, addr: usize) -> Error {
        if !self.corrupted {
            if let Some(f) = self.on_error {
                let mut msg = FmtBuf::<200>::new();
                let _ = write!(msg, "buddy: {op}(): {what} at {addr:#x}");
                let report = ErrorReport {
                    kind: ErrorKind::Corrupt,
                    error: Error::Corrupt,
                    op,
                    addr,
                    msg: msg.as_str(),
                };
                f(self.error_arg, &report);
            }
        }
        self.corrupted = true;
        self.last_error = Error::Corrupt.code();
        Error::Corrupt
    }

    /// Is link p the head (Ok(None)) or the first page of a block whose
    /// page byte is `want` (Ok(Some))? Checked before p is ever followed.
    #[inline(always)]
    fn link_ok(&self, p: usize, want: u8) -> Result<Option<(Pos, Node)>, ()> {
        if p == 0 {
            return Ok(None);
        }
        let r = match self.hint {
            Some(h) if h.contains(p) => h,
            _ => self.region_lookup(p).ok_or(())?,
        };
        match r.pos_at(p) {
            Some(pos) if pos.pg() == want => Ok(Some((pos, pos.node()))),
            _ => Err(()),
        }
    }

    /// Check the node at address a (a block whose page byte should be
    /// `want`, on `list`) and its neighbours before unlinking: both links
    /// must lead to valid nodes that point back at it, as glibc's unlink
    /// checks, and never to the node itself nor both to one node: a block
    /// whose links were overwritten with its own address, or two blocks made
    /// to point at each other, pass the first test, and unlinked they would
    /// stay on the list (the C core's node_check).
    #[inline(always)]
    fn node_check(&mut self, op: &str, list: List, a: usize, want: u8) -> Result<Linked, Error> {
        let (pos, node) = match self.link_ok(a, want) {
            Ok(Some(x)) => x,
            _ => {
                return Err(self.corrupt(
                    op,
                    "corrupted free list: list entry is not a free block",
                    a,
                ))
            }
        };
        let (next, prev) = match (
            self.link_ok(node.next(), want),
            self.link_ok(node.prev(), want),
        ) {
            (Ok(n), Ok(p)) => (n.map(|x| x.1), p.map(|x| x.1)),
            _ => {
                return Err(self.corrupt(
                    op,
                    "corrupted free list: link points outside the free blocks",
                    a,
                ))
            }
        };
        let next_back = match next {
            Some(x) => x.prev() == a,
            None => list.last == Some(node),
        };
        let prev_back = match prev {
            Some(p) => p.next() == a,
            None => list.first == Some(node),
        };
        if !next_back || !prev_back {
            return Err(self.corrupt(op, "corrupted free list: neighbours do not point back", a));
        }
        if node.next() == a || (node.next() != 0 && node.next() == node.prev()) {
            return Err(self.corrupt(
                op,
                "corrupted free list: links form a cycle without the list head",
                a,
            ));
        }
        Ok(Linked { pos, prev, next })
    }

    /* -------------------------------------------------------------- */
    /* poisoning                                                       */
    /* -------------------------------------------------------------- */

    /// Fill `pages` freed pages at pos with the poison byte (when poisoning).
    fn poison_fill(&self, pos: Pos, bytes: usize) {
        if self.poison {
            pos.fill(0, bytes, POISON_BYTE);
        }
    }

    /// The free block of `bytes` at pos is about to be handed out: all but
    /// its links must still hold the poison byte.
    #[cold]
    fn poison_check(&mut self, op: &str, pos: Pos, bytes: usize) -> Result<(), Error> {
        if bytes <= LINK_BYTES {
            return Ok(());
        }
        match pos.find_not(LINK_BYTES, bytes - LINK_BYTES, POISON_BYTE) {
            None => Ok(()),
            Some(off) => Err(self.corrupt(
                op,
                "corrupted free page: freed page written after free",
                pos.addr() + off,
            )),
        }
    }

    /* -------------------------------------------------------------- */
    /* regions                                                         */
    /* -------------------------------------------------------------- */

    /// The region holding address a, or None; does not update the hint.
    pub(crate) fn region_lookup(&self, a: usize) -> Option<RegionRef> {
        if let Some(h) = self.hint {
            if h.contains(a) {
                return Some(h);
            }
        }
        if self.nr_regions as usize <= NR_REGION_INDEX {
            // Bisect the sorted index for the last region starting at or below a.
            let (mut lo, mut hi) = (0, self.nr_regions as usize);
            while lo < hi {
                let mid = (lo + hi) / 2;
                match self.index[mid] {
                    Some(r) if r.base() <= a => lo = mid + 1,
                    _ => hi = mid,
                }
            }
            return match lo.checked_sub(1).and_then(|i| self.index[i]) {
                Some(r) if r.contains(a) => Some(r),
                _ => None,
            };
        }
        let mut cur = self.regions;
        while let Some(r) = cur {
            if r.base() > a {
                break;
            }
            if a < r.end() {
                return Some(r);
            }
            cur = r.next();
        }
        None
    }

    /// The region holding a: the last region used first, then the search.
    #[inline(always)]
    fn region_find(&mut self, a: usize) -> Option<RegionRef> {
        if let Some(h) = self.hint {
            if h.contains(a) {
                return Some(h);
            }
        }
        self.region_find_slow(a)
    }

    #[inline(never)]
    fn region_find_slow(&mut self, a: usize) -> Option<RegionRef> {
        let r = self.region_lookup(a);
        if r.is_some() {
            self.hint = r;
        }
        r
    }

    /// Rebuild the bisection index from the sorted list.
    fn index_rebuild(&mut self) {
        let mut cur = self.regions;
        for slot in self.index.iter_mut() {
            *slot = cur;
            cur = cur.and_then(RegionRef::next);
        }
    }

    pub(crate) fn regions(&self) -> impl Iterator<Item = RegionRef> + '_ {
        core::iter::successors(self.regions, |r| r.next())
    }

    /// P9: a region's largest order.
    fn region_max_order(&self, nr_pages: usize) -> u32 {
        nr_pages.ilog2().min(self.cfg_max_order)
    }

    /// P9: the zone's max order after a region came or went.
    fn max_order_update(&mut self) {
        if self.max_order_auto {
            self.max_order = self.regions().map(RegionRef::max_order).max().unwrap_or(0);
        }
    }

    /// Metadata bytes for a region of nr_pages pages.
    fn meta_bytes_for(&self, nr_pages: usize) -> usize {
        let top = self.region_max_order(nr_pages);
        let maps: usize = (0..top).map(|k| mem::map_words(nr_pages, k) * 8).sum();
        HEADER_BYTES + maps + nr_pages
    }

    /// Bytes of metadata a region of `len` bytes needs (0 if `len` is
    /// under one page): one byte per page, about one bitmap bit per page,
    /// and a 336-byte header.
    pub fn meta_size(&self, len: usize) -> usize {
        if len < self.page_size {
            return 0;
        }
        self.meta_bytes_for(len >> self.page_shift)
    }

    fn region_overlaps(&self, a: usize, a_end: usize) -> bool {
        self.regions().any(|r| {
            let m = r.meta_addr();
            ranges_overlap(a, a_end, r.base(), r.end())
                || ranges_overlap(a, a_end, m, m + r.meta_bytes())
        })
    }

    /// Validate a region to add (the C core's checks, in its order) and
    /// place its metadata: in [meta, meta + meta_len), or carved from the
    /// region's tail when `meta` is None.
    pub(crate) fn region_plan(
        &mut self,
        base: usize,
        len: usize,
        meta: Option<(usize, usize)>,
    ) -> Result<RegionPlan, Error> {
        if self.corrupted {
            return self.fail(Error::Corrupt);
        }
        if base == 0 {
            return self.fail(Error::Null);
        }
        let mask = self.page_size - 1;
        if base & mask != 0 || len & mask != 0 {
            return self.fail(Error::Align);
        }
        if len < self.page_size || base.checked_add(len).is_none() {
            return self.fail(Error::Small);
        }
        let mut nr_pages = len >> self.page_shift;
        let (meta, meta_bytes, carved, skip) = match meta {
            None => {
                // The metadata takes whole pages from the region's tail,
                // behind a guard of unused pages that an overflow past the
                // last page handed out reaches first.
                let need = self.meta_bytes_for(nr_pages);
                let meta_pages = need.div_ceil(self.page_size) + self.guard_pages();
                if meta_pages >= nr_pages {
                    return self.fail(Error::Small);
                }
                nr_pages -= meta_pages;
                (
                    base + (nr_pages << self.page_shift),
                    meta_pages << self.page_shift,
                    true,
                    self.guard_pages() << self.page_shift,
                )
            }
            Some((m, m_len)) => {
                if m == 0
                    || m % 8 != 0
                    || m_len < self.meta_bytes_for(nr_pages)
                    || m.checked_add(m_len).is_none()
                    || ranges_overlap(m, m + m_len, base, base + len)
                {
                    return self.fail(Error::Meta);
                }
                if self.region_overlaps(m, m + m_len) {
                    return self.fail(Error::Overlap);
                }
                (m, m_len, false, 0)
            }
        };
        if self.region_overlaps(base, base + len) {
            return self.fail(Error::Overlap);
        }
        Ok(RegionPlan {
            nr_pages,
            max_order: self.region_max_order(nr_pages),
            meta,
            meta_bytes,
            carved,
            skip,
        })
    }

    /// Unused pages between a region's pages and metadata carved from its
    /// tail: one page, or as many as make 64 bytes for smaller pages.
    pub(crate) fn guard_pages(&self) -> usize {
        if self.page_size >= 64 {
            1
        } else {
            64 >> self.page_shift
        }
    }

    /// Link a region laid out from a plan into the zone and free its pages
    /// as the largest naturally aligned blocks.
    pub(crate) fn region_insert(&mut self, r: RegionRef) {
        self.next_region_id += 1;
        // Sorted insert by base.
        let mut prev: Option<RegionRef> = None;
        let mut cur = self.regions;
        while let Some(c) = cur {
            if c.base() >= r.base() {
                break;
            }
            prev = cur;
            cur = c.next();
        }
        r.set_next(cur);
        match prev {
            Some(p) => p.set_next(Some(r)),
            None => self.regions = Some(r),
        }
        self.nr_regions += 1;
        self.index_rebuild();
        self.total_pages += r.nr_pages();
        self.meta_bytes += r.meta_bytes();
        self.max_order_update();

        let n = r.nr_pages();
        if self.poison {
            r.page(0).fill(0, n << self.page_shift, POISON_BYTE);
        }
        let mut idx = 0;
        while idx < n {
            let k = carve_order(idx, n, r.max_order());
            // A fresh region: nothing to check, nothing can fail.
            let _ = self.free_block(r.page(idx), k);
            idx += 1 << k;
        }
    }

    /// Take a wholly free region out of the zone (by its base address). Fails
    /// with [`Error::Busy`] while any of its pages is allocated. Returns the
    /// region so that the caller can give its memory back.
    /// Pages of region `r` held in the page cache: a scan of its page bytes
    /// (none to scan when the cache is empty).
    pub(crate) fn region_cached_pages(&self, r: RegionRef) -> usize {
        let mut cached = 0;
        if self.cached_pages != 0 {
            for idx in 0..r.nr_pages() {
                let b = r.page(idx).pg();
                if b & PG_STATE == PG_FREE && b & PG_MORE != 0 {
                    cached += 1 << (b & PG_ORDER);
                }
            }
        }
        cached
    }

    pub(crate) fn region_remove(&mut self, base: usize) -> Result<RegionRef, Error> {
        if self.corrupted {
            return self.fail(Error::Corrupt);
        }
        if base == 0 {
            return self.fail(Error::Null);
        }
        let mut prev: Option<RegionRef> = None;
        let mut cur = self.regions;
        while let Some(c) = cur {
            if c.base() == base {
                break;
            }
            prev = cur;
            cur = c.next();
        }
        let Some(r) = cur else {
            return self.fail(Error::Outside);
        };
        if r.free_pages() != r.nr_pages() {
            // Busy unless cached blocks are all that is missing: only then are
            // they drained back, so that a refused call changes nothing.
            if r.free_pages() + self.region_cached_pages(r) != r.nr_pages() {
                return self.fail(Error::Busy);
            }
            self.drain_cache();
            if self.corrupted {
                return self.fail(Error::Corrupt);
            }
        }
        // A wholly free region is fully merged: exactly its carving blocks.
        let n = r.nr_pages();
        let mut idx = 0;
        while idx < n {
            let k = carve_order(idx, n, r.max_order());
            let list = self.free_area[k as usize].list;
            self.node_check("remove_region", list, r.addr(idx), PG_FREE | k as u8)?;
            idx += 1 << k;
        }
        idx = 0;
        while idx < n {
            let k = carve_order(idx, n, r.max_order());
            let list = self.free_area[k as usize].list;
            let l = self.node_check("remove_region", list, r.addr(idx), PG_FREE | k as u8)?;
            self.area_unlink(k, &l);
            idx += 1 << k;
        }
        match prev {
            Some(p) => p.set_next(r.next()),
            None => self.regions = r.next(),
        }
        if self.hint == Some(r) {
            self.hint = None;
        }
        self.nr_regions -= 1;
        self.index_rebuild();
        self.total_pages -= n;
        self.free_pages -= n;
        self.meta_bytes -= r.meta_bytes();
        self.max_order_update();
        Ok(r)
    }

    /* -------------------------------------------------------------- */
    /* allocation                                                      */
    /* -------------------------------------------------------------- */

    /// Split the block of order `high` at pos down to order `low`, keeping
    /// the lower half each time and freeing the upper half one order down.
    fn expand(&mut self, pos: Pos, low: u32, mut high: u32) {
        let r = pos.region();
        // P2: the block is aligned to its order and lies in the region.
        debug_assert!(
            low <= high
                && high <= r.max_order()
                && pos.idx() & ((1 << high) - 1) == 0
                && 1 << high <= r.nr_pages() - pos.idx()
        );
        while high > low {
            high -= 1;
            let upper = r.page(pos.idx() + (1 << high));
            upper.set_pg(PG_FREE | high as u8);
            self.area_add(high, upper.node());
            upper.map_toggle(high);
        }
    }

    /// Take a block of at least `order` off the free lists and split it
    /// down to `order`. None when nothing fits or the list is damaged.
    fn rmqueue(&mut self, order: u32) -> Option<Pos> {
        let avail = self.nonempty >> order;
        if avail == 0 {
            return None;
        }
        let cur = order + avail.trailing_zeros();
        let list = self.free_area[cur as usize].list;
        let a = link_of(list.first);
        let l = self
            .node_check("alloc_pages", list, a, PG_FREE | cur as u8)
            .ok()?;
        let pos = l.pos;
        let r = pos.region();
        self.area_unlink(cur, &l);
        if cur < r.max_order() {
            pos.map_toggle(cur);
        }
        self.expand(pos, order, cur);
        r.set_free_pages(r.free_pages() - (1 << order));
        self.free_pages -= 1 << order;
        Some(pos)
    }

    /* -------------------------------------------------------------- */
    /* page cache                                                      */
    /* -------------------------------------------------------------- */

    /// Pop the newest cached block of `order` (the list is not empty); None
    /// if its links are damaged. The head was written by the zone itself;
    /// the links stored in the block are checked before they are used.
    fn pcp_take(&mut self, order: u32) -> Option<Pos> {
        let want = PG_CACHED | order as u8;
        let list = self.pcp[order as usize].list;
        let n = list.first?;
        let next = if n.prev() != 0 {
            Err(())
        } else {
            self.link_ok(n.next(), want)
        };
        let next = match next {
            Ok(x) => x.map(|x| x.1),
            Err(()) => {
                self.corrupt(
                    "alloc_pages",
                    "corrupted free list: cached block's links are damaged",
                    n.addr(),
                );
                return None;
            }
        };
        let back = match next {
            Some(x) => x.prev() == n.addr(),
            None => list.last == Some(n),
        };
        let pos = match self.region_find(n.addr()).and_then(|r| r.pos_at(n.addr())) {
            Some(p) if back => p,
            _ => {
                self.corrupt(
                    "alloc_pages",
                    "corrupted free list: cached block's links are damaged",
                    n.addr(),
                );
                return None;
            }
        };
        let pc = &mut self.pcp[order as usize];
        pc.list.unlink(None, next);
        pc.count -= 1;
        self.cached_pages -= 1 << order;
        Some(pos)
    }

    /// Give the `count` oldest cached blocks of `order` back to the buddy lists.
    #[inline(never)]
    fn pcp_drain(&mut self, order: u32, mut count: usize) -> Result<(), Error> {
        let o = order as usize;
        while count > 0 && self.pcp[o].count > 0 {
            count -= 1;
            let list = self.pcp[o].list;
            let l = self.node_check(
                "drain_cache",
                list,
                link_of(list.last),
                PG_CACHED | order as u8,
            )?;
            self.pcp[o].list.unlink(l.prev, l.next);
            // Its links may end up inside a merged block: poison them like the rest.
            self.poison_fill(l.pos, LINK_BYTES);
            self.pcp[o].count -= 1;
            self.cached_pages -= 1 << order;
            self.free_block(l.pos, order)?;
        }
        Ok(())
    }

    /// Cache the block instead of merging it; trim the list when it grows long.
    #[inline(always)]
    fn pcp_put(&mut self, pos: Pos, order: u32) -> Result<(), Error> {
        pos.set_pg(PG_CACHED | order as u8);
        let pc = &mut self.pcp[order as usize];
        pc.list.push(pos.node());
        pc.count += 1;
        self.cached_pages += 1 << order;
        if pc.count > self.pcp_high as usize {
            return self.pcp_drain(order, (self.pcp_high as usize).div_ceil(2));
        }
        Ok(())
    }

    /// Give every cached block back to the buddy lists, merging as it goes.
    pub fn drain_cache(&mut self) {
        self.drain_cache_body();
        self.on_return(())
    }

    #[inline(always)]
    fn drain_cache_body(&mut self) {
        if self.corrupted {
            return;
        }
        for k in 0..self.nr_pcp_orders {
            if self.pcp_drain(k, self.pcp[k as usize].count).is_err() {
                return;
            }
        }
    }

    /// rmqueue, draining the cache and trying again before giving up, so
    /// that no allocation fails while cached pages could serve it.
    #[inline(never)]
    fn rmqueue_drain(&mut self, order: u32) -> Option<Pos> {
        let mut pos = self.rmqueue(order);
        if pos.is_none() && self.cached_pages != 0 && !self.corrupted {
            self.drain_cache();
            if !self.corrupted {
                pos = self.rmqueue(order);
            }
        }
        pos
    }

    /// A block of exactly `order`: from the cache, else from the free lists.
    fn block_take(&mut self, order: u32) -> Option<Pos> {
        if order < self.nr_pcp_orders && self.pcp[order as usize].count != 0 {
            return self.pcp_take(order);
        }
        self.rmqueue_drain(order)
    }

    /// Pages in use only grow on allocation: note a new peak.
    #[inline(always)]
    fn peak_note(&mut self) {
        let used = self.total_pages - self.free_pages - self.cached_pages;
        if used > self.peak_used_pages {
            self.peak_used_pages = used;
        }
    }

    #[inline(always)]
    fn account_alloc(&mut self) {
        self.peak_note();
        self.allocs += 1;
    }

    /// Why no block was found: damage, or a counted failure.
    fn alloc_failed(&mut self) -> Error {
        if !self.corrupted {
            self.failures += 1;
            self.last_error = Error::NoMem.code();
            return Error::NoMem;
        }
        Error::Corrupt
    }

    #[cold]
    fn zero_fill(&self, pos: Pos, bytes: usize) -> NonNull<u8> {
        pos.fill(0, bytes, 0);
        pos.ptr()
    }

    /// The slow path. The C calling convention lets the C ABI's fast path
    /// jump here (a tail call) instead of calling, so that path needs no
    /// stack frame of its own.
    #[inline(never)]
    extern "C" fn alloc_pages_slow(&mut self, order: u32, flags: Flags) -> Option<NonNull<u8>> {
        if self.corrupted {
            self.last_error = Error::Corrupt.code();
            return None;
        }
        if order > self.cfg_max_order {
            self.last_error = Error::MaxOrder.code();
            return None;
        }
        let Some(pos) = self.block_take(order) else {
            self.alloc_failed();
            return None;
        };
        let bytes = self.page_size << order;
        if self.poison && self.poison_check("alloc_pages", pos, bytes).is_err() {
            return None;
        }
        pos.set_pg(PG_HEAD | order as u8);
        self.account_alloc();
        if flags.contains(Flags::ZERO) {
            return Some(self.zero_fill(pos, bytes));
        }
        Some(pos.ptr())
    }

    /// The error of the call that just failed (it set last_error).
    #[cold]
    fn last_failure(&self) -> Error {
        Error::from_code(self.last_error).unwrap_or(Error::NoMem)
    }

    /// 2^order contiguous pages, aligned to their size relative to the
    /// region base. [`Flags::ZERO`] fills them with zero bytes.
    ///
    /// Errors: [`Error::MaxOrder`] for an order above the zone's maximum,
    /// [`Error::NoMem`] when no free block is large enough (counted in
    /// `failures`), [`Error::Corrupt`] once the zone found damage.
    #[inline]
    pub fn alloc_pages(&mut self, order: u32, flags: Flags) -> Result<NonNull<u8>, Error> {
        match self.alloc_pages_opt(order, flags) {
            Some(p) => Ok(p),
            None => Err(self.last_failure()),
        }
    }

    /// [`Zone::alloc_pages`] returning `None` on failure, the reason in
    /// [`Zone::last_error`]: one register, no error value to build (the
    /// form the C ABI uses).
    #[inline]
    pub fn alloc_pages_opt(&mut self, order: u32, flags: Flags) -> Option<NonNull<u8>> {
        let r = self.alloc_pages_opt_body(order, flags);
        self.on_return(r)
    }

    #[inline(always)]
    fn alloc_pages_opt_body(&mut self, order: u32, flags: Flags) -> Option<NonNull<u8>> {
        // Fast path: the newest cached block of this order, when it and the
        // link stored in it (checked: a cached block of this order, pointing
        // back) lie in the last region used; anything unusual goes to the
        // slow path, which checks and reports fully.
        // (Zero-filled requests take the slow path: fewer live values here.)
        if order < self.nr_fast_orders && !self.corrupted && flags == Flags::NONE {
            if let (Some(r), Some(pc)) = (self.hint, self.pcp.get(order as usize)) {
                if let Some(n) = pc.list.first {
                    if let Some(pos) = r.pos_in(n.addr()) {
                        if let Some(next) = self.fast_next(r, n, order) {
                            let pc = &mut self.pcp[order as usize];
                            pc.list.unlink(None, next);
                            pc.count -= 1;
                            self.cached_pages -= 1 << order;
                            pos.set_pg(PG_HEAD | order as u8);
                            self.account_alloc();
                            return Some(n.ptr());
                        }
                    }
                }
            }
        }
        self.alloc_pages_slow(order, flags)
    }

    /// For the fast path: the checked successor of the first cached node n
    /// (Some(None): n is the only node), when everything lies in region r.
    #[inline(always)]
    fn fast_next(&self, r: RegionRef, n: Node, order: u32) -> Option<Option<Node>> {
        if n.prev() != 0 {
            return None;
        }
        let next = n.next();
        if next == 0 {
            return (self.pcp[order as usize].list.last == Some(n)).then_some(None);
        }
        let np = r.pos_at(next)?;
        if np.pg() != PG_CACHED | order as u8 {
            return None;
        }
        let nn = np.node();
        (nn.prev() == n.addr()).then_some(Some(nn))
    }

    /// Keep the first npages of the block of `order` at pos and free the
    /// rest, as alloc_pages_exact does. The kept part becomes the blocks of
    /// npages' binary digits, highest first, chained with PG_MORE; at each
    /// level the working block is split, and its upper half is either freed
    /// (not needed) or becomes the next working block.
    fn trim_exact(&mut self, pos: Pos, order: u32, npages: usize) {
        let r = pos.region();
        let (mut p, mut rest, mut k) = (pos.idx(), npages, order);
        let mut state = PG_HEAD;
        // P7: a chain of more than one block, shorter than the block.
        debug_assert!(npages > 1 && npages < 1 << order && order <= r.max_order());
        while rest != 0 {
            k -= 1;
            let half = 1usize << k;
            if rest >= half {
                rest -= half;
                let more = if rest != 0 { PG_MORE } else { 0 };
                r.page(p).set_pg(state | more | k as u8);
                state = PG_CONT;
                p += half;
            } else {
                let upper = r.page(p + half);
                upper.set_pg(PG_FREE | k as u8);
                self.area_add(k, upper.node());
                upper.map_toggle(k);
            }
        }
        // The working block left over after the last kept block is free (P2:
        // it ends the block).
        debug_assert!(p == pos.idx() + npages && p + (1 << k) <= pos.idx() + (1 << order));
        let last = r.page(p);
        last.set_pg(PG_FREE | k as u8);
        self.area_add(k, last.node());
        last.map_toggle(k);
        let freed = (1usize << order) - npages;
        r.set_free_pages(r.free_pages() + freed);
        self.free_pages += freed;
    }

    /// Exactly npages contiguous pages: a block of the next order up, whose
    /// unused tail pages go back to the free lists (Linux's alloc_pages_exact).
    ///
    /// Errors: [`Error::Count`] for 0 or more than 2^max_order pages, and
    /// those of [`Zone::alloc_pages`].
    pub fn alloc_pages_exact(&mut self, npages: usize, flags: Flags) -> Result<NonNull<u8>, Error> {
        let r = self.alloc_pages_exact_body(npages, flags);
        self.on_return(r)
    }

    #[inline(always)]
    fn alloc_pages_exact_body(
        &mut self,
        npages: usize,
        flags: Flags,
    ) -> Result<NonNull<u8>, Error> {
        if self.corrupted {
            return self.fail(Error::Corrupt);
        }
        if npages == 0 || npages > (1usize << self.cfg_max_order) {
            return self.fail(Error::Count);
        }
        let order = if npages == 1 {
            0
        } else {
            (npages - 1).ilog2() + 1
        };
        if npages.is_power_of_two() {
            return self.alloc_pages(order, flags);
        }
        let Some(pos) = self.rmqueue_drain(order) else {
            return Err(self.alloc_failed());
        };
        self.trim_exact(pos, order, npages);
        let bytes = npages << self.page_shift;
        if self.poison {
            self.poison_check("alloc_pages_exact", pos, bytes)?;
        }
        self.account_alloc();
        if flags.contains(Flags::ZERO) {
            return Ok(self.zero_fill(pos, bytes));
        }
        Ok(pos.ptr())
    }

    /* -------------------------------------------------------------- */
    /* free                                                            */
    /* -------------------------------------------------------------- */

    /// Put the in-use block of `order` at pos back, merging upward while
    /// its buddy is free at the same order:
    ///
    /// ```text
    ///     order k:   [ freed ][ buddy free ]   pair bit 1 -> toggled to 0: merge
    ///     order k+1: [ merged .............]   toggle this pair's bit, and so on
    /// ```
    #[inline(never)]
    fn free_block(&mut self, pos: Pos, mut order: u32) -> Result<(), Error> {
        let r = pos.region();
        let mut idx = pos.idx();
        r.set_free_pages(r.free_pages() + (1 << order));
        self.free_pages += 1 << order;
        pos.set_pg(PG_TAIL);
        while order < r.max_order() {
            // P2: the block being freed is aligned to its order.
            debug_assert!(idx & ((1 << order) - 1) == 0 && idx < r.nr_pages());
            // The pair bit is toggled either way; reading 1 after the toggle
            // means the buddy is in use (or split): no merge.
            let cur = r.page(idx);
            if cur.map_toggle(order) {
                break;
            }
            // P3: the pair bit said the buddy is free: it must be on its list (P4).
            let buddy = idx ^ (1 << order);
            let ba = r.addr(buddy);
            let list = self.free_area[order as usize].list;
            let checked = match r.pos(buddy) {
                Some(_) => self.node_check("free_pages", list, ba, PG_FREE | order as u8),
                None => Err(Error::Corrupt),
            };
            let Ok(l) = checked else {
                cur.map_toggle(order); // damage: the bit stays as it was found
                return Err(self.corrupt("free_pages", BUDDY_NOT_FREE, ba));
            };
            self.area_unlink(order, &l);
            self.poison_fill(l.pos, LINK_BYTES);
            l.pos.set_pg(PG_TAIL);
            idx &= !(1 << order);
            order += 1;
        }
        let head = r.page(idx);
        head.set_pg(PG_FREE | order as u8);
        self.area_add(order, head.node());
        Ok(())
    }

    /// Classify a page that does not start an allocation: inside a free
    /// block means it was freed already; otherwise it is inside an allocation.
    fn classify_bad(pos: Pos) -> Error {
        if pos.pg() & PG_STATE == PG_FREE {
            return Error::Double;
        }
        let r = pos.region();
        for k in 1..=r.max_order() {
            let b = r.page(pos.idx() & !((1usize << k) - 1)).pg();
            if b & PG_STATE != PG_TAIL {
                return if b & PG_STATE == PG_FREE && (b & PG_ORDER) as u32 >= k {
                    Error::Double
                } else {
                    Error::NotBlock
                };
            }
        }
        Error::NotBlock
    }

    /// Find the allocation starting at address a: its first page.
    fn lookup_alloc(&mut self, a: usize) -> Result<Pos, Error> {
        if self.corrupted {
            return Err(Error::Corrupt);
        }
        if a == 0 {
            return Err(Error::Null);
        }
        let r = self.region_find(a).ok_or(Error::Outside)?;
        let pos = r.page((a - r.base()) >> self.page_shift);
        if a & (self.page_size - 1) != 0 {
            return Err(match Self::classify_bad(pos) {
                Error::Double => Error::Double,
                _ => Error::NotBlock,
            });
        }
        if pos.pg() & PG_STATE != PG_HEAD {
            return Err(Self::classify_bad(pos));
        }
        Ok(pos)
    }

    /// lookup_alloc, recording a failure as the last error.
    fn lookup_or_fail(&mut self, a: usize) -> Result<Pos, Error> {
        match self.lookup_alloc(a) {
            Ok(p) => Ok(p),
            Err(e) => self.fail(e),
        }
    }

    /// Pages in the allocation whose first block is at pos (follows PG_MORE).
    fn alloc_pages_count(pos: Pos) -> usize {
        let r = pos.region();
        let mut n = 0;
        loop {
            let b = r.page(pos.idx() + n).pg();
            n += 1 << (b & PG_ORDER);
            if b & PG_MORE == 0 {
                return n;
            }
        }
    }

    fn free_alloc(&mut self, pos: Pos) -> Result<(), Error> {
        let b = pos.pg();
        if self.poison {
            let bytes = Self::alloc_pages_count(pos) << self.page_shift;
            pos.fill(0, bytes, POISON_BYTE);
        }
        self.frees += 1;
        let order = (b & PG_ORDER) as u32;
        if b & PG_MORE == 0 && order < self.nr_pcp_orders {
            return self.pcp_put(pos, order);
        }
        let r = pos.region();
        let mut idx = pos.idx();
        loop {
            let p = r.page(idx);
            let b = p.pg();
            self.free_block(p, (b & PG_ORDER) as u32)?;
            idx += 1 << (b & PG_ORDER);
            if b & PG_MORE == 0 {
                return Ok(());
            }
        }
    }

    /// Look up the allocation starting at ptr without changing it: its
    /// pages and its region's owner. Errors as [`Zone::free`] would fail.
    pub fn alloc_info(&mut self, ptr: *const u8) -> Result<AllocInfo, Error> {
        let pos = self.lookup_or_fail(ptr.addr())?;
        Ok(Self::info_of(pos))
    }

    /// [`Zone::free`] that also says what it freed (on success).
    pub fn free_info(&mut self, ptr: *mut u8) -> Result<AllocInfo, Error> {
        let r = self.free_info_body(ptr);
        self.on_return(r)
    }

    #[inline(always)]
    fn free_info_body(&mut self, ptr: *mut u8) -> Result<AllocInfo, Error> {
        let pos = self.lookup_or_fail(ptr.addr())?;
        let info = Self::info_of(pos);
        self.free_alloc(pos)?;
        Ok(info)
    }

    fn info_of(pos: Pos) -> AllocInfo {
        AllocInfo {
            nr_pages: Self::alloc_pages_count(pos),
            owner: pos.region().owner(),
        }
    }

    /// Attach an owner word to the region starting at `base` (a layer above
    /// keeps its per-region record there; 0 detaches). [`Error::Outside`]
    /// when no region starts at `base`, [`Error::Null`] for a null base.
    pub fn set_region_owner(&mut self, base: *mut u8, owner: usize) -> Result<(), Error> {
        if self.corrupted {
            return self.fail(Error::Corrupt);
        }
        if base.is_null() {
            return self.fail(Error::Null);
        }
        let found = self.regions().find(|r| r.base() == base.addr());
        match found {
            Some(r) => {
                r.set_owner(owner);
                Ok(())
            }
            None => self.fail(Error::Outside),
        }
    }

    /// The owner word of the region holding `addr` (any byte of its pages),
    /// or 0 when addr lies outside every region or the region has none.
    pub fn region_owner(&self, addr: *const u8) -> usize {
        self.region_lookup(addr.addr()).map_or(0, RegionRef::owner)
    }

    /// Free any allocation by its address; the size is looked up.
    ///
    /// Errors: [`Error::Null`], [`Error::Outside`] (not in any region),
    /// [`Error::Double`] (already free), [`Error::NotBlock`] (inside an
    /// allocation, not its start), [`Error::Corrupt`].
    pub fn free(&mut self, ptr: *mut u8) -> Result<(), Error> {
        let r = self.free_body(ptr);
        self.on_return(r)
    }

    #[inline(always)]
    fn free_body(&mut self, ptr: *mut u8) -> Result<(), Error> {
        let pos = self.lookup_or_fail(ptr.addr())?;
        self.free_alloc(pos)
    }

    #[inline(never)]
    fn free_pages_slow(&mut self, a: usize, order: u32) -> Result<(), Error> {
        let pos = self.lookup_or_fail(a)?;
        let b = pos.pg();
        if b & PG_MORE != 0 || (b & PG_ORDER) as u32 != order {
            return self.fail(Error::Order);
        }
        self.free_alloc(pos)
    }

    /// Free a block allocated by [`Zone::alloc_pages`] with this order.
    ///
    /// Errors: those of [`Zone::free`], and [`Error::Order`] when the
    /// allocation has another order or is an exact one.
    #[inline]
    pub fn free_pages(&mut self, ptr: *mut u8, order: u32) -> Result<(), Error> {
        let r = self.free_pages_body(ptr, order);
        self.on_return(r)
    }

    #[inline(always)]
    fn free_pages_body(&mut self, ptr: *mut u8, order: u32) -> Result<(), Error> {
        let a = ptr.addr();
        // Fast path: a single block of a cached order in the last region used
        // goes straight onto the cache list; everything else takes the checked path.
        if order < self.nr_fast_orders && !self.corrupted {
            if let Some(r) = self.hint {
                if let Some(pos) = r.pos_at(a) {
                    if pos.pg() == PG_HEAD | order as u8 {
                        self.frees += 1;
                        return self.pcp_put(pos, order);
                    }
                }
            }
        }
        self.free_pages_slow(a, order)
    }

    /// Free an allocation of npages made by [`Zone::alloc_pages_exact`].
    ///
    /// Errors: those of [`Zone::free`], and [`Error::Order`] when the
    /// allocation holds another number of pages.
    pub fn free_pages_exact(&mut self, ptr: *mut u8, npages: usize) -> Result<(), Error> {
        let r = self.free_pages_exact_body(ptr, npages);
        self.on_return(r)
    }

    #[inline(always)]
    fn free_pages_exact_body(&mut self, ptr: *mut u8, npages: usize) -> Result<(), Error> {
        let pos = self.lookup_or_fail(ptr.addr())?;
        if Self::alloc_pages_count(pos) != npages {
            return self.fail(Error::Order);
        }
        self.free_alloc(pos)
    }

    /// Pages held by the allocation starting at ptr (2^order, or npages for
    /// an exact allocation). Errors as [`Zone::free`].
    pub fn alloc_size(&mut self, ptr: *const u8) -> Result<usize, Error> {
        let a = ptr.addr();
        // Fast path: the start of a single-block allocation in the last region used.
        if let Some(r) = self.hint {
            if let Some(pos) = r.pos_at(a) {
                let b = pos.pg();
                if b & (PG_STATE | PG_MORE) == PG_HEAD && !self.corrupted {
                    return Ok(1 << (b & PG_ORDER));
                }
            }
        }
        let pos = self.lookup_or_fail(a)?;
        Ok(Self::alloc_pages_count(pos))
    }

    /* -------------------------------------------------------------- */
    /* in-place resize                                                 */
    /* -------------------------------------------------------------- */

    /// Can the block of `order` at pos absorb its upper buddies up to
    /// new_order? Each buddy must be whole: a free or a cached block of its order.
    fn can_grow(pos: Pos, order: u32, new_order: u32) -> bool {
        let r = pos.region();
        if new_order > r.max_order() || pos.idx() & ((1usize << new_order) - 1) != 0 {
            return false;
        }
        (order..new_order).all(|k| match r.pos(pos.idx() + (1 << k)) {
            Some(b) => b.pg() == PG_FREE | k as u8 || b.pg() == PG_CACHED | k as u8,
            None => false,
        })
    }

    /// The list a whole free or cached buddy of order k is on.
    fn buddy_list(&self, b: Pos, k: u32) -> List {
        if b.pg() == PG_FREE | k as u8 {
            self.free_area[k as usize].list
        } else {
            self.pcp[k as usize].list
        }
    }

    /// Absorb the upper buddies of the block of `order` at pos until it has
    /// new_order. A buddy on a free list leaves it (toggling its pair bit);
    /// a cached buddy leaves its cache list (its bit already reads "in
    /// use"). Only when a buddy is cut into smaller cached pieces is the
    /// cache drained first. Nothing changes unless every buddy is whole and
    /// its links check out.
    fn block_grow(&mut self, pos: Pos, order: u32, new_order: u32) -> Result<(), Error> {
        if !Self::can_grow(pos, order, new_order) && self.cached_pages != 0 {
            self.drain_cache();
        }
        if self.corrupted {
            return Err(Error::Corrupt);
        }
        if !Self::can_grow(pos, order, new_order) {
            return self.fail(Error::NoMem);
        }
        let r = pos.region();
        for k in order..new_order {
            let b = r.page(pos.idx() + (1 << k));
            let list = self.buddy_list(b, k);
            self.node_check("resize", list, b.addr(), b.pg())?;
            if self.poison {
                self.poison_check("resize", b, self.page_size << k)?;
            }
        }
        for k in order..new_order {
            let b = r.page(pos.idx() + (1 << k));
            let list = self.buddy_list(b, k);
            let l = self.node_check("resize", list, b.addr(), b.pg())?;
            if b.pg() == PG_FREE | k as u8 {
                self.area_unlink(k, &l);
                b.map_toggle(k);
                r.set_free_pages(r.free_pages() - (1 << k));
                self.free_pages -= 1 << k;
            } else {
                let pc = &mut self.pcp[k as usize];
                pc.list.unlink(l.prev, l.next);
                pc.count -= 1;
                self.cached_pages -= 1 << k;
            }
            b.set_pg(PG_TAIL);
        }
        self.peak_note();
        Ok(())
    }

    /// Change the order of an allocated block in place: shrinking splits
    /// off the upper halves; growing absorbs free buddies above the block.
    ///
    /// Errors: those of [`Zone::free`]; [`Error::Order`] for an exact
    /// allocation; [`Error::MaxOrder`]; [`Error::NoMem`] (nothing changed)
    /// when the buddies above are not all whole free or cached blocks.
    pub fn resize(&mut self, ptr: *mut u8, new_order: u32) -> Result<(), Error> {
        let r = self.resize_body(ptr, new_order);
        self.on_return(r)
    }

    #[inline(always)]
    fn resize_body(&mut self, ptr: *mut u8, new_order: u32) -> Result<(), Error> {
        let pos = self.lookup_or_fail(ptr.addr())?;
        let b = pos.pg();
        if b & PG_MORE != 0 {
            return self.fail(Error::Order); // exact allocations do not resize
        }
        if new_order > self.cfg_max_order {
            return self.fail(Error::MaxOrder);
        }
        let order = (b & PG_ORDER) as u32;
        if new_order < order {
            let keep = self.page_size << new_order;
            self.poison_fill_from(pos, keep, (self.page_size << order) - keep);
            self.expand(pos, new_order, order);
            let freed = (1usize << order) - (1usize << new_order);
            let r = pos.region();
            r.set_free_pages(r.free_pages() + freed);
            self.free_pages += freed;
        } else if new_order > order {
            self.block_grow(pos, order, new_order)?;
        }
        pos.set_pg(PG_HEAD | new_order as u8);
        Ok(())
    }

    /// Copy len bytes between two blocks of the zone (for a moving realloc).
    pub(crate) fn copy_bytes(&self, dst: usize, src: usize, len: usize) {
        let d = self.region_lookup(dst).and_then(|r| r.pos_at(dst));
        let s = self.region_lookup(src).and_then(|r| r.pos_at(src));
        if let (Some(d), Some(s)) = (d, s) {
            d.copy_from(s, len);
        }
    }

    fn poison_fill_from(&self, pos: Pos, off: usize, len: usize) {
        if self.poison {
            pos.fill(off, len, POISON_BYTE);
        }
    }
}

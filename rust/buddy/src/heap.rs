// SPDX-License-Identifier: MIT
//! A byte heap on the page allocator, as the C library's buddy heap: the
//! heap's zone uses a "page" of `min_block` bytes (16 by default), so a
//! block of order k is `min_block << k` bytes. Every request is rounded up
//! to such a power of two (and to its alignment); no header precedes a
//! block, since the zone knows each allocation's order. Blocks are aligned
//! to their size relative to their region's base, so a request can be
//! aligned up to the base alignment of every region (4096 bytes for memory
//! of 64 KiB and more).
//!
//! Frees check the pointer completely (never handed out, already free,
//! inside a block, wrong size) and refuse bad ones without changing
//! anything. `realloc` grows in place when the buddies above are free and
//! shrinks in place by splitting. Freed blocks of up to 4 KiB go to the
//! zone's page cache (32 per size) before they merge.

use core::alloc::Layout;
use core::ptr::NonNull;

use crate::error::{Error, ErrorKind};
use crate::zone::{Config, Flags, Zone};

/// Smallest block of a heap, in bytes.
pub const MIN_BLOCK: usize = 16;

const HEAP_CONFIG: Config<'static> = Config {
    page_size: MIN_BLOCK,
    max_order: None,
    name: "heap",
    pcp_high: 32,
    pcp_max_order: 8, // 16 << 8 = 4 KiB
    poison: false,
    on_error: None,
    error_arg: 0,
};

/// A byte heap over memory handed to it (not thread-safe: see
/// [`LockedHeap`](crate::LockedHeap)).
pub struct Heap {
    zone: Zone,
    max_align: usize, // the base alignment of the least aligned region
}

/// The name of a misuse, for messages: the kind's name ("double free",
/// ...), or for a wrong layout, what exactly is wrong.
pub(crate) fn misuse_name(e: Error) -> &'static str {
    match e {
        Error::Order => "size mismatch",
        _ => ErrorKind::of(e).name(),
    }
}

impl Default for Heap {
    fn default() -> Self {
        Heap::new()
    }
}

impl Heap {
    /// An empty heap (16-byte smallest block); give it memory with
    /// [`Heap::add_memory`] or [`Heap::add_memory_static`].
    pub const fn new() -> Heap {
        match Zone::new(&HEAP_CONFIG) {
            Ok(zone) => Heap {
                zone,
                max_align: 1 << (usize::BITS - 1),
            },
            Err(_) => panic!("the heap's configuration is valid"),
        }
    }

    /// The zone under the heap: statistics, buddyinfo, the walk, the check.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    pub(crate) fn zone_mut(&mut self) -> &mut Zone {
        &mut self.zone
    }

    /// Where in [a, a + len) a region goes: (offset, usable length), or None
    /// when nothing is left after aligning.
    pub(crate) fn memory_plan(&self, a: usize, len: usize) -> Option<(usize, usize)> {
        let align = if len >= 64 << 10 { 4096 } else { MIN_BLOCK };
        let skip = a.wrapping_neg() & (align - 1);
        let usable = len.checked_sub(skip)? & !(MIN_BLOCK - 1);
        (usable > 0).then_some((skip, usable))
    }

    /// Note a region added at base: requests may be aligned up to its alignment.
    pub(crate) fn note_region(&mut self, base: usize) {
        let align = 1usize << base.trailing_zeros().min(usize::BITS - 1);
        self.max_align = self.max_align.min(align);
    }

    /// The order of the block that serves `layout`, if one can.
    fn order_of(&self, layout: Layout) -> Option<u32> {
        if layout.align() > self.max_align {
            return None;
        }
        let bytes = layout.size().max(layout.align()).max(1);
        let units = bytes.div_ceil(MIN_BLOCK);
        Some(units.next_power_of_two().trailing_zeros())
    }

    /// A block for `layout` (its size rounded up to a power of two), or
    /// [`Error::NoMem`] (also for an alignment no region can give).
    pub fn alloc(&mut self, layout: Layout) -> Result<NonNull<u8>, Error> {
        let order = self.order_of(layout).ok_or(Error::NoMem)?;
        self.zone
            .alloc_pages(order, Flags::NONE)
            .map_err(|_| Error::NoMem)
    }

    /// As [`Heap::alloc`], the block filled with zero bytes.
    pub fn alloc_zeroed(&mut self, layout: Layout) -> Result<NonNull<u8>, Error> {
        let order = self.order_of(layout).ok_or(Error::NoMem)?;
        self.zone
            .alloc_pages(order, Flags::ZERO)
            .map_err(|_| Error::NoMem)
    }

    /// Free a block allocated with this layout. Errors (nothing changes):
    /// [`Error::Outside`] for a pointer the heap never handed out,
    /// [`Error::Double`], [`Error::NotBlock`] (inside a block),
    /// [`Error::Order`] (allocated with another size), [`Error::Null`].
    pub fn dealloc(&mut self, ptr: *mut u8, layout: Layout) -> Result<(), Error> {
        match self.order_of(layout) {
            Some(order) => self.zone.free_pages(ptr, order),
            None => self.zone.free_pages(ptr, u32::MAX),
        }
    }

    /// Free a block by its address alone (its size is looked up). Errors as
    /// [`Heap::dealloc`], without [`Error::Order`].
    pub fn free(&mut self, ptr: *mut u8) -> Result<(), Error> {
        self.zone.free(ptr)
    }

    /// Bytes usable in the block at ptr (its size as allocated, rounded up).
    pub fn usable_size(&mut self, ptr: *const u8) -> Result<usize, Error> {
        Ok(self.zone.alloc_size(ptr)? * MIN_BLOCK)
    }

    /// Resize the block at ptr (allocated with `layout`) to `new_size` bytes
    /// at the same alignment: in place when its order stays, shrinks, or can
    /// grow over free buddies; otherwise moved (contents kept up to the
    /// smaller size). [`Error::NoMem`] leaves the old block as it was; other
    /// errors are those of [`Heap::dealloc`].
    pub fn realloc(
        &mut self,
        ptr: *mut u8,
        layout: Layout,
        new_size: usize,
    ) -> Result<NonNull<u8>, Error> {
        let new_layout =
            Layout::from_size_align(new_size, layout.align()).map_err(|_| Error::NoMem)?;
        let old = self.order_of(layout).unwrap_or(u32::MAX);
        let new = self.order_of(new_layout).ok_or(Error::NoMem)?;
        // Validate the old block first: a bad pointer must change nothing.
        let pages = self.zone.alloc_size(ptr)?;
        if pages != 1usize << old.min(usize::BITS - 1) {
            return Err(Error::Order);
        }
        match self.zone.resize(ptr, new) {
            Ok(()) => return NonNull::new(ptr).ok_or(Error::Null),
            Err(Error::NoMem | Error::MaxOrder) => {}
            Err(e) => return Err(e),
        }
        let q = self
            .zone
            .alloc_pages(new, Flags::NONE)
            .map_err(|_| Error::NoMem)?;
        self.zone
            .copy_bytes(q.as_ptr().addr(), ptr.addr(), layout.size().min(new_size));
        self.zone.free_pages(ptr, old)?;
        Ok(q)
    }
}

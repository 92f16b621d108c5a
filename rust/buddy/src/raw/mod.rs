// SPDX-License-Identifier: MIT
//! Every `unsafe` of the crate lives under this module (the crate denies
//! `unsafe_code` everywhere else):
//!
//! - [`mem`]: the region metadata and the list links in free blocks, the
//!   only code that reads or writes memory handed to a zone;
//! - the zone's entry points that take raw memory ([`Zone::add_region`]) or
//!   give back the `'static` slices they were handed;
//! - [`SpinLock`], built on an atomic flag, and the global allocator types
//!   ([`LockedHeap`], [`Arena`]).
//!
//! The soundness argument: a zone owns its regions' memory and metadata
//! from the moment [`Zone::add_region`]'s caller hands them over until the
//! region is removed. `mem`'s handles are made only for live regions and
//! check every page index they are given, and the zone validates every
//! link it reads from memory before following it.

mod global;
pub(crate) mod mem;
mod sync;

pub use global::{Arena, HeapGuard, LockedHeap};
pub use sync::{SpinGuard, SpinLock};

use crate::error::Error;
use crate::heap::Heap;
use crate::zone::Zone;
use mem::{RegionLayout, RegionRef};

// SAFETY: a zone owns its regions' memory and metadata exclusively (the
// contract of add_region); moving the zone to another thread moves that
// ownership with it, and nothing in it is tied to a thread.
unsafe impl Send for Zone {}

/// The memory of a region added with [`Zone::add_region_static`], given
/// back by [`Zone::remove_region_static`].
#[derive(Debug)]
pub struct StaticRegion {
    /// The region's memory, as it was handed in.
    pub mem: &'static mut [u8],
    /// Its separate metadata buffer, if it had one.
    pub meta: Option<&'static mut [u8]>,
}

impl Zone {
    /// Add the region `[base, base + len)` to the zone. `base` and `len`
    /// must be multiples of the page size. The metadata goes in `meta`
    /// (pointer and length: 8-byte aligned, at least
    /// [`Zone::meta_size`]`(len)` bytes); with `None` it is carved from the
    /// end of the region itself, behind a guard of unused pages (one page,
    /// or 64 bytes of smaller pages) that an overflow past the last block
    /// meets first, and the region shrinks by the guard and metadata pages.
    ///
    /// Errors: [`Error::Null`], [`Error::Align`], [`Error::Small`],
    /// [`Error::Meta`], [`Error::Overlap`], [`Error::Corrupt`].
    ///
    /// # Safety
    ///
    /// Both ranges must be valid for reads and writes and belong to the zone
    /// alone from this call until the region is removed (or the zone is
    /// dropped, after which nothing may use the pages it handed out).
    pub unsafe fn add_region(
        &mut self,
        base: *mut u8,
        len: usize,
        meta: Option<(*mut u8, usize)>,
    ) -> Result<(), Error> {
        // SAFETY: the caller's contract is this function's.
        unsafe { self.add_region_ex(base, len, meta, false) }
    }

    /// [`Zone::add_region`] for metadata memory known to hold only zero
    /// bytes (fresh from mmap, say): it is not cleared, which for a large
    /// region saves touching every metadata page.
    ///
    /// # Safety
    ///
    /// As [`Zone::add_region`]; with `meta_zeroed`, every metadata byte is 0.
    pub unsafe fn add_region_ex(
        &mut self,
        base: *mut u8,
        len: usize,
        meta: Option<(*mut u8, usize)>,
        meta_zeroed: bool,
    ) -> Result<(), Error> {
        // SAFETY: the caller's contract is this function's.
        unsafe { self.add_region_raw(base, len, meta, meta_zeroed, false) }
    }

    /// # Safety
    ///
    /// As [`Zone::add_region`].
    unsafe fn add_region_raw(
        &mut self,
        base: *mut u8,
        len: usize,
        meta: Option<(*mut u8, usize)>,
        meta_zeroed: bool,
        is_static: bool,
    ) -> Result<(), Error> {
        let plan = self.region_plan(base.addr(), len, meta.map(|(p, l)| (p.addr(), l)))?;
        let meta_ptr = match meta {
            Some((p, _)) => p,
            None => base.wrapping_add(plan.meta - base.addr()),
        };
        let layout = RegionLayout {
            base,
            nr_pages: plan.nr_pages,
            shift: self.page_shift,
            id: self.next_region_id,
            max_order: plan.max_order,
            meta: meta_ptr,
            meta_bytes: plan.meta_bytes,
            skip: plan.skip,
            meta_zeroed,
            carved: plan.carved,
            is_static,
        };
        // SAFETY: region_plan checked what setup needs of the numbers (8-byte
        // aligned metadata of at least meta_size bytes, disjoint from the
        // region and from every other region and its metadata; a page-aligned
        // region of whole pages, shift >= 4); the caller vouches for the memory.
        let r = unsafe { RegionRef::setup(&layout) };
        self.region_insert(r);
        self.on_return(Ok(()))
    }

    /// [`Zone::add_region`] for memory the zone may keep forever: safe, and
    /// [`Zone::remove_region_static`] gives the slices back. `meta: None`
    /// carves the metadata from the region's tail.
    pub fn add_region_static(
        &mut self,
        mem: &'static mut [u8],
        meta: Option<&'static mut [u8]>,
    ) -> Result<(), Error> {
        let meta = meta.map(|m| (m.as_mut_ptr(), m.len()));
        // SAFETY: 'static exclusive borrows: the memory is valid and ours for
        // good; remove_region_static is the only way back out.
        unsafe { self.add_region_raw(mem.as_mut_ptr(), mem.len(), meta, false, true) }
    }

    /// Take a wholly free region out of the zone, by its base address. Fails
    /// with [`Error::Busy`] while any of its pages is allocated, changing
    /// nothing (blocks in the page cache count as free: they are drained
    /// only when the region goes), [`Error::Outside`] when no region starts
    /// at `base`.
    pub fn remove_region(&mut self, base: *mut u8) -> Result<(), Error> {
        let r = self.region_remove(base.addr()).map(|_| ());
        self.on_return(r)
    }

    /// Remove a region added with [`Zone::add_region_static`] and give its
    /// memory back. [`Error::Outside`] when no such region starts at `base`;
    /// otherwise as [`Zone::remove_region`].
    pub fn remove_region_static(&mut self, base: *mut u8) -> Result<StaticRegion, Error> {
        let a = base.addr();
        if !self.regions().any(|r| r.base() == a && r.is_static()) && a != 0 && !self.corrupted {
            self.last_error = Error::Outside.code();
            return Err(Error::Outside);
        }
        let removed = self.region_remove(a);
        let r = self.on_return(removed)?;
        let pages = r.nr_pages() << self.page_shift;
        let mem_len = if r.carved() {
            pages + r.meta_bytes()
        } else {
            pages
        };
        let p = core::ptr::with_exposed_provenance_mut::<u8>(r.base());
        // SAFETY: the region came from add_region_static, so [base, base +
        // mem_len) is exactly the 'static mut slice it was handed (the carved
        // metadata is its tail), and the zone no longer uses it.
        let mem = unsafe { core::slice::from_raw_parts_mut(p, mem_len) };
        let meta = if r.carved() {
            None
        } else {
            // SAFETY: likewise for the separate metadata slice, whose pointer
            // the header kept.
            Some(unsafe { core::slice::from_raw_parts_mut(r.meta_ptr(), r.meta_bytes()) })
        };
        Ok(StaticRegion { mem, meta })
    }
}

impl Heap {
    /// Give the heap the memory `[ptr, ptr + len)`. The start is aligned up
    /// (to 4096 bytes when `len` is at least 64 KiB, else to the smallest
    /// block) and the metadata is carved from the end.
    ///
    /// Errors: those of [`Zone::add_region`] (mostly [`Error::Small`]).
    ///
    /// # Safety
    ///
    /// The memory must be valid for reads and writes and belong to the heap
    /// alone for as long as the heap or any block it handed out is in use.
    pub unsafe fn add_memory(&mut self, ptr: *mut u8, len: usize) -> Result<(), Error> {
        let (skip, usable) = self.memory_plan(ptr.addr(), len).ok_or(Error::Small)?;
        // SAFETY: [ptr + skip, ptr + skip + usable) lies inside the caller's memory.
        let base = unsafe { ptr.add(skip) };
        // SAFETY: the caller hands us this memory for good.
        unsafe { self.zone_mut().add_region(base, usable, None) }?;
        self.note_region(base.addr());
        Ok(())
    }

    /// [`Heap::add_memory`] for memory the heap may keep forever (safe).
    pub fn add_memory_static(&mut self, mem: &'static mut [u8]) -> Result<(), Error> {
        // SAFETY: a 'static exclusive borrow is valid and ours for good.
        unsafe { self.add_memory(mem.as_mut_ptr(), mem.len()) }
    }
}

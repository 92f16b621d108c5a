// SPDX-License-Identifier: MIT
//! A binary buddy page allocator over memory you hand it, in the style of
//! the Linux kernel's physical page allocator, with a byte heap and a
//! global allocator on top. `no_std`, no dependencies, stable Rust.
//!
//! This crate is the Rust port of the C library's page allocator core:
//! the same algorithm and metadata layout, and the same results for the
//! same calls (a differential test runs both side by side).
//!
//! - [`Zone`]: the page allocator. A zone manages regions of any
//!   page-multiple length, carved into naturally aligned blocks of 2^order
//!   pages. Free blocks sit on one circular doubly linked list per order,
//!   with the links stored inside the free blocks; one bit per buddy pair
//!   per order decides merges; a mask of non-empty orders finds a block with
//!   one count-trailing-zeros. Allocation and free are O(max order).
//! - [`Heap`]: a byte heap on a zone of 16-byte "pages".
//! - [`LockedHeap`]: the heap behind a [`SpinLock`], implementing
//!   `GlobalAlloc`, so it can be a program's `#[global_allocator]`.
//!
//! ```
//! use buddy::{Config, Flags, Zone};
//!
//! let mem: &'static mut [u8] = Box::leak(vec![0u8; 20 * 4096].into_boxed_slice());
//! let off = mem.as_ptr().align_offset(4096);
//! let mut zone = Zone::new(&Config::new()).unwrap();
//! zone.add_region_static(&mut mem[off..off + 16 * 4096], None).unwrap();
//!
//! let a = zone.alloc_pages(0, Flags::NONE).unwrap(); // one page
//! let b = zone.alloc_pages_exact(3, Flags::ZERO).unwrap(); // three zeroed pages
//! assert_eq!(zone.free_pages(a.as_ptr(), 2), Err(buddy::Error::Order));
//! zone.free_pages(a.as_ptr(), 0).unwrap();
//! zone.free(b.as_ptr()).unwrap();
//! assert_eq!(zone.check(&mut |msg| panic!("{msg}")), 0);
//! ```
//!
//! Errors are [`Error`] values, one per status of the C core. A call that
//! fails changes nothing. Damage to the links stored in free blocks is
//! caught before a link is followed; the zone then refuses every change
//! with [`Error::Corrupt`] rather than hand out overlapping memory.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(test)]
extern crate std;

mod check;
mod error;
mod fmtbuf;
mod heap;
mod info;
#[allow(unsafe_code)]
mod raw;
mod zone;

pub use error::{status_text, Error, ErrorKind, ALL_ERRORS};
pub use heap::{Heap, MIN_BLOCK};
pub use info::{Block, BlockState, Blocks, BuddyInfo, RegionInfo, Stats};
pub use raw::{Arena, HeapGuard, LockedHeap, SpinGuard, SpinLock, StaticRegion};
pub use zone::{
    AllocInfo, Config, ErrorFn, ErrorReport, Flags, Zone, MAX_ORDER, NAME_MAX, NR_ORDERS,
    NR_PCP_ORDERS, NR_REGION_INDEX, PAGE_SIZE_DEFAULT, PAGE_SIZE_MIN, PCP_MAX_ORDER, POISON_BYTE,
};

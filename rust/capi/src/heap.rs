// SPDX-License-Identifier: MIT
//! The Rust byte heap ([`buddy::Heap`]) for C, as `struct brust_heap`: the
//! malloc family over one buffer the caller hands in, so that `buddy replay`
//! can run real-program traces on the Rust port beside the C heaps.
//!
//! C's conventions where the Rust API takes a layout: `malloc` blocks are
//! aligned to 16 bytes (`max_align_t`), `realloc` and `free` find a block's
//! size themselves, `realloc(p, 0)` frees and returns NULL (as glibc's does),
//! and a failed call returns NULL or a nonzero status, changing nothing.

use core::alloc::Layout;
use core::ffi::{c_int, c_void};
use core::ptr;

use buddy::{Error, Heap};

use crate::{check_out, stats_out, BrustStats, ReportCb, ENULL};

/// Alignment of every block `malloc` returns (`alignof(max_align_t)`).
const MALLOC_ALIGN: usize = 16;

/// A heap and the status of its last failed call.
pub struct BrustHeap {
    heap: Heap,
    last_error: c_int,
}

impl BrustHeap {
    fn fail(&mut self, e: Error) -> *mut c_void {
        self.last_error = e.code();
        ptr::null_mut()
    }

    fn alloc(&mut self, layout: Result<Layout, Error>, zero: bool) -> *mut c_void {
        let r = layout.and_then(|l| {
            if zero {
                self.heap.alloc_zeroed(l)
            } else {
                self.heap.alloc(l)
            }
        });
        match r {
            Ok(p) => p.as_ptr().cast(),
            Err(e) => self.fail(e),
        }
    }
}

/// The heap behind a C pointer.
///
/// # Safety
///
/// `h` is NULL or a live heap from [`brust_heap_create`] that no other call uses now.
unsafe fn hmut<'a>(h: *mut BrustHeap) -> Option<&'a mut BrustHeap> {
    // SAFETY: the caller's contract.
    unsafe { h.as_mut() }
}

fn layout(size: usize, align: usize) -> Result<Layout, Error> {
    Layout::from_size_align(size, align).map_err(|_| Error::NoMem)
}

/// A heap over `[mem, mem + len)` (its metadata carved from the end), or
/// NULL with `*status` set (`BUDDY_ESMALL` when nothing fits).
///
/// # Safety
///
/// `mem` is valid for reads and writes of `len` bytes and belongs to the
/// heap until [`brust_heap_destroy`]; `status` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn brust_heap_create(
    mem: *mut c_void,
    len: usize,
    status: *mut c_int,
) -> *mut BrustHeap {
    let mut st = ENULL;
    if !mem.is_null() {
        let mut h = Box::new(BrustHeap {
            heap: Heap::new(),
            last_error: 0,
        });
        // SAFETY: the caller hands the memory over (the heap does not move
        // once boxed, and the zone keeps no pointer to itself before this).
        match unsafe { h.heap.add_memory(mem.cast(), len) } {
            Ok(()) => st = 0,
            Err(e) => st = e.code(),
        }
        if st == 0 {
            if !status.is_null() {
                // SAFETY: the caller gives NULL or a writable int.
                unsafe { *status = 0 };
            }
            return Box::into_raw(h);
        }
    }
    if !status.is_null() {
        // SAFETY: as above.
        unsafe { *status = st };
    }
    ptr::null_mut()
}

/// Free a heap made by [`brust_heap_create`] (NULL: nothing); its memory
/// goes back to the caller.
///
/// # Safety
///
/// `h` is NULL or a heap from [`brust_heap_create`], not used again.
#[no_mangle]
pub unsafe extern "C" fn brust_heap_destroy(h: *mut BrustHeap) {
    if !h.is_null() {
        // SAFETY: it came from Box::into_raw in brust_heap_create.
        drop(unsafe { Box::from_raw(h) });
    }
}

/// `malloc`: at least `size` bytes aligned to 16, or NULL.
///
/// # Safety
///
/// `h` is NULL or a live heap.
#[no_mangle]
pub unsafe extern "C" fn brust_heap_malloc(h: *mut BrustHeap, size: usize) -> *mut c_void {
    // SAFETY: the caller's contract.
    unsafe { hmut(h) }.map_or(ptr::null_mut(), |h| {
        h.alloc(layout(size, MALLOC_ALIGN), false)
    })
}

/// `calloc`: `n * size` zero bytes, or NULL (also when the product overflows).
///
/// # Safety
///
/// `h` is NULL or a live heap.
#[no_mangle]
pub unsafe extern "C" fn brust_heap_calloc(
    h: *mut BrustHeap,
    n: usize,
    size: usize,
) -> *mut c_void {
    // SAFETY: the caller's contract.
    unsafe { hmut(h) }.map_or(ptr::null_mut(), |h| {
        let bytes = n.checked_mul(size).ok_or(Error::NoMem);
        h.alloc(bytes.and_then(|b| layout(b, MALLOC_ALIGN)), true)
    })
}

/// `aligned_alloc`: `size` bytes at a multiple of `align`, or NULL (also
/// for an alignment that is not a power of two, or above the buffer's).
///
/// # Safety
///
/// `h` is NULL or a live heap.
#[no_mangle]
pub unsafe extern "C" fn brust_heap_aligned_alloc(
    h: *mut BrustHeap,
    align: usize,
    size: usize,
) -> *mut c_void {
    // SAFETY: the caller's contract.
    unsafe { hmut(h) }.map_or(ptr::null_mut(), |h| {
        // Checked before raising it to 16: 3 is refused, not served at 16.
        let align = if align.is_power_of_two() {
            Ok(align.max(MALLOC_ALIGN))
        } else {
            Err(Error::NoMem)
        };
        h.alloc(align.and_then(|a| layout(size, a)), false)
    })
}

/// `free`: 0, or the status of a pointer the heap refuses (nothing changes).
/// NULL frees nothing.
///
/// # Safety
///
/// `h` is NULL or a live heap.
#[no_mangle]
pub unsafe extern "C" fn brust_heap_free(h: *mut BrustHeap, p: *mut c_void) -> c_int {
    // SAFETY: the caller's contract.
    let Some(h) = (unsafe { hmut(h) }) else {
        return ENULL;
    };
    if p.is_null() {
        return 0;
    }
    match h.heap.free(p.cast()) {
        Ok(()) => 0,
        Err(e) => {
            h.last_error = e.code();
            e.code()
        }
    }
}

/// `realloc`: the block resized (in place when its buddies allow, else
/// moved with its bytes kept up to the smaller size); NULL `p` allocates;
/// size 0 frees and returns NULL. On failure NULL, the old block unchanged.
///
/// # Safety
///
/// `h` is NULL or a live heap.
#[no_mangle]
pub unsafe extern "C" fn brust_heap_realloc(
    h: *mut BrustHeap,
    p: *mut c_void,
    size: usize,
) -> *mut c_void {
    // SAFETY: the caller's contract.
    let Some(h) = (unsafe { hmut(h) }) else {
        return ptr::null_mut();
    };
    if p.is_null() {
        return h.alloc(layout(size, MALLOC_ALIGN), false);
    }
    if size == 0 {
        if let Err(e) = h.heap.free(p.cast()) {
            h.last_error = e.code();
        }
        return ptr::null_mut();
    }
    let old = match h.heap.usable_size(p.cast()) {
        Ok(n) => n,
        Err(e) => return h.fail(e),
    };
    // The block's whole size as its layout: the heap then finds its order
    // again (a power of two of 16-byte units) and keeps every byte.
    let r = layout(old, MALLOC_ALIGN).and_then(|l| h.heap.realloc(p.cast(), l, size));
    match r {
        Ok(q) => q.as_ptr().cast(),
        Err(e) => h.fail(e),
    }
}

/// Bytes usable in the block at `p`, or 0 for NULL or a pointer the heap
/// did not hand out.
///
/// # Safety
///
/// `h` is NULL or a live heap.
#[no_mangle]
pub unsafe extern "C" fn brust_heap_usable_size(h: *mut BrustHeap, p: *const c_void) -> usize {
    // SAFETY: the caller's contract.
    unsafe { hmut(h) }.map_or(0, |h| h.heap.usable_size(p.cast()).unwrap_or(0))
}

/// Status of the heap's last failed call (0 if none).
///
/// # Safety
///
/// `h` is NULL or a live heap.
#[no_mangle]
pub unsafe extern "C" fn brust_heap_last_error(h: *mut BrustHeap) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { hmut(h) }.map_or(ENULL, |h| h.last_error)
}

/// The statistics of the heap's zone (pages of 16 bytes).
///
/// # Safety
///
/// `h` is NULL or a live heap; `st` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn brust_heap_get_stats(h: *mut BrustHeap, st: *mut BrustStats) {
    // SAFETY: the caller's contract.
    if let Some(h) = unsafe { hmut(h) } {
        // SAFETY: the caller's contract.
        unsafe { stats_out(h.heap.zone(), st) };
    }
}

/// Check the heap's zone, as `brust_check`.
///
/// # Safety
///
/// `h` is NULL or a live heap; `report` NULL or callable with `arg`.
#[no_mangle]
pub unsafe extern "C" fn brust_heap_check(
    h: *mut BrustHeap,
    report: ReportCb,
    arg: *mut c_void,
) -> usize {
    // SAFETY: the caller's contract.
    let z = unsafe { hmut(h) }.map(|h| h.heap.zone());
    // SAFETY: the caller's contract.
    unsafe { check_out(z, report, arg) }
}

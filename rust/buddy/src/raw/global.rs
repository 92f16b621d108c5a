// SPDX-License-Identifier: MIT
//! The heap as a global allocator: [`LockedHeap`] implements
//! `core::alloc::GlobalAlloc` over a [`Heap`] behind a [`SpinLock`], with
//! memory handed in at run time or an [`Arena`] in a static.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::fmt::Write;
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering};

use super::sync::{SpinGuard, SpinLock};
use crate::error::{Error, ErrorKind};
use crate::fmtbuf::FmtBuf;
use crate::heap::{misuse_name, Heap};
use crate::zone::{ErrorFn, ErrorReport};

/// Memory for a heap in a static, aligned to 4096 bytes. A zero-filled
/// static costs no space in the program file. It is handed to one heap
/// only: the first [`LockedHeap`] that uses it claims it.
///
/// ```
/// use buddy::{Arena, LockedHeap};
/// static ARENA: Arena<[u8; 1 << 20]> = Arena::new();
/// static HEAP: LockedHeap = LockedHeap::with_arena(&ARENA);
/// ```
#[repr(C, align(4096))]
pub struct Arena<T: ?Sized = [u8]> {
    claimed: AtomicBool,
    mem: UnsafeCell<T>,
}

// SAFETY: the memory is reachable only through claim(), which hands it out
// once; the flag is atomic.
unsafe impl<T: ?Sized> Sync for Arena<T> {}

impl<const N: usize> Arena<[u8; N]> {
    /// An unclaimed arena of N zero bytes.
    pub const fn new() -> Self {
        Arena {
            claimed: AtomicBool::new(false),
            mem: UnsafeCell::new([0; N]),
        }
    }
}

impl<const N: usize> Default for Arena<[u8; N]> {
    fn default() -> Self {
        Arena::new()
    }
}

impl Arena {
    /// The arena's memory, the first time only.
    // A &mut from &self is sound here: the flag lets it out once.
    #[allow(clippy::mut_from_ref)]
    pub fn claim(&'static self) -> Option<&'static mut [u8]> {
        if self.claimed.swap(true, Ordering::AcqRel) {
            return None;
        }
        // SAFETY: the flag was false, so no other reference to the memory was
        // ever made, and none will be: it stays true.
        Some(unsafe { &mut *self.mem.get() })
    }
}

struct State {
    heap: Heap,
    arena: Option<&'static Arena>, // added on first use
}

/// A [`Heap`] behind a [`SpinLock`], usable as `#[global_allocator]`.
///
/// Misuse seen by `dealloc` or `realloc` (a pointer the heap never handed
/// out, a double free, an interior pointer, a wrong layout) changes nothing
/// and is reported after the lock is released: to the handler set with
/// [`LockedHeap::with_error_handler`], or by default as a panic that cannot
/// unwind (the message, then abort).
pub struct LockedHeap {
    state: SpinLock<State>,
    on_error: Option<ErrorFn>,
    error_arg: usize,
}

/// Aborts if a panic unwinds through it: an allocator must not unwind.
struct NoUnwind;

impl Drop for NoUnwind {
    fn drop(&mut self) {
        // Reached only while unwinding (the happy path forgets the guard):
        // a second panic during unwinding aborts the program.
        panic!("buddy: panic inside the global allocator");
    }
}

/// Run f; a panic inside aborts instead of unwinding.
#[inline(always)]
fn no_unwind<R>(f: impl FnOnce() -> R) -> R {
    let g = NoUnwind;
    let r = f();
    core::mem::forget(g);
    r
}

impl LockedHeap {
    /// An empty heap; give it memory with [`LockedHeap::add_memory`].
    pub const fn new() -> LockedHeap {
        LockedHeap {
            state: SpinLock::new(State {
                heap: Heap::new(),
                arena: None,
            }),
            on_error: None,
            error_arg: 0,
        }
    }

    /// A heap that claims `arena` on first use.
    pub const fn with_arena(arena: &'static Arena) -> LockedHeap {
        LockedHeap {
            state: SpinLock::new(State {
                heap: Heap::new(),
                arena: Some(arena),
            }),
            on_error: None,
            error_arg: 0,
        }
    }

    /// Report misuse to `f` (with `arg`) instead of panicking. The call that
    /// was refused changes nothing (`dealloc` returns, `realloc` returns null).
    pub const fn with_error_handler(mut self, f: ErrorFn, arg: usize) -> LockedHeap {
        self.on_error = Some(f);
        self.error_arg = arg;
        self
    }

    /// Give the heap more memory (see [`Heap::add_memory`]).
    ///
    /// # Safety
    ///
    /// As [`Heap::add_memory`].
    pub unsafe fn add_memory(&self, ptr: *mut u8, len: usize) -> Result<(), Error> {
        // SAFETY: the caller's contract is Heap::add_memory's.
        unsafe { self.lock().add_memory(ptr, len) }
    }

    /// Give the heap memory it may keep forever (safe).
    pub fn add_memory_static(&self, mem: &'static mut [u8]) -> Result<(), Error> {
        self.lock().add_memory_static(mem)
    }

    /// The heap, locked (for statistics, the check, or direct use).
    pub fn lock(&self) -> HeapGuard<'_> {
        let mut g = self.state.lock();
        if let Some(a) = g.arena.take() {
            if let Some(mem) = a.claim() {
                // A heap too small for its metadata stays empty: every
                // allocation then fails, as it should.
                let _ = g.heap.add_memory_static(mem);
            }
        }
        HeapGuard(g)
    }

    /// Report misuse (the lock is not held: a handler may allocate).
    #[cold]
    #[inline(never)]
    fn misuse(&self, error: Error, op: &str, p: *mut u8) {
        let mut msg = FmtBuf::<128>::new();
        let _ = write!(msg, "buddy: {op}(): {} at {p:p}", misuse_name(error));
        let report = ErrorReport {
            kind: ErrorKind::of(error),
            error,
            op,
            addr: p.addr(),
            msg: msg.as_str(),
        };
        match self.on_error {
            Some(f) => f(self.error_arg, &report),
            None => no_unwind(|| panic!("{}", report.msg)),
        }
    }
}

impl Default for LockedHeap {
    fn default() -> Self {
        LockedHeap::new()
    }
}

/// The locked heap of a [`LockedHeap`]; unlocks when dropped.
pub struct HeapGuard<'a>(SpinGuard<'a, State>);

impl core::ops::Deref for HeapGuard<'_> {
    type Target = Heap;
    fn deref(&self) -> &Heap {
        &self.0.heap
    }
}

impl core::ops::DerefMut for HeapGuard<'_> {
    fn deref_mut(&mut self) -> &mut Heap {
        &mut self.0.heap
    }
}

// SAFETY: alloc returns blocks of at least layout.size() bytes aligned to
// layout.align() that no other live allocation overlaps (the buddy zone's
// guarantee), or null; dealloc and realloc accept only blocks the heap
// handed out with a matching size (anything else is refused and reported);
// no method unwinds.
unsafe impl GlobalAlloc for LockedHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        no_unwind(|| {
            self.lock()
                .alloc(layout)
                .map_or(ptr::null_mut(), |p| p.as_ptr())
        })
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        no_unwind(|| {
            self.lock()
                .alloc_zeroed(layout)
                .map_or(ptr::null_mut(), |p| p.as_ptr())
        })
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        no_unwind(|| {
            let r = self.lock().dealloc(p, layout);
            if let Err(e) = r {
                self.misuse(e, "dealloc", p);
            }
        })
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        no_unwind(|| {
            let r = self.lock().realloc(p, layout, new_size);
            match r {
                Ok(q) => q.as_ptr(),
                Err(Error::NoMem) => ptr::null_mut(),
                Err(e) => {
                    self.misuse(e, "realloc", p);
                    ptr::null_mut()
                }
            }
        })
    }
}

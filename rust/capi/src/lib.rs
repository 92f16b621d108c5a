// SPDX-License-Identifier: MIT
//! The C ABI of the Rust page allocator: `libbrust.a`, declared in
//! `include/buddy/rust.h`. Every function mirrors the C core's function of
//! the same name (`brust_` for `buddy_`), with the same status codes, so
//! that C programs (the differential test, `buddy bench`) can run the Rust
//! zone beside the C one.
//!
//! Every function takes raw pointers from C; each says what it needs of
//! them under "Safety". A null zone pointer is refused as the C core
//! refuses it (`BUDDY_ENULL`, NULL or 0).
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

use core::ffi::{c_char, c_int, c_uint, c_void, CStr};
use core::ptr;

use buddy::{BlockState, Config, Error, ErrorReport, Flags, Zone};

mod heap;
pub use heap::BrustHeap;

/// `BUDDY_MAX_ORDER_AUTO`: max order as large as the regions allow.
pub const ORDER_AUTO: c_uint = 0xffff_ffff;
/// `BUDDY_META_ZEROED`: the metadata memory holds only zero bytes.
pub const META_ZEROED: c_uint = 1;
const ENULL: c_int = Error::Null.code();

/// The damage callback: `(arg, kind, op, ptr, msg)`.
pub type ErrorCb =
    Option<unsafe extern "C" fn(*mut c_void, c_int, *const c_char, *const c_void, *const c_char)>;
/// The walk callback; nonzero stops the walk.
pub type WalkCb = Option<unsafe extern "C" fn(*mut c_void, *const BrustBlock) -> c_int>;
/// The check's report callback.
pub type ReportCb = Option<unsafe extern "C" fn(*mut c_void, *const c_char)>;

/// `struct brust_config`.
#[repr(C)]
pub struct BrustConfig {
    /// Bytes per page.
    pub page_size: usize,
    /// Largest order, or [`ORDER_AUTO`].
    pub max_order: c_uint,
    /// Zone name (NUL-terminated), or NULL for "Normal".
    pub name: *const c_char,
    /// Page cache list length before a drain; 0 = off.
    pub pcp_high: c_uint,
    /// Largest cached order.
    pub pcp_max_order: c_uint,
    /// Poison freed pages.
    pub poison: c_int,
    /// Damage callback.
    pub on_error: ErrorCb,
    /// Its argument.
    pub error_arg: *mut c_void,
}

/// `struct brust_stats`.
#[repr(C)]
pub struct BrustStats {
    /// See [`buddy::Stats`].
    pub page_size: usize,
    /// See [`buddy::Stats`].
    pub max_order: c_uint,
    /// See [`buddy::Stats`].
    pub nr_regions: c_uint,
    /// See [`buddy::Stats`].
    pub total_pages: usize,
    /// See [`buddy::Stats`].
    pub free_pages: usize,
    /// See [`buddy::Stats`].
    pub cached_pages: usize,
    /// See [`buddy::Stats`].
    pub used_pages: usize,
    /// See [`buddy::Stats`].
    pub peak_used_pages: usize,
    /// See [`buddy::Stats`].
    pub meta_bytes: usize,
    /// See [`buddy::Stats`].
    pub nr_free: [usize; 32],
    /// See [`buddy::Stats`].
    pub nr_cached: [usize; 11],
    /// See [`buddy::Stats`].
    pub allocs: u64,
    /// See [`buddy::Stats`].
    pub frees: u64,
    /// See [`buddy::Stats`].
    pub failures: u64,
}

/// `struct brust_block`.
#[repr(C)]
pub struct BrustBlock {
    /// First byte.
    pub addr: *mut c_void,
    /// Region id.
    pub region: c_uint,
    /// Page index in the region.
    pub page: usize,
    /// Order.
    pub order: c_uint,
    /// 0 free, 1 allocated, 2 cached.
    pub state: c_int,
    /// Starts an allocation.
    pub first: c_int,
}

/// `struct brust_alloc_info`.
#[repr(C)]
pub struct BrustAllocInfo {
    /// Pages held.
    pub nr_pages: usize,
    /// The owner of its region, or NULL.
    pub owner: *mut c_void,
}

/// `struct brust_region_info`.
#[repr(C)]
pub struct BrustRegionInfo {
    /// First page.
    pub base: *mut c_void,
    /// Pages managed.
    pub nr_pages: usize,
    /// Of which free.
    pub free_pages: usize,
    /// Of which cached.
    pub cached_pages: usize,
    /// Region id.
    pub id: c_uint,
    /// Largest order.
    pub max_order: c_uint,
    /// Metadata.
    pub meta: *mut c_void,
    /// Metadata bytes.
    pub meta_bytes: usize,
    /// Owner word, or NULL.
    pub owner: *mut c_void,
}

/// A zone and the C callback it reports damage to (the zone first, so a
/// zone pointer is the C handle itself).
#[repr(C)]
pub struct BrustZone {
    zone: Zone,
    on_error: ErrorCb,
    error_arg: *mut c_void,
}

fn status(r: Result<(), Error>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => e.code(),
    }
}

/// Copy `text` into `buf` as a NUL-terminated C string (cut to fit).
fn c_text<'a>(buf: &'a mut [u8], text: &str) -> &'a CStr {
    let n = text.len().min(buf.len() - 1);
    buf[..n].copy_from_slice(&text.as_bytes()[..n]);
    buf[n] = 0;
    // A NUL ends the copy; an earlier one (none in the zone's texts) would end it sooner.
    CStr::from_bytes_until_nul(buf).unwrap_or(c"")
}

/// Forward a damage report to the zone's C callback (arg: the BrustZone).
fn error_trampoline(arg: usize, rep: &ErrorReport<'_>) {
    let bz = ptr::with_exposed_provenance::<BrustZone>(arg);
    let (mut op, mut msg) = ([0u8; 32], [0u8; 256]);
    let (op, msg) = (c_text(&mut op, rep.op), c_text(&mut msg, rep.msg));
    // SAFETY: arg is the address of the boxed BrustZone whose zone reports;
    // it lives as long as the zone. Only its callback fields are read.
    let (cb, cb_arg) = unsafe { ((*bz).on_error, (*bz).error_arg) };
    if let Some(f) = cb {
        let p = ptr::with_exposed_provenance(rep.addr);
        // SAFETY: the C caller registered f with this argument.
        unsafe { f(cb_arg, rep.kind.code(), op.as_ptr(), p, msg.as_ptr()) };
    }
}

/// Fill `cfg` with the defaults.
///
/// # Safety
///
/// `cfg` is NULL or points to a writable `struct brust_config`.
#[no_mangle]
pub unsafe extern "C" fn brust_config_default(cfg: *mut BrustConfig) {
    if cfg.is_null() {
        return;
    }
    let d = Config::new();
    // SAFETY: the caller gives a writable config.
    unsafe {
        cfg.write(BrustConfig {
            page_size: d.page_size,
            max_order: ORDER_AUTO,
            name: c"Normal".as_ptr(),
            pcp_high: d.pcp_high,
            pcp_max_order: d.pcp_max_order,
            poison: 0,
            on_error: None,
            error_arg: ptr::null_mut(),
        })
    };
}

/// A new zone, or NULL with `*status` set.
///
/// # Safety
///
/// `cfg` is NULL or a valid config whose name is NULL or NUL-terminated;
/// `status` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn brust_zone_create(
    cfg: *const BrustConfig,
    status: *mut c_int,
) -> *mut BrustZone {
    let mut c = Config::new();
    let (mut on_error, mut error_arg): (ErrorCb, *mut c_void) = (None, ptr::null_mut());
    // SAFETY: the caller gives NULL or a valid config.
    let r = match unsafe { cfg.as_ref() } {
        None => Zone::new(&c),
        Some(cfg) => {
            let name = if cfg.name.is_null() {
                Ok("Normal")
            } else {
                // SAFETY: the caller gives NULL or a NUL-terminated name.
                unsafe { CStr::from_ptr(cfg.name) }.to_str()
            };
            c.page_size = cfg.page_size;
            c.max_order = (cfg.max_order != ORDER_AUTO).then_some(cfg.max_order);
            c.pcp_high = cfg.pcp_high;
            c.pcp_max_order = cfg.pcp_max_order;
            c.poison = cfg.poison != 0;
            on_error = cfg.on_error;
            error_arg = cfg.error_arg;
            match name {
                Ok(n) => Zone::new(&Config { name: n, ..c }),
                Err(_) => Err(Error::Config),
            }
        }
    };
    let st = match r {
        Ok(zone) => {
            let bz = Box::into_raw(Box::new(BrustZone {
                zone,
                on_error,
                error_arg,
            }));
            if on_error.is_some() {
                // SAFETY: bz was just made from a Box and is not shared yet.
                unsafe {
                    (*bz)
                        .zone
                        .set_on_error(Some(error_trampoline), bz.expose_provenance())
                };
            }
            if !status.is_null() {
                // SAFETY: the caller gives NULL or a writable int.
                unsafe { *status = 0 };
            }
            return bz;
        }
        Err(e) => e.code(),
    };
    if !status.is_null() {
        // SAFETY: as above.
        unsafe { *status = st };
    }
    ptr::null_mut()
}

/// Free a zone made by [`brust_zone_create`] (NULL: nothing).
///
/// # Safety
///
/// `zone` is NULL or a zone from [`brust_zone_create`], not used again.
#[no_mangle]
pub unsafe extern "C" fn brust_zone_destroy(zone: *mut BrustZone) {
    if !zone.is_null() {
        // SAFETY: it came from Box::into_raw in brust_zone_create.
        drop(unsafe { Box::from_raw(zone) });
    }
}

/// The zone behind a C pointer, for reading.
///
/// # Safety
///
/// `z` is NULL or a live zone from [`brust_zone_create`] that no other call uses now.
unsafe fn zref<'a>(z: *const BrustZone) -> Option<&'a Zone> {
    // SAFETY: the caller's contract.
    unsafe { z.as_ref() }.map(|b| &b.zone)
}

/// The zone behind a C pointer, for changing.
///
/// # Safety
///
/// As [`zref`].
unsafe fn zmut<'a>(z: *mut BrustZone) -> Option<&'a mut Zone> {
    // SAFETY: the caller's contract.
    unsafe { z.as_mut() }.map(|b| &mut b.zone)
}

/// Metadata bytes a region of `len` bytes needs.
///
/// # Safety
///
/// `zone` is NULL or a live zone.
#[no_mangle]
pub unsafe extern "C" fn brust_meta_size(zone: *const BrustZone, len: usize) -> usize {
    // SAFETY: the caller's contract.
    unsafe { zref(zone) }.map_or(0, |z| z.meta_size(len))
}

/// Add a region (see `buddy_add_region`).
///
/// # Safety
///
/// As [`brust_add_region_ex`].
#[no_mangle]
pub unsafe extern "C" fn brust_add_region(
    zone: *mut BrustZone,
    base: *mut c_void,
    len: usize,
    meta: *mut c_void,
    meta_len: usize,
) -> c_int {
    // SAFETY: the caller's contract is brust_add_region_ex's.
    unsafe { brust_add_region_ex(zone, base, len, meta, meta_len, 0) }
}

/// Add a region with flags (see `buddy_add_region_ex`).
///
/// # Safety
///
/// `zone` is NULL or a live zone; the region and the metadata (when not
/// NULL) are valid memory that belongs to the zone until the region is
/// removed or the zone destroyed; with `BUDDY_META_ZEROED` the metadata
/// holds only zero bytes.
#[no_mangle]
pub unsafe extern "C" fn brust_add_region_ex(
    zone: *mut BrustZone,
    base: *mut c_void,
    len: usize,
    meta: *mut c_void,
    meta_len: usize,
    flags: c_uint,
) -> c_int {
    // SAFETY: the caller's contract.
    let Some(z) = (unsafe { zmut(zone) }) else {
        return ENULL;
    };
    let meta = (!meta.is_null()).then_some((meta.cast::<u8>(), meta_len));
    // SAFETY: the caller hands the memory over, as add_region requires.
    status(unsafe { z.add_region_ex(base.cast(), len, meta, flags & META_ZEROED != 0) })
}

/// Remove a wholly free region.
///
/// # Safety
///
/// `zone` is NULL or a live zone.
#[no_mangle]
pub unsafe extern "C" fn brust_remove_region(zone: *mut BrustZone, base: *mut c_void) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { zmut(zone) }.map_or(ENULL, |z| status(z.remove_region(base.cast())))
}

/// 2^order pages, or NULL.
///
/// # Safety
///
/// `zone` is NULL or a live zone.
#[no_mangle]
pub unsafe extern "C" fn brust_alloc_pages(
    zone: *mut BrustZone,
    order: c_uint,
    flags: c_uint,
) -> *mut c_void {
    // SAFETY: the caller's contract.
    match unsafe { zmut(zone) } {
        Some(z) => z
            .alloc_pages_opt(order, Flags::from_bits(flags))
            .map_or(ptr::null_mut(), |p| p.as_ptr().cast()),
        None => ptr::null_mut(),
    }
}

/// Exactly npages pages, or NULL.
///
/// # Safety
///
/// `zone` is NULL or a live zone.
#[no_mangle]
pub unsafe extern "C" fn brust_alloc_pages_exact(
    zone: *mut BrustZone,
    npages: usize,
    flags: c_uint,
) -> *mut c_void {
    // SAFETY: the caller's contract.
    match unsafe { zmut(zone) } {
        Some(z) => z
            .alloc_pages_exact(npages, Flags::from_bits(flags))
            .map_or(ptr::null_mut(), |p| p.as_ptr().cast()),
        None => ptr::null_mut(),
    }
}

/// Free a block by order.
///
/// # Safety
///
/// `zone` is NULL or a live zone (addr may be anything: it is checked).
#[no_mangle]
pub unsafe extern "C" fn brust_free_pages(
    zone: *mut BrustZone,
    addr: *mut c_void,
    order: c_uint,
) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { zmut(zone) }.map_or(ENULL, |z| status(z.free_pages(addr.cast(), order)))
}

/// Free an exact allocation by its page count.
///
/// # Safety
///
/// `zone` is NULL or a live zone.
#[no_mangle]
pub unsafe extern "C" fn brust_free_pages_exact(
    zone: *mut BrustZone,
    addr: *mut c_void,
    npages: usize,
) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { zmut(zone) }.map_or(ENULL, |z| status(z.free_pages_exact(addr.cast(), npages)))
}

/// Free any allocation by its address.
///
/// # Safety
///
/// `zone` is NULL or a live zone.
#[no_mangle]
pub unsafe extern "C" fn brust_free(zone: *mut BrustZone, addr: *mut c_void) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { zmut(zone) }.map_or(ENULL, |z| status(z.free(addr.cast())))
}

fn info_out(info: buddy::AllocInfo) -> BrustAllocInfo {
    BrustAllocInfo {
        nr_pages: info.nr_pages,
        owner: ptr::with_exposed_provenance_mut(info.owner),
    }
}

/// Look up the allocation at addr (see `buddy_alloc_info`).
///
/// # Safety
///
/// `zone` is NULL or a live zone; `info` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn brust_alloc_info(
    zone: *mut BrustZone,
    addr: *const c_void,
    info: *mut BrustAllocInfo,
) -> c_int {
    // SAFETY: the caller's contract.
    let Some(z) = (unsafe { zmut(zone) }) else {
        return ENULL;
    };
    if info.is_null() {
        return z.record_error(Error::Null).code();
    }
    match z.alloc_info(addr.cast()) {
        Ok(i) => {
            // SAFETY: info is writable.
            unsafe { info.write(info_out(i)) };
            0
        }
        Err(e) => e.code(),
    }
}

/// Free any allocation, saying what it freed (see `buddy_free_info`).
///
/// # Safety
///
/// `zone` is NULL or a live zone; `info` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn brust_free_info(
    zone: *mut BrustZone,
    addr: *mut c_void,
    info: *mut BrustAllocInfo,
) -> c_int {
    // SAFETY: the caller's contract.
    let Some(z) = (unsafe { zmut(zone) }) else {
        return ENULL;
    };
    // As the C core: info is filled once the allocation is found, even if
    // the free then meets damage.
    match z.alloc_info(addr.cast()) {
        Ok(i) => {
            if !info.is_null() {
                // SAFETY: info is writable.
                unsafe { info.write(info_out(i)) };
            }
            status(z.free(addr.cast()))
        }
        Err(e) => e.code(),
    }
}

/// Attach an owner pointer to the region starting at base.
///
/// # Safety
///
/// `zone` is NULL or a live zone.
#[no_mangle]
pub unsafe extern "C" fn brust_region_set_owner(
    zone: *mut BrustZone,
    base: *mut c_void,
    owner: *mut c_void,
) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { zmut(zone) }.map_or(ENULL, |z| {
        status(z.set_region_owner(base.cast(), owner.expose_provenance()))
    })
}

/// The owner of the region holding addr, or NULL.
///
/// # Safety
///
/// `zone` is NULL or a live zone.
#[no_mangle]
pub unsafe extern "C" fn brust_region_owner(
    zone: *const BrustZone,
    addr: *const c_void,
) -> *mut c_void {
    // SAFETY: the caller's contract.
    unsafe { zref(zone) }.map_or(ptr::null_mut(), |z| {
        ptr::with_exposed_provenance_mut(z.region_owner(addr.cast()))
    })
}

/// Resize an allocation in place.
///
/// # Safety
///
/// `zone` is NULL or a live zone.
#[no_mangle]
pub unsafe extern "C" fn brust_resize(
    zone: *mut BrustZone,
    addr: *mut c_void,
    new_order: c_uint,
) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { zmut(zone) }.map_or(ENULL, |z| status(z.resize(addr.cast(), new_order)))
}

/// Pages of the allocation at addr; 0 with the last error set if none.
///
/// # Safety
///
/// `zone` is NULL or a live zone.
#[no_mangle]
pub unsafe extern "C" fn brust_alloc_size(zone: *mut BrustZone, addr: *const c_void) -> usize {
    // SAFETY: the caller's contract.
    unsafe { zmut(zone) }.map_or(0, |z| z.alloc_size(addr.cast()).unwrap_or(0))
}

/// Give every cached block back to the buddy lists.
///
/// # Safety
///
/// `zone` is NULL or a live zone.
#[no_mangle]
pub unsafe extern "C" fn brust_drain_cache(zone: *mut BrustZone) {
    // SAFETY: the caller's contract.
    if let Some(z) = unsafe { zmut(zone) } {
        z.drain_cache();
    }
}

/// Status of the last failed call (0 if none).
///
/// # Safety
///
/// `zone` is NULL or a live zone.
#[no_mangle]
pub unsafe extern "C" fn brust_last_error(zone: *const BrustZone) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { zref(zone) }.map_or(ENULL, |z| z.last_error().map_or(0, Error::code))
}

/// The text of a status code (static, NUL-terminated).
#[no_mangle]
pub extern "C" fn brust_strerror(status: c_int) -> *const c_char {
    static TEXTS: [&CStr; 17] = [
        c"success",
        c"null pointer",
        c"pointer outside every region",
        c"pointer is not the start of an allocated block",
        c"double free: the block is already free",
        c"freed with a different order or size than allocated",
        c"order above the maximum",
        c"page count is zero or above the largest block",
        c"region too small",
        c"region base or length not a multiple of the page size",
        c"region overlaps another region or its metadata",
        c"metadata buffer missing, misaligned, too small or inside the region",
        c"bad configuration (page size, max order or zone name)",
        c"out of memory: no free block large enough",
        c"region still has allocated pages",
        c"allocator metadata is corrupted",
        c"unknown status",
    ];
    let i = if (0..16).contains(&status) {
        status as usize
    } else {
        16
    };
    debug_assert_eq!(TEXTS[i].to_str().ok(), Some(buddy::status_text(status)));
    TEXTS[i].as_ptr()
}

/// Fill `st` with the zone's statistics.
///
/// # Safety
///
/// `zone` is NULL or a live zone; `st` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn brust_get_stats(zone: *const BrustZone, st: *mut BrustStats) {
    // SAFETY: the caller's contract.
    if let Some(z) = unsafe { zref(zone) } {
        // SAFETY: the caller's contract.
        unsafe { stats_out(z, st) };
    }
}

/// Write `z`'s statistics to `st` (NULL: nothing).
///
/// # Safety
///
/// `st` is NULL or writable.
pub(crate) unsafe fn stats_out(z: &Zone, st: *mut BrustStats) {
    if st.is_null() {
        return;
    }
    let s = z.stats();
    // SAFETY: st is writable.
    unsafe {
        st.write(BrustStats {
            page_size: s.page_size,
            max_order: s.max_order,
            nr_regions: s.nr_regions,
            total_pages: s.total_pages,
            free_pages: s.free_pages,
            cached_pages: s.cached_pages,
            used_pages: s.used_pages,
            peak_used_pages: s.peak_used_pages,
            meta_bytes: s.meta_bytes,
            nr_free: s.nr_free,
            nr_cached: s.nr_cached,
            allocs: s.allocs,
            frees: s.frees,
            failures: s.failures,
        })
    };
}

/// A byte sink that counts everything and keeps what fits (snprintf style).
struct CBuf<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl core::fmt::Write for CBuf<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if self.len + 1 < self.buf.len() {
                self.buf[self.len] = b;
            }
            self.len += 1;
        }
        Ok(())
    }
}

/// The buddyinfo line into buf, snprintf style; returns the length it needs.
///
/// # Safety
///
/// `zone` is NULL or a live zone; `buf` is valid for `size` bytes (or size is 0).
#[no_mangle]
pub unsafe extern "C" fn brust_buddyinfo(
    zone: *const BrustZone,
    buf: *mut c_char,
    size: usize,
) -> usize {
    let out: &mut [u8] = if size == 0 || buf.is_null() {
        &mut []
    } else {
        // SAFETY: the caller gives size writable bytes.
        unsafe { core::slice::from_raw_parts_mut(buf.cast(), size) }
    };
    // SAFETY: the caller's contract.
    let Some(z) = (unsafe { zref(zone) }) else {
        if let Some(b) = out.first_mut() {
            *b = 0;
        }
        return 0;
    };
    let mut w = CBuf { buf: out, len: 0 };
    let _ = core::fmt::write(&mut w, format_args!("{}", z.buddyinfo()));
    let n = w.len.min(w.buf.len().saturating_sub(1));
    if let Some(b) = w.buf.get_mut(n) {
        *b = 0;
    }
    w.len
}

/// Linux's fragmentation index for `order`.
///
/// # Safety
///
/// `zone` is NULL or a live zone.
#[no_mangle]
pub unsafe extern "C" fn brust_fragmentation_index(zone: *const BrustZone, order: c_uint) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { zref(zone) }.map_or(0, |z| z.fragmentation_index(order))
}

/// Linux's unusable free space index for `order`.
///
/// # Safety
///
/// `zone` is NULL or a live zone.
#[no_mangle]
pub unsafe extern "C" fn brust_unusable_index(zone: *const BrustZone, order: c_uint) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { zref(zone) }.map_or(0, |z| z.unusable_index(order))
}

/// Call `f` for every block in address order; nonzero stops and is returned.
///
/// # Safety
///
/// `zone` is NULL or a live zone; `f` NULL or a function that does not use the zone.
#[no_mangle]
pub unsafe extern "C" fn brust_walk(zone: *const BrustZone, f: WalkCb, arg: *mut c_void) -> c_int {
    // SAFETY: the caller's contract.
    let (Some(z), Some(f)) = (unsafe { zref(zone) }, f) else {
        return 0;
    };
    for b in z.blocks() {
        let blk = BrustBlock {
            addr: ptr::with_exposed_provenance_mut(b.addr),
            region: b.region,
            page: b.page,
            order: b.order,
            state: match b.state {
                BlockState::Free => 0,
                BlockState::Allocated => 1,
                BlockState::Cached => 2,
            },
            first: b.first as c_int,
        };
        // SAFETY: the caller registered f for this.
        let rc = unsafe { f(arg, &blk) };
        if rc != 0 {
            return rc;
        }
    }
    0
}

/// Information about the i-th region by address.
///
/// # Safety
///
/// `zone` is NULL or a live zone; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn brust_region_info(
    zone: *const BrustZone,
    i: c_uint,
    out: *mut BrustRegionInfo,
) -> c_int {
    // SAFETY: the caller's contract.
    let Some(z) = (unsafe { zref(zone) }) else {
        return ENULL;
    };
    if out.is_null() {
        return ENULL;
    }
    match z.region_info(i) {
        Ok(r) => {
            // SAFETY: out is writable.
            unsafe {
                out.write(BrustRegionInfo {
                    base: ptr::with_exposed_provenance_mut(r.base),
                    nr_pages: r.nr_pages,
                    free_pages: r.free_pages,
                    cached_pages: r.cached_pages,
                    id: r.id,
                    max_order: r.max_order,
                    meta: ptr::with_exposed_provenance_mut(r.meta),
                    meta_bytes: r.meta_bytes,
                    owner: ptr::with_exposed_provenance_mut(r.owner),
                })
            };
            0
        }
        Err(e) => e.code(),
    }
}

/// Verify every invariant; each problem goes to `report`. Returns the count.
///
/// # Safety
///
/// `zone` is NULL or a live zone; `report` NULL or a function that does not use the zone.
#[no_mangle]
pub unsafe extern "C" fn brust_check(
    zone: *const BrustZone,
    report: ReportCb,
    arg: *mut c_void,
) -> usize {
    // SAFETY: the caller's contract.
    unsafe { check_out(zref(zone), report, arg) }
}

/// Check `z` (None: "zone is NULL"), each problem passed to `report` as a C string.
///
/// # Safety
///
/// `report` is None or may be called with `arg`.
pub(crate) unsafe fn check_out(z: Option<&Zone>, report: ReportCb, arg: *mut c_void) -> usize {
    let mut line = [0u8; 256];
    let mut emit = |msg: &str| {
        if let Some(f) = report {
            let text = c_text(&mut line, msg);
            // SAFETY: the caller registered report for this.
            unsafe { f(arg, text.as_ptr()) };
        }
    };
    match z {
        Some(z) => z.check(&mut emit),
        None => {
            emit("zone is NULL");
            1
        }
    }
}

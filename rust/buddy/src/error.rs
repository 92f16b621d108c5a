// SPDX-License-Identifier: MIT
//! The zone's statuses: one [`Error`] variant per failing status of the C
//! core (`enum buddy_status`), with the same codes and texts; and the kinds
//! of problem every allocator reports ([`ErrorKind`], `enum buddy_error_kind`).

use core::fmt;

/// Why a call failed. Every failing call changes nothing.
///
/// [`Error::code`] gives the C core's status number, so a status can cross
/// the C ABI unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Error {
    /// A required pointer argument is null (`BUDDY_ENULL`).
    Null = 1,
    /// The pointer lies outside every region (`BUDDY_EOUTSIDE`).
    Outside,
    /// The pointer is not the start of an allocated block (`BUDDY_ENOTBLOCK`).
    NotBlock,
    /// The pointer lies in a block that is already free (`BUDDY_EDOUBLE`).
    Double,
    /// Freed with an order or page count it was not allocated with (`BUDDY_EORDER`).
    Order,
    /// Order above the zone's maximum (`BUDDY_EMAXORDER`).
    MaxOrder,
    /// Page count zero or above 2^max_order (`BUDDY_ECOUNT`).
    Count,
    /// Region smaller than one page after its metadata (`BUDDY_ESMALL`).
    Small,
    /// Region base or length not a multiple of the page size (`BUDDY_EALIGN`).
    Align,
    /// Region overlaps a region already in the zone, or its metadata (`BUDDY_EOVERLAP`).
    Overlap,
    /// Metadata buffer missing, too small, misaligned or inside the region (`BUDDY_EMETA`).
    Meta,
    /// Bad configuration: page size, max order or name (`BUDDY_ECONFIG`).
    Config,
    /// No free block large enough (`BUDDY_ENOMEM`).
    NoMem,
    /// The region still has allocated pages (`BUDDY_EBUSY`).
    Busy,
    /// The allocator's own data structures are damaged (`BUDDY_ECORRUPT`).
    Corrupt,
}

/// Every variant, in code order (codes 1..=15).
pub const ALL_ERRORS: [Error; 15] = [
    Error::Null,
    Error::Outside,
    Error::NotBlock,
    Error::Double,
    Error::Order,
    Error::MaxOrder,
    Error::Count,
    Error::Small,
    Error::Align,
    Error::Overlap,
    Error::Meta,
    Error::Config,
    Error::NoMem,
    Error::Busy,
    Error::Corrupt,
];

impl Error {
    /// The C core's status number (`BUDDY_ENULL` = 1 ... `BUDDY_ECORRUPT` = 15).
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The variant for a C status number; `None` for 0 (success) and unknown numbers.
    pub const fn from_code(code: i32) -> Option<Error> {
        if code >= 1 && code <= ALL_ERRORS.len() as i32 {
            Some(ALL_ERRORS[code as usize - 1])
        } else {
            None
        }
    }

    /// The text of this status, as the C core's `buddy_strerror` gives it.
    pub const fn text(self) -> &'static str {
        match self {
            Error::Null => "null pointer",
            Error::Outside => "pointer outside every region",
            Error::NotBlock => "pointer is not the start of an allocated block",
            Error::Double => "double free: the block is already free",
            Error::Order => "freed with a different order or size than allocated",
            Error::MaxOrder => "order above the maximum",
            Error::Count => "page count is zero or above the largest block",
            Error::Small => "region too small",
            Error::Align => "region base or length not a multiple of the page size",
            Error::Overlap => "region overlaps another region or its metadata",
            Error::Meta => "metadata buffer missing, misaligned, too small or inside the region",
            Error::Config => "bad configuration (page size, max order or zone name)",
            Error::NoMem => "out of memory: no free block large enough",
            Error::Busy => "region still has allocated pages",
            Error::Corrupt => "allocator metadata is corrupted",
        }
    }
}

/// The text of any status code, as `buddy_strerror`: "success" for 0,
/// "unknown status" for numbers that name no status.
pub const fn status_text(code: i32) -> &'static str {
    match Error::from_code(code) {
        Some(e) => e.text(),
        None if code == 0 => "success",
        None => "unknown status",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

impl core::error::Error for Error {}

/// What went wrong, as every allocator of the library reports it through
/// its error callback (the C library's `enum buddy_error_kind`, same codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorKind {
    /// A pointer the allocator never handed out (`BUDDY_ERR_INVALID`).
    Invalid = 1,
    /// A pointer to a block that is already free (`BUDDY_ERR_DOUBLE`).
    Double,
    /// A pointer inside a block, not at its start (`BUDDY_ERR_INTERIOR`).
    Interior,
    /// Damage to the allocator's own data (`BUDDY_ERR_CORRUPT`).
    Corrupt,
}

impl ErrorKind {
    /// The C library's number for this kind.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// Its text, as `buddy_error_name` gives it: "invalid pointer", ...
    pub const fn name(self) -> &'static str {
        match self {
            ErrorKind::Invalid => "invalid pointer",
            ErrorKind::Double => "double free",
            ErrorKind::Interior => "interior pointer",
            ErrorKind::Corrupt => "corrupted memory",
        }
    }

    /// The kind of problem a status reports: a pointer outside every region
    /// (or null) or freed with the wrong size is invalid; a double free is
    /// one; a pointer inside a block is interior; the rest is damage.
    pub const fn of(e: Error) -> ErrorKind {
        match e {
            Error::Null | Error::Outside | Error::Order => ErrorKind::Invalid,
            Error::Double => ErrorKind::Double,
            Error::NotBlock => ErrorKind::Interior,
            _ => ErrorKind::Corrupt,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// SPDX-License-Identifier: MIT
//! The page allocator over 16 pages of 4 KiB: allocate, free, look inside.
use buddy::{Config, Error, Flags, Zone};

fn main() -> Result<(), Error> {
    // Memory the zone keeps for good; its metadata is carved from the end,
    // behind a guard page: 16 pages + 1 guard + 1 of metadata.
    let mem: &'static mut [u8] = Box::leak(vec![0u8; 19 * 4096].into_boxed_slice());
    let start = mem.as_ptr().align_offset(4096);
    let region = &mut mem[start..start + 18 * 4096];

    let mut zone = Zone::new(&Config::new())?; // 4 KiB pages, max order auto
    zone.add_region_static(region, None)?;

    let a = zone.alloc_pages(0, Flags::NONE)?; // 1 page
    let b = zone.alloc_pages_exact(3, Flags::ZERO)?; // 3 zeroed pages
    print!("{}", zone.buddyinfo());

    let refused = zone.free_pages(a.as_ptr(), 2); // wrong order: refused
    println!("{}", refused.unwrap_err());
    zone.free_pages(a.as_ptr(), 0)?;
    zone.free(b.as_ptr())?; // size looked up
    print!("{}", zone.buddyinfo());
    assert_eq!(zone.check(&mut |problem| eprintln!("{problem}")), 0);
    Ok(())
}

// SPDX-License-Identifier: MIT
//! Looking at a zone without changing it: statistics, the /proc/buddyinfo
//! line, Linux's fragmentation indices, the block walk and region
//! information (the C core's `page_info.c`).

use core::fmt;
use core::marker::PhantomData;

use crate::error::Error;
use crate::raw::mem::RegionRef;
use crate::zone::{
    Zone, MAX_ORDER, NR_ORDERS, NR_PCP_ORDERS, PG_CACHED, PG_FREE, PG_HEAD, PG_ORDER, PG_STATE,
    PG_TAIL,
};

/// A zone's statistics ([`Zone::stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes per page.
    pub page_size: usize,
    /// Largest order a block can have in this zone.
    pub max_order: u32,
    /// Regions in the zone.
    pub nr_regions: u32,
    /// Pages managed (metadata excluded).
    pub total_pages: usize,
    /// Pages on the free lists.
    pub free_pages: usize,
    /// Free pages held in the page cache, off the lists.
    pub cached_pages: usize,
    /// total_pages - free_pages - cached_pages.
    pub used_pages: usize,
    /// Largest used_pages seen; only grows.
    pub peak_used_pages: usize,
    /// Bytes of metadata for all regions.
    pub meta_bytes: usize,
    /// Free blocks per order.
    pub nr_free: [usize; NR_ORDERS],
    /// Cached blocks per order.
    pub nr_cached: [usize; NR_PCP_ORDERS],
    /// Successful allocations; only grows.
    pub allocs: u64,
    /// Successful frees; only grows.
    pub frees: u64,
    /// Allocations that failed for lack of a block; only grows.
    pub failures: u64,
}

/// The state of a block in the walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockState {
    /// On a free list.
    Free,
    /// Handed out.
    Allocated,
    /// Free, held in the page cache (not merged yet).
    Cached,
}

/// One block of the walk ([`Zone::blocks`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    /// Address of its first byte.
    pub addr: usize,
    /// Region id (order of addition, from 0).
    pub region: u32,
    /// Page index within the region.
    pub page: usize,
    /// The block is 2^order pages.
    pub order: u32,
    /// Free, allocated or cached.
    pub state: BlockState,
    /// Allocated: whether the block starts an allocation (false: it
    /// continues an exact allocation).
    pub first: bool,
}

/// Information about one region ([`Zone::region_info`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionInfo {
    /// Address of the first page.
    pub base: usize,
    /// Pages managed.
    pub nr_pages: usize,
    /// Of which on the free lists.
    pub free_pages: usize,
    /// Of which in the page cache (counted by a scan: O(pages)).
    pub cached_pages: usize,
    /// Order of addition, from 0.
    pub id: u32,
    /// Largest block order in this region.
    pub max_order: u32,
    /// Address of its metadata (in the region's tail if carved from it).
    pub meta: usize,
    /// Bytes of metadata.
    pub meta_bytes: usize,
    /// The owner word ([`Zone::set_region_owner`]), or 0.
    pub owner: usize,
}

/// Sums over the free lists for an order j (mm/vmstat.c, fill_contig_page_info).
struct ContigInfo {
    free_pages: u64,
    free_blocks_total: u64,
    free_blocks_suitable: u64,
}

impl Zone {
    /// The zone's statistics.
    pub fn stats(&self) -> Stats {
        let mut st = Stats {
            page_size: self.page_size,
            max_order: self.max_order,
            nr_regions: self.nr_regions,
            total_pages: self.total_pages,
            free_pages: self.free_pages,
            cached_pages: self.cached_pages,
            used_pages: self.total_pages - self.free_pages - self.cached_pages,
            peak_used_pages: self.peak_used_pages,
            meta_bytes: self.meta_bytes,
            allocs: self.allocs,
            frees: self.frees,
            failures: self.failures,
            ..Stats::default()
        };
        for (k, fa) in self.free_area.iter().enumerate() {
            st.nr_free[k] = fa.nr_free;
        }
        for (k, pc) in self.pcp.iter().enumerate() {
            st.nr_cached[k] = pc.count;
        }
        st
    }

    /// The zone's name.
    pub fn name(&self) -> &str {
        core::str::from_utf8(&self.name[..self.name_len as usize]).unwrap_or("")
    }

    /// The line /proc/buddyinfo would show for this zone (orders
    /// 0..=max_order, with the trailing space and a newline), as a value
    /// that can be displayed or written.
    pub fn buddyinfo(&self) -> BuddyInfo<'_> {
        BuddyInfo(self)
    }

    fn contig_info(&self, j: u32) -> ContigInfo {
        let mut ci = ContigInfo {
            free_pages: 0,
            free_blocks_total: 0,
            free_blocks_suitable: 0,
        };
        for (o, fa) in self.free_area.iter().enumerate() {
            let n = fa.nr_free as u64;
            ci.free_blocks_total += n;
            ci.free_pages += n << o;
            if o as u32 >= j {
                ci.free_blocks_suitable += n << (o as u32 - j);
            }
        }
        ci
    }

    /// Linux's fragmentation index for an allocation of `order`
    /// (mm/vmstat.c, __fragmentation_index), in thousandths: -1000 when the
    /// request can be met, 0 when there is no free memory (or the order is
    /// above 31), otherwise towards 1000 the more a failure would be due to
    /// fragmentation rather than lack of memory.
    pub fn fragmentation_index(&self, order: u32) -> i32 {
        if order > MAX_ORDER {
            return 0;
        }
        let ci = self.contig_info(order);
        if ci.free_blocks_total == 0 {
            return 0;
        }
        if ci.free_blocks_suitable != 0 {
            return -1000;
        }
        (1000 - (1000 + ci.free_pages * 1000 / (1u64 << order)) / ci.free_blocks_total) as i32
    }

    /// Linux's unusable free space index for `order` (mm/vmstat.c,
    /// unusable_free_index), in thousandths (0..=1000); 0 above order 31.
    pub fn unusable_index(&self, order: u32) -> i32 {
        if order > MAX_ORDER {
            return 0;
        }
        let ci = self.contig_info(order);
        if ci.free_pages == 0 {
            return 1000;
        }
        ((ci.free_pages - (ci.free_blocks_suitable << order)) * 1000 / ci.free_pages) as i32
    }

    /// Every block of every region, in address order.
    pub fn blocks(&self) -> Blocks<'_> {
        Blocks {
            zone: PhantomData,
            region: self.regions,
            idx: 0,
        }
    }

    /// Information about the i-th region in address order; [`Error::Count`]
    /// past the end.
    pub fn region_info(&self, i: u32) -> Result<RegionInfo, Error> {
        let r = self.regions().nth(i as usize).ok_or(Error::Count)?;
        let cached = self.region_cached_pages(r);
        Ok(RegionInfo {
            base: r.base(),
            nr_pages: r.nr_pages(),
            free_pages: r.free_pages(),
            cached_pages: cached,
            id: r.id(),
            max_order: r.max_order(),
            meta: r.meta_addr(),
            meta_bytes: r.meta_bytes(),
            owner: r.owner(),
        })
    }
}

/// The buddyinfo line of a zone ([`Zone::buddyinfo`]): "Node 0, zone %8s "
/// then "%6lu " per order, as mm/vmstat.c's frag_show_print.
pub struct BuddyInfo<'a>(&'a Zone);

impl fmt::Display for BuddyInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let z = self.0;
        f.write_str("Node 0, zone ")?;
        for _ in z.name_len..8 {
            f.write_str(" ")?;
        }
        write!(f, "{} ", z.name())?;
        for k in 0..=z.max_order {
            write!(f, "{:6} ", z.free_area[k as usize].nr_free)?;
        }
        f.write_str("\n")
    }
}

/// The walk's iterator ([`Zone::blocks`]).
pub struct Blocks<'a> {
    zone: PhantomData<&'a Zone>,
    region: Option<RegionRef>,
    idx: usize,
}

impl Iterator for Blocks<'_> {
    type Item = Block;

    fn next(&mut self) -> Option<Block> {
        loop {
            let r = self.region?;
            if self.idx >= r.nr_pages() {
                self.region = r.next();
                self.idx = 0;
                continue;
            }
            let b = r.page(self.idx).pg();
            let order = (b & PG_ORDER) as u32;
            let blk = Block {
                addr: r.addr(self.idx),
                region: r.id(),
                page: self.idx,
                order,
                state: if b == PG_CACHED | order as u8 {
                    BlockState::Cached
                } else if b & PG_STATE == PG_FREE {
                    BlockState::Free
                } else {
                    BlockState::Allocated
                },
                first: b & PG_STATE == PG_HEAD,
            };
            // A damaged tail byte must not stall the walk.
            self.idx += if b & PG_STATE == PG_TAIL {
                1
            } else {
                1 << order
            };
            return Some(blk);
        }
    }
}

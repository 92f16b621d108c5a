// SPDX-License-Identifier: MIT
//! The integrity check: every invariant of the zone (P1..P9, numbered as
//! the C core's), verified from the metadata and the lists, each problem
//! reported with its invariant's tag (the C core's `buddy_check`).

use core::fmt::{self, Write};

use crate::fmtbuf::FmtBuf;
use crate::raw::mem::{map_bits, RegionRef};
use crate::zone::{
    List, Zone, MAX_ORDER, NR_ORDERS, NR_PCP_ORDERS, NR_REGION_INDEX, PG_CACHED, PG_CONT, PG_FREE,
    PG_MORE, PG_ORDER, PG_STATE, PG_TAIL,
};

struct Checker<'a, 'r> {
    z: &'a Zone,
    report: &'r mut dyn FnMut(&str),
    problems: usize,
    free_heads: [usize; NR_ORDERS], // free blocks found by scanning pages
    cached_heads: [usize; NR_ORDERS], // cached blocks found by scanning pages
}

impl Checker<'_, '_> {
    fn problem(&mut self, args: fmt::Arguments<'_>) {
        self.problems += 1;
        let mut msg = FmtBuf::<200>::new();
        let _ = msg.write_fmt(args);
        (self.report)(msg.as_str());
    }

    /// Scan the page bytes: blocks tile the region, are aligned, chains are sound.
    fn check_blocks(&mut self, r: RegionRef) {
        let (id, pg) = (r.id(), r.page_bytes(self.z));
        let n = pg.len();
        let mut free_pages = 0;
        let mut expect_cont = false;
        let mut idx = 0;
        while idx < n {
            let b = pg[idx];
            let (k, st) = ((b & PG_ORDER) as u32, b & PG_STATE);
            if st == PG_TAIL {
                self.problem(format_args!(
                    "P2: region {id} page {idx}: expected the start of a block"
                ));
                idx += 1;
                continue;
            }
            let size = 1usize << k;
            if k > r.max_order() || idx & (size - 1) != 0 || size > n - idx {
                self.problem(format_args!(
                    "P2: region {id} page {idx}: order {k} block misaligned or too large"
                ));
                idx += 1;
                continue;
            }
            if (st == PG_CONT) != expect_cont {
                self.problem(format_args!(
                    "P7: region {id} page {idx}: broken exact-allocation chain"
                ));
            }
            if st == PG_FREE && b & PG_MORE != 0 && k >= self.z.nr_pcp_orders {
                self.problem(format_args!(
                    "P6: region {id} page {idx}: cached block of order {k} above the cache's orders"
                ));
            }
            expect_cont = st != PG_FREE && b & PG_MORE != 0;
            if let Some(t) = pg[idx + 1..idx + size].iter().position(|&t| t != PG_TAIL) {
                self.problem(format_args!(
                    "P2: region {id} page {idx}: block of order {k} overlaps page {}",
                    idx + 1 + t
                ));
            }
            if b == PG_FREE | k as u8 {
                free_pages += size;
                self.free_heads[k as usize] += 1;
            } else if b == PG_CACHED | k as u8 {
                self.cached_heads[k as usize] += 1;
            }
            idx += size;
        }
        if expect_cont {
            self.problem(format_args!(
                "P7: region {id}: exact allocation runs past the end"
            ));
        }
        if free_pages != r.free_pages() {
            self.problem(format_args!(
                "P8: region {id}: {free_pages} pages free in blocks but free_pages is {}",
                r.free_pages()
            ));
        }
    }

    /// P3: every pair bit equals free(lower) XOR free(upper); padding bits
    /// are 0. P5: the two are never both free.
    fn check_bitmaps(&mut self, r: RegionRef) {
        let (id, pg) = (r.id(), r.page_bytes(self.z));
        let n = pg.len();
        for k in 0..r.max_order() {
            let map = r.map_slice(k, self.z);
            let free = PG_FREE | k as u8;
            let bits = map_bits(n, k);
            for bit in 0..bits {
                let lo = bit << (k + 1);
                let hi = lo + (1 << k);
                let (lo_free, hi_free) = (pg[lo] == free, hi < n && pg[hi] == free);
                let want = lo_free ^ hi_free;
                let have = (map[bit / 64] >> (bit % 64)) & 1 != 0;
                if have != want {
                    self.problem(format_args!(
                        "P3: region {id} order {k}: pair bit for pages {lo}/{hi} is {}, expected {}",
                        have as u8, want as u8
                    ));
                }
                if lo_free && hi_free {
                    self.problem(format_args!(
                        "P5: region {id} order {k}: buddies at pages {lo} and {hi} are both free"
                    ));
                }
            }
            let last = map.last().copied().unwrap_or(0);
            if bits % 64 != 0 && last >> (bits % 64) != 0 {
                self.problem(format_args!(
                    "P3: region {id} order {k}: bits set past the last pair"
                ));
            }
        }
    }

    /// Walk one list. A node is validated (inside a region, page aligned,
    /// its page byte `want`) before it is followed, so a damaged link is
    /// reported rather than followed into wild memory. Returns whether sound.
    fn check_list(
        &mut self,
        tag: &str,
        what: &str,
        k: usize,
        list: List,
        nr: usize,
        want: u8,
    ) -> bool {
        let z = self.z;
        let mut prev = 0usize;
        let mut cur = list.first.map_or(0, |n| n.addr());
        let mut count = 0;
        while cur != 0 {
            let node = z
                .region_lookup(cur)
                .and_then(|r| r.pos_at(cur))
                .filter(|p| p.pg() == want);
            let Some(pos) = node else {
                self.problem(format_args!(
                    "{tag}: {what} order {k}: node {cur:#x} is not a block of this list"
                ));
                return false;
            };
            let n = pos.node();
            if n.prev() != prev {
                self.problem(format_args!(
                    "{tag}: {what} order {k}: node {cur:#x}: prev does not point back"
                ));
                return false;
            }
            count += 1;
            if count > nr {
                self.problem(format_args!(
                    "{tag}: {what} order {k}: list holds more than its count ({nr})"
                ));
                return false;
            }
            prev = cur;
            cur = n.next();
        }
        if list.last.map_or(0, |n| n.addr()) != prev {
            self.problem(format_args!(
                "{tag}: {what} order {k}: list head's prev is not the last node"
            ));
            return false;
        }
        if count != nr {
            self.problem(format_args!(
                "{tag}: {what} order {k}: list holds {count} blocks but its count is {nr}"
            ));
            return false;
        }
        true
    }

    fn check_lists(&mut self) {
        let z = self.z;
        for (k, fa) in z.free_area.iter().enumerate() {
            self.check_list("P4", "free list", k, fa.list, fa.nr_free, PG_FREE | k as u8);
            let heads = self.free_heads[k];
            if heads != fa.nr_free {
                self.problem(format_args!(
                    "P4: order {k}: {heads} free blocks in the regions but nr_free is {}",
                    fa.nr_free
                ));
            }
            if (z.nonempty >> k) & 1 != (fa.nr_free != 0) as u32 {
                self.problem(format_args!(
                    "P4: order {k}: non-empty mask bit disagrees with nr_free"
                ));
            }
        }
        let mut cached = 0;
        for (k, pc) in z.pcp.iter().enumerate() {
            self.check_list(
                "P6",
                "page cache",
                k,
                pc.list,
                pc.count,
                PG_CACHED | k as u8,
            );
            let heads = self.cached_heads[k];
            if heads != pc.count {
                self.problem(format_args!(
                    "P6: order {k}: {heads} cached blocks in the regions but the cache counts {}",
                    pc.count
                ));
            }
            cached += pc.count << k;
        }
        if cached != z.cached_pages {
            self.problem(format_args!(
                "P6: zone: cache lists hold {cached} pages but cached_pages is {}",
                z.cached_pages
            ));
        }
    }

    fn check_regions(&mut self) {
        let z = self.z;
        let (mut total, mut free_pages, mut meta, mut count) = (0, 0, 0, 0u32);
        let mut max_order = 0;
        for r in z.regions() {
            if let Some(nx) = r.next() {
                if nx.base() < r.end() {
                    self.problem(format_args!(
                        "P1: regions {} and {} overlap or are out of order",
                        r.id(),
                        nx.id()
                    ));
                }
            }
            if r.end() - r.base() != r.nr_pages() << z.page_shift {
                self.problem(format_args!(
                    "P1: region {}: bounds disagree with its page count",
                    r.id()
                ));
            }
            if (count as usize) < NR_REGION_INDEX && z.index[count as usize] != Some(r) {
                self.problem(format_args!(
                    "P1: region {}: not at place {count} of the bisection index",
                    r.id()
                ));
            }
            let mut lg = 0;
            while lg < MAX_ORDER && (2usize << lg) <= r.nr_pages() {
                lg += 1;
            }
            let want = lg.min(z.cfg_max_order);
            if r.max_order() != want {
                self.problem(format_args!(
                    "P9: region {}: max_order {}, expected {want}",
                    r.id(),
                    r.max_order()
                ));
            }
            max_order = max_order.max(r.max_order());
            self.check_blocks(r);
            self.check_bitmaps(r);
            total += r.nr_pages();
            free_pages += r.free_pages();
            meta += r.meta_bytes();
            count += 1;
        }
        if count != z.nr_regions {
            self.problem(format_args!(
                "P1: zone: {count} regions linked but nr_regions is {}",
                z.nr_regions
            ));
        }
        let want = if z.max_order_auto {
            max_order
        } else {
            z.cfg_max_order
        };
        if z.max_order != want {
            self.problem(format_args!(
                "P9: zone: max_order {}, expected {want}",
                z.max_order
            ));
        }
        if z.peak_used_pages < z.total_pages - z.free_pages - z.cached_pages {
            self.problem(format_args!(
                "P8: zone: peak_used_pages {} below the pages in use",
                z.peak_used_pages
            ));
        }
        if total != z.total_pages || free_pages != z.free_pages || meta != z.meta_bytes {
            self.problem(format_args!(
                "P8: zone: totals disagree with the regions (pages {total}/{}, free {free_pages}/{})",
                z.total_pages, z.free_pages
            ));
        }
    }
}

const _: () = assert!(NR_PCP_ORDERS <= NR_ORDERS);

impl Zone {
    /// Verify every invariant (P1..P9, see [`Zone`]): list links, block
    /// markings, the pair bitmaps against the lists, no overlap, counts that
    /// add up. Each problem is passed to `report` as one line starting with
    /// the invariant's tag ("P3: region 0 order 1: ..."), the same text as
    /// the C core's. Returns the number of problems.
    pub fn check(&self, report: &mut dyn FnMut(&str)) -> usize {
        let mut c = Checker {
            z: self,
            report,
            problems: 0,
            free_heads: [0; NR_ORDERS],
            cached_heads: [0; NR_ORDERS],
        };
        c.check_regions();
        c.check_lists();
        c.problems
    }
}

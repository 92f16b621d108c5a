// SPDX-License-Identifier: MIT
//! Model-based random stress of the page allocator. A fixed-seed
//! xorshift64* generator drives a long mix of operations (allocation by
//! order and exact size, the three frees, resize, regions added and removed
//! at run time, deliberately bad calls, cache drains) over zones with 16-,
//! 64-, 256- and 4096-byte pages, the page cache and poisoning on and off.
//! A model records the owner of every page; each result is checked
//! against it:
//!
//! - a returned block lies in a region, is aligned to its order, and covers
//!   only pages the model says are free; its pages carry a tag that must be
//!   intact when it is freed;
//! - an allocation fails exactly when no aligned run of free pages of its
//!   order exists in any region that allows the order; a grow fails exactly
//!   when the pages above are not all free or the region ends;
//! - a bad call returns the expected error and changes nothing;
//! - after every operation the check finds nothing and the statistics
//!   match the model.
//!
//! `BUDDY_MODEL_OPS` sets the total number of operations (default 1,000,000).
#![deny(clippy::undocumented_unsafe_blocks)]

use buddy::{Config, Error, Flags, Stats, Zone};

const NR_SLOTS: usize = 4;
const MAX_PAGES: usize = 200;
const MAX_LIVE: usize = 400;
const MAX_EXACT: usize = 40;

/// xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift generators").
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        ((self.next() >> 11) % n as u64) as usize
    }
}

/// Memory the test owns and hands to the zone through raw pointers only
/// (no reference to it is made while the zone may use it).
struct Raw {
    ptr: *mut u8,
    len: usize,
}

impl Raw {
    fn new(len: usize) -> Raw {
        let b: Box<[u8]> = vec![0u8; len].into_boxed_slice();
        Raw {
            ptr: Box::into_raw(b).cast(),
            len,
        }
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        // SAFETY: made by Box::into_raw in Raw::new with this length; the zone
        // that used it is gone or no longer has the region.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(self.ptr, self.len)) });
    }
}

struct Slot {
    mem: Raw,        // MAX_PAGES + 1 pages, the region starts page-aligned inside
    meta: Raw,       // a separate metadata buffer
    base: usize,     // first page (page-aligned) inside mem
    used: bool,      // in the zone
    nr_pages: usize, // pages the zone manages (after carving)
    max_order: u32,
    owner: Vec<u32>, // live allocation id per page, 0 = free
}

#[derive(Clone, Copy)]
struct Live {
    slot: usize,
    page: usize,
    npages: usize,
    order: u32, // order of the block it came from
    exact: bool,
    id: u32,
}

/// How often each outcome happened (so the test proves it covered them).
#[derive(Default, Debug)]
struct Seen {
    alloc_ok: u64,
    alloc_nomem: u64,
    exact_ok: u64,
    exact_nomem: u64,
    frees: u64,
    grow_ok: u64,
    grow_nomem: u64,
    shrink: u64,
    bad: u64,
    add_ok: u64,
    add_small: u64,
    remove_ok: u64,
    remove_busy: u64,
}

struct Model {
    seen: Seen,
    z: Zone,
    ps: usize,
    zone_max: u32,
    rng: Rng,
    slots: Vec<Slot>,
    live: Vec<Live>,
    next_id: u32,
    peak: usize,
}

fn order_for(n: usize) -> u32 {
    n.next_power_of_two().trailing_zeros()
}

impl Model {
    fn new(cfg: &Config<'_>, seed: u64) -> Model {
        let ps = cfg.page_size;
        let slots = (0..NR_SLOTS)
            .map(|_| {
                let mem = Raw::new((MAX_PAGES + 1) * ps);
                let base = (mem.ptr as usize + ps - 1) & !(ps - 1);
                Slot {
                    mem,
                    meta: Raw::new(8192 + 8),
                    base,
                    used: false,
                    nr_pages: 0,
                    max_order: 0,
                    owner: Vec::new(),
                }
            })
            .collect();
        Model {
            seen: Seen::default(),
            z: Zone::new(cfg).unwrap(),
            ps,
            zone_max: cfg.max_order.unwrap_or(31),
            rng: Rng(seed),
            slots,
            live: Vec::new(),
            next_id: 1,
            peak: 0,
        }
    }

    fn base_ptr(&self, s: usize) -> *mut u8 {
        let sl = &self.slots[s];
        sl.mem.ptr.wrapping_add(sl.base - sl.mem.ptr as usize)
    }

    fn meta_ptr(&self, s: usize) -> *mut u8 {
        let m = self.slots[s].meta.ptr;
        m.wrapping_add(m.align_offset(8))
    }

    /// Slot and page of an address the zone handed out.
    fn locate(&self, a: usize) -> (usize, usize) {
        for (s, sl) in self.slots.iter().enumerate() {
            if sl.used && a >= sl.base && a < sl.base + sl.nr_pages * self.ps {
                assert_eq!((a - sl.base) % self.ps, 0, "block not page-aligned");
                return (s, (a - sl.base) / self.ps);
            }
        }
        panic!("block at {a:#x} is in no region");
    }

    /// Is there an aligned run of 2^order free pages the zone could serve?
    fn fits(&self, order: u32) -> bool {
        let n = 1usize << order;
        self.slots
            .iter()
            .filter(|sl| sl.used && sl.max_order >= order)
            .any(|sl| {
                (0..sl.nr_pages / n).any(|b| sl.owner[b * n..(b + 1) * n].iter().all(|&o| o == 0))
            })
    }

    fn tag(&self, l: &Live) -> *mut u32 {
        self.base_ptr(l.slot).wrapping_add(l.page * self.ps).cast()
    }

    /// Take the pages of a new allocation at address a in the model, tag them.
    fn take(&mut self, a: usize, npages: usize, order: u32, exact: bool) {
        let (s, page) = self.locate(a);
        assert_eq!(page % (1 << order), 0, "block not aligned to its order");
        let id = self.next_id;
        self.next_id += 1;
        let sl = &mut self.slots[s];
        assert!(page + npages <= sl.nr_pages);
        for o in &mut sl.owner[page..page + npages] {
            assert_eq!(*o, 0, "page handed out twice");
            *o = id;
        }
        let l = Live {
            slot: s,
            page,
            npages,
            order,
            exact,
            id,
        };
        for i in 0..npages {
            // SAFETY: the pages are the test's now (the zone handed them out).
            unsafe { self.tag(&l).byte_add(i * self.ps).write_unaligned(id) };
        }
        self.live.push(l);
        let used = self.used();
        self.peak = self.peak.max(used);
    }

    /// Drop live[i] from the model after checking its tags.
    fn give_back(&mut self, i: usize) {
        let l = self.live.swap_remove(i);
        let sl = &mut self.slots[l.slot];
        for o in &mut sl.owner[l.page..l.page + l.npages] {
            *o = 0;
        }
    }

    fn tags_intact(&self, l: &Live) {
        for p in 0..l.npages {
            // SAFETY: the allocation is live: its pages are the test's.
            let t = unsafe { self.tag(l).byte_add(p * self.ps).read_unaligned() };
            assert_eq!(t, l.id, "allocation {} page {p} lost its tag", l.id);
        }
    }

    fn used(&self) -> usize {
        self.slots
            .iter()
            .map(|s| s.owner.iter().filter(|&&o| o != 0).count())
            .sum()
    }

    fn verify(&self) {
        assert_eq!(self.z.check(&mut |m| panic!("check: {m}")), 0);
        let st = self.z.stats();
        let total: usize = self
            .slots
            .iter()
            .filter(|s| s.used)
            .map(|s| s.nr_pages)
            .sum();
        let used = self.used();
        assert_eq!(st.total_pages, total);
        assert_eq!(st.used_pages, used);
        assert_eq!(st.free_pages + st.cached_pages, total - used);
        assert_eq!(
            st.nr_regions as usize,
            self.slots.iter().filter(|s| s.used).count()
        );
        assert!(st.peak_used_pages >= self.peak.min(st.peak_used_pages));
    }

    /* operations */

    fn op_alloc(&mut self) {
        let order = self.rng.below(9) as u32;
        let flags = if self.rng.below(8) == 0 {
            Flags::ZERO
        } else {
            Flags::NONE
        };
        match self.z.alloc_pages(order, flags) {
            Ok(p) => {
                assert!(order <= self.zone_max);
                if flags == Flags::ZERO {
                    // SAFETY: the block is ours: 2^order pages.
                    let b = unsafe { std::slice::from_raw_parts(p.as_ptr(), self.ps << order) };
                    assert!(b.iter().all(|&x| x == 0));
                }
                self.take(p.as_ptr() as usize, 1 << order, order, false);
                self.seen.alloc_ok += 1;
            }
            Err(Error::MaxOrder) => assert!(order > self.zone_max),
            Err(e) => {
                assert_eq!(e, Error::NoMem);
                assert!(
                    order <= self.zone_max && !self.fits(order),
                    "order {order} fits"
                );
                self.seen.alloc_nomem += 1;
            }
        }
    }

    fn op_alloc_exact(&mut self) {
        let n = 1 + self.rng.below(MAX_EXACT);
        let order = order_for(n);
        match self.z.alloc_pages_exact(n, Flags::NONE) {
            Ok(p) => {
                self.take(p.as_ptr() as usize, n, order, !n.is_power_of_two());
                self.seen.exact_ok += 1;
            }
            Err(Error::Count) => assert!(n > 1 << self.zone_max),
            Err(e) => {
                assert_eq!(e, Error::NoMem);
                assert!(!self.fits(order), "{n} pages fit");
                self.seen.exact_nomem += 1;
            }
        }
    }

    fn op_free(&mut self) {
        if self.live.is_empty() {
            return;
        }
        let i = self.rng.below(self.live.len());
        let l = self.live[i];
        self.tags_intact(&l);
        let p = self.tag(&l).cast::<u8>();
        let r = match self.rng.below(3) {
            0 if !l.exact => self.z.free_pages(p, l.order),
            1 => self.z.free_pages_exact(p, l.npages),
            _ => self.z.free(p),
        };
        assert_eq!(r, Ok(()));
        self.give_back(i);
        self.seen.frees += 1;
    }

    fn op_resize(&mut self) {
        if self.live.is_empty() {
            return;
        }
        let i = self.rng.below(self.live.len());
        let l = self.live[i];
        let new = self.rng.below(9) as u32;
        let p = self.tag(&l).cast::<u8>();
        let r = self.z.resize(p, new);
        if l.exact {
            assert_eq!(r, Err(Error::Order));
            return;
        }
        if new > self.zone_max {
            assert_eq!(r, Err(Error::MaxOrder));
            return;
        }
        let sl = &self.slots[l.slot];
        let grow_ok = new <= sl.max_order
            && l.page % (1 << new) == 0
            && l.page + (1 << new) <= sl.nr_pages
            && sl.owner[l.page + l.npages..l.page + (1usize << new).max(l.npages)]
                .iter()
                .all(|&o| o == 0);
        if new > l.order && !grow_ok {
            assert_eq!(r, Err(Error::NoMem));
            self.seen.grow_nomem += 1;
            return;
        }
        assert_eq!(r, Ok(()));
        if new > l.order {
            self.seen.grow_ok += 1;
        } else if new < l.order {
            self.seen.shrink += 1;
        }
        let sl = &mut self.slots[l.slot];
        let (old_n, new_n) = (l.npages, 1usize << new);
        for o in &mut sl.owner[l.page + new_n.min(old_n)..l.page + new_n.max(old_n)] {
            *o = if new_n > old_n { l.id } else { 0 };
        }
        let l = &mut self.live[i];
        l.order = new;
        l.npages = new_n;
        let l = *l;
        for p in old_n..l.npages {
            // SAFETY: the grown pages are the test's now.
            unsafe { self.tag(&l).byte_add(p * self.ps).write_unaligned(l.id) };
        }
        let used = self.used();
        self.peak = self.peak.max(used);
    }

    /// A call that must be refused, and change nothing.
    fn op_bad(&mut self) {
        let before: (Stats, String) = (self.z.stats(), self.z.buddyinfo().to_string());
        let used: Vec<usize> = (0..NR_SLOTS).filter(|&s| self.slots[s].used).collect();
        if used.is_empty() || self.rng.below(8) == 0 {
            let outside = [0u8; 8];
            assert_eq!(
                self.z.free(outside.as_ptr() as *mut u8),
                Err(Error::Outside)
            );
            assert_eq!(self.z.free(std::ptr::null_mut()), Err(Error::Null));
        } else {
            let s = used[self.rng.below(used.len())];
            let page = self.rng.below(self.slots[s].nr_pages);
            let skew = if self.rng.below(4) == 0 {
                1 + self.rng.below(self.ps - 1)
            } else {
                0
            };
            let a = (self.slots[s].base + page * self.ps + skew) as *mut u8;
            let owner = self.slots[s].owner[page];
            let start = self.live.iter().position(|l| l.slot == s && l.page == page);
            match (owner, start) {
                (0, _) => {
                    assert_eq!(self.z.free(a), Err(Error::Double));
                    assert_eq!(self.z.alloc_size(a), Err(Error::Double));
                }
                (_, Some(i)) if skew == 0 => {
                    // A live allocation: the wrong order or count.
                    let l = self.live[i];
                    let wrong = if l.exact { l.order } else { (l.order + 1) % 9 };
                    assert_eq!(self.z.free_pages(a, wrong), Err(Error::Order));
                    assert_eq!(self.z.free_pages_exact(a, l.npages + 1), Err(Error::Order));
                    assert_eq!(self.z.alloc_size(a), Ok(l.npages));
                }
                _ => {
                    assert_eq!(self.z.free(a), Err(Error::NotBlock));
                    assert_eq!(self.z.resize(a, 0), Err(Error::NotBlock));
                }
            }
        }
        assert_eq!((self.z.stats(), self.z.buddyinfo().to_string()), before);
        self.seen.bad += 1;
    }

    fn op_add_region(&mut self) {
        let s = self.rng.below(NR_SLOTS);
        if self.slots[s].used {
            return;
        }
        let ps = self.ps;
        let pages = if self.rng.below(4) == 0 {
            1 + self.rng.below(8)
        } else {
            1 + self.rng.below(MAX_PAGES)
        };
        let len = pages * ps;
        let carved = self.rng.below(2) == 0;
        let need = self.z.meta_size(len);
        let base = self.base_ptr(s);
        let meta_ptr = self.meta_ptr(s);
        let meta = (!carved).then_some((meta_ptr, need));
        // Now and then a bad request first: refused, nothing changes.
        let other = (0..NR_SLOTS).find(|&o| self.slots[o].used);
        let before = self.z.stats();
        match (self.rng.below(6), other) {
            (0, _) => {
                // SAFETY: refused (a length off the page size) before the zone
                // touches any memory.
                let r = unsafe { self.z.add_region(base, len + 8, None) };
                assert_eq!(r, Err(Error::Align));
            }
            (1, _) => {
                // SAFETY: refused (a misaligned base) before the zone touches memory.
                let r = unsafe { self.z.add_region(base.wrapping_add(8), len, None) };
                assert_eq!(r, Err(Error::Align));
            }
            (2, Some(o)) => {
                let ob = self.base_ptr(o);
                let m = Some((meta_ptr, need));
                // SAFETY: refused (it overlaps a region in the zone) before the
                // zone touches any memory.
                let r = unsafe { self.z.add_region(ob, len, m) };
                assert_eq!(r, Err(Error::Overlap));
            }
            _ => {}
        }
        assert_eq!(self.z.stats(), before);
        // SAFETY: the slot's memory and metadata stay allocated for the whole
        // test, and no one else uses them while the region is in the zone.
        let r = unsafe { self.z.add_region(base, len, meta) };
        // Carved metadata takes whole pages behind a guard of at least 64 bytes.
        let guard = if ps >= 64 { 1 } else { 64 / ps };
        let meta_pages = if carved { need.div_ceil(ps) + guard } else { 0 };
        if carved && meta_pages >= pages {
            assert_eq!(r, Err(Error::Small));
            self.seen.add_small += 1;
            return;
        }
        self.seen.add_ok += 1;
        assert_eq!(r, Ok(()));
        let sl = &mut self.slots[s];
        sl.used = true;
        sl.nr_pages = pages - meta_pages;
        sl.max_order = sl.nr_pages.ilog2().min(self.zone_max);
        sl.owner = vec![0; sl.nr_pages];
    }

    fn op_remove_region(&mut self) {
        let s = self.rng.below(NR_SLOTS);
        if !self.slots[s].used {
            return;
        }
        let base = self.base_ptr(s);
        let busy = self.slots[s].owner.iter().any(|&o| o != 0);
        let r = self.z.remove_region(base);
        if busy {
            assert_eq!(r, Err(Error::Busy));
            self.seen.remove_busy += 1;
        } else {
            assert_eq!(r, Ok(()));
            self.slots[s].used = false;
            self.seen.remove_ok += 1;
        }
    }

    fn step(&mut self) {
        match self.rng.below(100) {
            0..=29 => {
                if self.live.len() < MAX_LIVE {
                    self.op_alloc()
                }
            }
            30..=41 => {
                if self.live.len() < MAX_LIVE {
                    self.op_alloc_exact()
                }
            }
            42..=73 => self.op_free(),
            74..=81 => self.op_resize(),
            82..=91 => self.op_bad(),
            92..=95 => self.op_add_region(),
            96..=98 => self.op_remove_region(),
            _ => self.z.drain_cache(),
        }
        self.verify();
    }

    /// Free everything and remove every region: the zone ends empty.
    fn finish(&mut self) {
        while let Some(l) = self.live.last().copied() {
            self.tags_intact(&l);
            self.z.free(self.tag(&l).cast()).unwrap();
            self.give_back(self.live.len() - 1);
        }
        for s in 0..NR_SLOTS {
            if self.slots[s].used {
                let b = self.base_ptr(s);
                self.z.remove_region(b).unwrap();
                self.slots[s].used = false;
            }
        }
        self.verify();
        let st = self.z.stats();
        assert_eq!((st.total_pages, st.free_pages, st.cached_pages), (0, 0, 0));
    }
}

#[test]
fn test_model_stress() {
    let total: u64 = std::env::var("BUDDY_MODEL_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let configs = [
        Config {
            page_size: 4096,
            ..Config::new()
        },
        Config {
            page_size: 64,
            max_order: Some(5),
            pcp_high: 8,
            pcp_max_order: 2,
            ..Config::new()
        },
        Config {
            page_size: 16,
            pcp_high: 4,
            pcp_max_order: 3,
            poison: true,
            ..Config::new()
        },
        Config {
            page_size: 256,
            max_order: Some(3),
            poison: true,
            ..Config::new()
        },
        Config {
            page_size: 16,
            max_order: Some(7),
            pcp_high: 16,
            pcp_max_order: 10,
            ..Config::new()
        },
    ];
    let per = total / configs.len() as u64;
    let mut done = 0;
    for (i, cfg) in configs.iter().enumerate() {
        let mut m = Model::new(cfg, 0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1));
        for _ in 0..per {
            m.step();
            done += 1;
        }
        m.finish();
        let t = &m.seen;
        println!("config {i}: {t:?}");
        let counts = [
            t.alloc_ok,
            t.alloc_nomem,
            t.exact_ok,
            t.exact_nomem,
            t.frees,
            t.grow_ok,
            t.grow_nomem,
            t.shrink,
            t.bad,
            t.add_ok,
            t.add_small,
            t.remove_ok,
            t.remove_busy,
        ];
        if per >= 100_000 {
            assert!(
                counts.iter().all(|&c| c >= 5),
                "config {i} missed an outcome: {t:?}"
            );
        }
    }
    println!("model stress: {done} operations, the check after each");
    assert!(done >= total - configs.len() as u64);
}

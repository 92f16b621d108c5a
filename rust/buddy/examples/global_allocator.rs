// SPDX-License-Identifier: MIT
//! Every allocation of this program comes from a 64 MiB arena in a static
//! (zero-filled, so it takes no room in the program file), managed by the
//! buddy heap behind a spin lock.
use buddy::{Arena, LockedHeap};
use std::collections::BTreeMap;

static ARENA: Arena<[u8; 64 << 20]> = Arena::new();

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::with_arena(&ARENA);

fn main() {
    let text = "the quick brown fox jumps over the lazy dog the end";
    let mut count = BTreeMap::new();
    for w in text.split(' ') {
        *count.entry(w.to_string()).or_insert(0) += 1;
    }
    let sums: Vec<u64> = (1..=4)
        .map(|t| std::thread::spawn(move || (0..10_000u64).map(|i| i * t).collect::<Vec<_>>()))
        .map(|h| h.join().unwrap().iter().sum())
        .collect();
    assert_eq!(count["the"], 3);
    assert_eq!(sums[3], 4 * 49_995_000);

    // Read the statistics under the lock, print after releasing it:
    // printing allocates, and the lock is not reentrant.
    let (stats, problems) = {
        let heap = HEAP.lock();
        (
            heap.zone().stats(),
            heap.zone().check(&mut |m| eprintln!("{m}")),
        )
    };
    println!(
        "{} allocations, {} of 16 bytes in use",
        stats.allocs, stats.used_pages
    );
    assert_eq!(problems, 0);
}

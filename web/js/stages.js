/* SPDX-License-Identifier: MIT */
/*
 * stages.js - one command's work, as stages a person can step through.
 *
 * The session records, per core call, the blocks before and after and the
 * splits and merges the core reported, each with the core's free lists
 * and pair bitmaps at that moment (taken inside the core's log callback).
 * A stage shows:
 *   - the free lists and bits the core held (never recomputed here);
 *   - the block being worked on: for a split, the half that is split next;
 *     for a merge, the block just formed, which is on no list yet;
 *   - the allocations from the walks before and after the call, wherever
 *     the free blocks and the working block leave room.
 * The core logs a split before it happens and a merge after, so the state
 * after split i is the snapshot of event i+1 (or the call's end), and the
 * state after merge i is its own snapshot.
 */
(function (root) {
  'use strict';

  /* Allocated runs of a walk (an exact allocation's blocks joined): [{page, len, blocks}]. */
  function allocRuns(walk) {
    const runs = [];
    for (const b of walk) {
      if (b.state !== 'allocated')
        continue;
      const len = 2 ** b.order;
      const last = runs[runs.length - 1];
      if (!b.first && last && last.page + last.len === b.page) {
        last.len += len;
        last.blocks.push({ page: b.page, len });
      } else {
        runs.push({ page: b.page, len, blocks: [{ page: b.page, len }] });
      }
    }
    return runs;
  }

  /*
   * The blocks to draw: [{page, len, kind: 'free'|'alloc'|'work'|'busy', order, handle}]
   * in page order, covering [0, npages).
   */
  function compose(npages, lists, work, walks, handleAt) {
    const owner = new Int32Array(npages).fill(-1);
    const blocks = [];
    const place = (b) => {
      for (let p = b.page; p < b.page + b.len && p < npages; p++)
        if (owner[p] >= 0)
          return false;
      for (let p = b.page; p < b.page + b.len && p < npages; p++)
        owner[p] = blocks.length;
      blocks.push(b);
      return true;
    };
    lists.forEach((pages, k) => pages.forEach((p) => {
      if (p !== 0xffffffff)
        place({ page: p, len: 2 ** k, kind: 'free', order: k });
    }));
    if (work)
      place({ page: work.page, len: 2 ** work.order, kind: 'work', order: work.order, what: work.what });
    for (const walk of walks) {
      for (const run of allocRuns(walk)) {
        const h = handleAt(run.page);
        if (place({ page: run.page, len: run.len, kind: 'alloc', order: -1, handle: h }))
          continue;
        /* Part of the allocation is still being worked on: show the blocks that are done. */
        for (const b of run.blocks)
          place({ page: b.page, len: b.len, kind: 'alloc', order: -1, handle: h });
      }
    }
    /* Pages no one owns (between two calls of one command): in transit. */
    for (let p = 0; p < npages;) {
      if (owner[p] >= 0) {
        p++;
        continue;
      }
      let q = p;
      while (q < npages && owner[q] < 0)
        q++;
      blocks.push({ page: p, len: q - p, kind: 'busy', order: -1 });
      p = q;
    }
    blocks.sort((a, b) => a.page - b.page);
    return blocks;
  }

  /* A stage's blocks are composed when it is first shown (most stages never are). */
  function lazy(make) {
    let v = null;
    return () => (v || (v = make()));
  }

  const blockText = (page, order) => (order === 0 ? `page ${page}` : `pages ${page}-${page + 2 ** order - 1}`);

  /*
   * Stages of one session result (see session.js): [{blocks, state, phase,
   * ev, focus, fresh, text, final}]; blocks() composes the stage's map.
   * handlesBefore / handlesAfter map an offset in pages to a handle id;
   * npages is the arena's page count.
   */
  function build(result, npages, handlesBefore, handlesAfter, finalState, finalWalk) {
    const stages = [];
    const handleAt = (page) => handlesAfter.get(page) || handlesBefore.get(page) || 0;
    const phases = result.phases.filter((ph) => ph.before && !ph.failed);
    phases.forEach((ph) => {
      const walks = [ph.before.walk, ph.after.walk];
      const info = ph.info;
      const evs = ph.events;
      if (ph === phases[0]) {
        let focus = null;
        let text;
        if (ph.kind === 'alloc') {
          const first = evs[0];
          if (first && first.kind === 'split') {
            focus = { page: first.page, len: 2 ** first.order };
            text = `The smallest non-empty free list at or above the request holds the order-${first.order} block at ${blockText(first.page, first.order)}: it comes off its list.`;
          } else {
            text = `A free block of exactly the order asked for is on its list: it is taken whole.`;
          }
        } else if (ph.kind === 'free') {
          focus = { page: info.page, len: info.npages };
          text = `Freeing ${info.npages === 1 ? `page ${info.page}` : `pages ${info.page}-${info.page + info.npages - 1}`}: its pair bit is toggled; 0 means the buddy is free too, so they merge.`;
        } else {
          focus = { page: info.page, len: info.npages };
          text = info.newOrder < Math.log2(info.npages)
            ? `Shrinking in place: the block is split and its upper halves go back.`
            : `Growing in place: the free buddies above the block are absorbed.`;
        }
        stages.push({ blocks: lazy(() => compose(npages, ph.before.state.lists, null, [ph.before.walk], handleAt)),
                      state: ph.before.state, phase: ph.index, ev: -1, focus, fresh: null, text });
      }
      evs.forEach((ev, i) => {
        if (ev.kind === 'split') {
          const next = evs[i + 1];
          const after = next && next.state ? next.state : ph.after.state;
          const half = 2 ** (ev.order - 1);
          const work = next && next.kind === 'split' ? { page: next.page, order: next.order, what: 'split next' } : null;
          const upper = ev.page + half;
          const freed = after.lists[ev.order - 1] && after.lists[ev.order - 1].includes(upper);
          stages.push({
            blocks: lazy(() => compose(npages, after.lists, work, walks, handleAt)),
            state: after, phase: ph.index, ev: i,
            focus: work ? { page: work.page, len: 2 ** work.order } : { page: ev.page, len: half },
            fresh: freed ? { page: upper, len: half } : null,
            text: `Split the order-${ev.order} block at page ${ev.page} into two order-${ev.order - 1} buddies: ` +
              (freed ? `the upper half (${blockText(upper, ev.order - 1)}) goes on the order-${ev.order - 1} free list` : `both halves are kept (an exact allocation)`) +
              (work ? `, the lower one is split again.` : ', the lower one is kept.'),
          });
        } else {
          const state = ev.state || ph.after.state;
          const half = 2 ** (ev.order - 1);
          const buddy = ev.page + half;
          stages.push({
            blocks: lazy(() => compose(npages, state.lists, { page: ev.page, order: ev.order, what: 'merged' }, walks, handleAt)),
            state, phase: ph.index, ev: i,
            focus: { page: ev.page, len: 2 ** ev.order }, fresh: null,
            text: ph.kind === 'resize'
              ? `The free order-${ev.order - 1} buddy at ${blockText(buddy, ev.order - 1)} leaves its list: the allocation grows to order ${ev.order}, ${blockText(ev.page, ev.order)}.`
              : `Its buddy is free: the two order-${ev.order - 1} blocks at pages ${ev.page} and ${buddy} leave their list and merge into the order-${ev.order} block at ${blockText(ev.page, ev.order)}.`,
          });
        }
      });
    });
    if (!stages.length)
      return [];
    const last = phases[phases.length - 1];
    const focusFinal = result.focusRange || null;
    stages.push({ blocks: lazy(() => compose(npages, finalState.lists, null, [finalWalk], (p) => handlesAfter.get(p) || 0)),
                  state: finalState, phase: last.index + 1, ev: -1, focus: focusFinal, fresh: null,
                  text: 'Done: the free lists, bits and counters now read as below.', final: true });
    return stages;
  }

  const api = { build, compose, allocRuns };
  if (typeof module === 'object' && module.exports)
    module.exports = api;
  else
    root.BuddyStages = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);

/* SPDX-License-Identifier: MIT */
/*
 * core.js - the page allocator core (compiled to WebAssembly from
 * src/page and src/common, with web/wasm/buddy_wasm.c as its API) seen
 * from JavaScript. Used by the page and by the Node.js tests.
 *
 * Every address is an offset in bytes from the arena base; every page a
 * page index within the arena.
 */
(function (root) {
  'use strict';

  const STATUS = {
    OK: 0, ENULL: 1, EOUTSIDE: 2, ENOTBLOCK: 3, EDOUBLE: 4, EORDER: 5, EMAXORDER: 6,
    ECOUNT: 7, ESMALL: 8, EALIGN: 9, EOVERLAP: 10, EMETA: 11, ECONFIG: 12, ENOMEM: 13,
    EBUSY: 14, ECORRUPT: 15,
  };
  const EV_SPLIT = 0;
  const EV_MERGE = 1;
  const BLOCK_STATE = ['free', 'allocated', 'cached'];

  function hexToBytes(hex) {
    const out = new Uint8Array(hex.length >> 1);
    for (let i = 0; i < out.length; i++)
      out[i] = parseInt(hex.substr(2 * i, 2), 16);
    return out;
  }

  /* Parse a state dump (see buddy_wasm.c, state_dump) starting at words[at]. */
  function parseState(words, at, len) {
    let i = at;
    const end = at + len;
    const next = () => {
      if (i >= end)
        throw new Error('state dump ends early');
      return words[i++];
    };
    const nonempty = next();
    const top = next();
    const lists = [];
    for (let k = 0; k <= top; k++) {
      const n = next();
      const pages = new Array(n);
      for (let j = 0; j < n; j++)
        pages[j] = words[i++];
      lists.push(pages);
    }
    const nmaps = next();
    const maps = [];
    for (let k = 0; k < nmaps; k++) {
      const bits = next();
      const nw = (bits + 31) >>> 5;
      const arr = new Uint8Array(bits);
      for (let w = 0; w < nw; w++) {
        const word = words[i++];
        for (let b = 0; b < 32 && w * 32 + b < bits; b++)
          arr[w * 32 + b] = (word >>> b) & 1;
      }
      maps.push(arr);
    }
    return { nonempty: nonempty >>> 0, top, lists, maps };
  }

  class Core {
    /* bytes: the module's bytes (Uint8Array), or omitted for the page's embedded copy. */
    constructor(bytes) {
      if (!bytes)
        bytes = hexToBytes(root.BUDDY_WASM_HEX);
      const mod = new WebAssembly.Module(bytes);
      this.x = new WebAssembly.Instance(mod, {}).exports;
      this.pageSize = 0;
      this.arenaBytes = 0;
    }

    u32(ptr, n) {
      return new Uint32Array(this.x.memory.buffer, ptr, n);
    }

    str(ptr) {
      const b = new Uint8Array(this.x.memory.buffer);
      let end = ptr;
      while (b[end])
        end++;
      let s = '';
      for (let i = ptr; i < end; i++)
        s += String.fromCharCode(b[i]);
      return s;
    }

    /* A fresh zone; maxOrder -1 for auto. Returns a status (0 = OK). */
    reset(arenaBytes, pageSize, maxOrder) {
      const st = this.x.bw_reset(arenaBytes >>> 0, pageSize >>> 0, maxOrder);
      if (st === 0) {
        this.pageSize = pageSize;
        this.arenaBytes = arenaBytes;
      }
      return st;
    }

    /* Start an operation: forget the last events; snapshots on or off. */
    begin(snapshots) { this.x.bw_begin(snapshots ? 1 : 0); }

    /* Offset of 2^order pages, or -1. */
    alloc(order, zero) { return this.x.bw_alloc(order >>> 0, zero ? 1 : 0); }
    allocExact(npages, zero) { return this.x.bw_alloc_exact(npages >>> 0, zero ? 1 : 0); }
    free(off) { return this.x.bw_free(off >>> 0); }
    resize(off, order) { return this.x.bw_resize(off >>> 0, order >>> 0); }
    copy(dst, src, n) { this.x.bw_copy(dst >>> 0, src >>> 0, n >>> 0); }
    allocSize(off) { return this.x.bw_alloc_size(off >>> 0); }
    lastError() { return this.x.bw_last_error(); }
    strerror(st) { return this.str(this.x.bw_strerror(st)); }
    buddyinfo() { return this.str(this.x.bw_buddyinfo()); }
    fragIndex(order) { return this.x.bw_frag_index(order); }
    unusableIndex(order) { return this.x.bw_unusable_index(order); }
    pointerBytes() { return this.x.bw_pointer_bytes(); }
    metaBytes() { return this.x.bw_meta_bytes(); }

    stats() {
      const v = this.u32(this.x.bw_stats(), 12);
      return {
        page_size: v[0], max_order: v[1], total_pages: v[2], free_pages: v[3],
        used_pages: v[4], peak_used_pages: v[5], meta_bytes: v[6], allocs: v[7],
        frees: v[8], failures: v[9], nr_regions: v[10], arena_bytes: v[11],
      };
    }

    /* Every block in address order: {page, order, state, first}. */
    walk() {
      const n = this.x.bw_walk();
      const v = this.u32(this.x.bw_walk_buf(), 4 * n);
      const out = new Array(n);
      for (let i = 0; i < n; i++)
        out[i] = { page: v[4 * i], order: v[4 * i + 1], state: BLOCK_STATE[v[4 * i + 2]],
                   first: v[4 * i + 3] === 1 };
      return out;
    }

    /* Free lists (page indices, head first), non-empty mask and pair bitmaps now. */
    state() {
      const n = this.x.bw_state();
      return parseState(this.u32(this.x.bw_state_buf(), n), 0, n);
    }

    /* Splits and merges of the calls since begin(), with their snapshots when asked for. */
    events() {
      const len = this.x.bw_events_len();
      const v = this.u32(this.x.bw_event_buf(), len);
      const out = [];
      for (let i = 0; i < len;) {
        const ev = { kind: v[i] === EV_SPLIT ? 'split' : 'merge', order: v[i + 1], page: v[i + 2] };
        const words = v[i + 3];
        i += 4;
        if (words)
          ev.state = parseState(v, i, words);
        i += words;
        out.push(ev);
      }
      out.lost = this.x.bw_events() - out.length;
      out.truncated = this.x.bw_events_truncated() !== 0;
      return out;
    }

    /* Problems the core's own check finds: {count, lines}. */
    check() {
      const count = this.x.bw_check();
      const text = this.str(this.x.bw_check_text());
      return { count, lines: text ? text.replace(/\n$/, '').split('\n') : [] };
    }
  }

  const api = { Core, STATUS, EV_SPLIT, EV_MERGE, hexToBytes, parseState };
  if (typeof module === 'object' && module.exports)
    module.exports = api;
  else
    root.BuddyCore = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);

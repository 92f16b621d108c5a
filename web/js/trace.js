/* SPDX-License-Identifier: MIT */
/*
 * trace.js - CS:APP malloc-lab `.rep` traces, read as the native replay
 * reader (tools/replay/trace.c) reads them, and turned into `buddy`
 * commands.
 *
 * Format: a header of up to four numbers (on one line or one per line),
 * then one operation a line: `a ID BYTES` (malloc), `r ID BYTES`
 * (realloc; of an ID that is not live: realloc(NULL), a malloc), `f ID`
 * (free; `f -1` is free(NULL)). IDs may be reused once freed; lines
 * starting with '#' are comments.
 *
 * Playing a trace on the page allocator: malloc is `malloc BYTES` (the
 * smallest block of whole pages that holds them), realloc is `realloc #N
 * BYTES`, free is `free #N`. An allocation that fails leaves its ID
 * without a block; a later free of it is free(NULL).
 */
(function (root) {
  'use strict';

  class TraceError extends Error {}

  /* Parse text; returns {ops: [{op: 'a'|'r'|'f', id, size}], header}. Throws TraceError "name:line: message". */
  function parse(text, name) {
    const lines = text.split('\n');
    const live = new Set();
    const ops = [];
    const header = [];
    let inOps = false;
    const fail = (i, msg) => { throw new TraceError(`${name}:${i + 1}: ${msg}`); };
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].replace(/\r$/, '').trim();
      if (!line || line[0] === '#')
        continue;
      if (!inOps && /^[-0-9]/.test(line)) {
        for (const w of line.split(/[ \t]+/)) {
          if (!/^-?[0-9]+$/.test(w))
            fail(i, 'bad header: expected numbers');
          header.push(Number(w));
          if (header.length > 4)
            fail(i, 'header has more than 4 numbers');
        }
        continue;
      }
      if (!inOps && header.length && header.length < 3)
        fail(i, `header has ${header.length} numbers, expected 4`);
      inOps = true;
      const w = line.split(/[ \t]+/);
      const op = w[0];
      if (op !== 'a' && op !== 'r' && op !== 'f')
        fail(i, `unknown operation '${op.slice(0, 20)}'`);
      if (w.length !== (op === 'f' ? 2 : 3))
        fail(i, op === 'f' ? 'expected: f ID' : `expected: ${op} ID BYTES`);
      if (op === 'f' && w[1] === '-1') {
        ops.push({ op: 'f', id: -1, size: 0 });
        continue;
      }
      if (!/^[0-9]+$/.test(w[1]))
        fail(i, w[1][0] === '-' ? 'negative block id' : 'expected a block id');
      const id = Number(w[1]);
      let size = 0;
      if (op !== 'f') {
        if (!/^[0-9]+$/.test(w[2]))
          fail(i, 'expected a size in bytes');
        size = Number(w[2]);
      }
      if (op === 'a' && live.has(id))
        fail(i, `allocation of id ${id}, which is already allocated`);
      if (op === 'f' && !live.has(id))
        fail(i, `free of id ${id}, which is not allocated`);
      if (op === 'f')
        live.delete(id);
      else
        live.add(id);
      ops.push({ op, id, size });
    }
    if (!ops.length)
      throw new TraceError(`${name}: no operations (is this a .rep trace?)`);
    return { ops, header };
  }

  /*
   * A player: feeds a parsed trace to a session, one op at a time, and
   * keeps the counts the page draws. step() runs the next op and returns
   * {line, result} (line null when the op does nothing: free of NULL or
   * of an allocation that failed).
   */
  class Player {
    constructor(session, trace) {
      this.s = session;
      this.trace = trace;
      this.pos = 0;
      this.handle = new Map(); /* trace id -> handle id */
      this.live = 0;           /* bytes asked for and still live */
      this.failures = 0;
      this.samples = [];       /* [op index, footprint bytes, live bytes] */
      this.peakLive = 0;
      this.peakFoot = 0;
    }

    done() { return this.pos >= this.trace.ops.length; }

    /* The buddy command for the next op, or null when it does nothing. */
    command(o) {
      if (o.op === 'f') {
        const h = this.handle.get(o.id);
        return h ? `free #${h}` : null;
      }
      const h = o.op === 'r' ? this.handle.get(o.id) : 0;
      return h ? `realloc #${h} ${o.size}` : `malloc ${o.size}`;
    }

    step() {
      const o = this.trace.ops[this.pos++];
      const line = this.command(o);
      let result = null;
      if (line) {
        const h = this.handle.get(o.id);
        const before = h ? this.s.handleFind(h) : null;
        const asked = before ? before.asked : 0;
        result = this.s.exec(line);
        if (result.error) {
          this.failures++;
          if (o.op === 'a' || (o.op === 'r' && !h))
            this.handle.delete(o.id);
        } else if (o.op === 'f') {
          this.live -= asked;
          this.handle.delete(o.id);
        } else if (o.op === 'r' && h) {
          this.live += o.size - asked;
        } else {
          this.live += o.size;
          this.handle.set(o.id, this.s.nextId - 1);
        }
      } else if (o.op !== 'f' || o.id !== -1) {
        this.handle.delete(o.id);
      }
      const st = this.s.stats();
      const foot = st.used_pages * st.page_size;
      this.peakLive = Math.max(this.peakLive, this.live);
      this.peakFoot = Math.max(this.peakFoot, foot);
      this.samples.push([this.pos, foot, this.live]);
      return { line, result, op: o };
    }
  }

  const pow2ceil = (v) => 2 ** Math.ceil(Math.log2(Math.max(1, v)));

  /*
   * An arena for a trace nobody has tuned. For each page size from 16 B to
   * 64 KiB, the trace's peak footprint is worked out with every request
   * rounded up to a power-of-two run of pages, as the page allocator
   * holds it. The first page size for which twice that peak (room for the
   * fragmentation the buddy system causes) fits in `easy` pages is used;
   * failing that, the first for which the peak itself fits in `most`
   * pages and `maxBytes`; failing that, the largest arena there is.
   * Returns {arenaBytes, pageSize, peakLive, maxRequest}. The trace may
   * still fail here and there; the page counts those failures.
   */
  function suggest(trace, easy, most, maxBytes) {
    let maxRequest = 1;
    for (const o of trace.ops)
      maxRequest = Math.max(maxRequest, o.size);
    let peakLive = 0;
    const peaks = [];
    for (let p = 16; p <= 65536; p *= 2) {
      const size = new Map();
      const held = (n) => pow2ceil(Math.ceil(Math.max(1, n) / p)) * p;
      let foot = 0;
      let peak = 0;
      let live = 0;
      for (const o of trace.ops) {
        if (size.has(o.id)) {
          foot -= held(size.get(o.id));
          live -= size.get(o.id);
          size.delete(o.id);
        }
        if (o.op === 'f')
          continue;
        size.set(o.id, o.size);
        foot += held(o.size);
        live += o.size;
        peak = Math.max(peak, foot);
        peakLive = Math.max(peakLive, live);
      }
      peaks.push({ p, peak, big: pow2ceil(maxRequest / p) });
    }
    const fit = (x, factor, pages) => {
      const n = Math.max(pow2ceil((factor * x.peak) / x.p), x.big, 16);
      return n <= pages && n * x.p <= maxBytes ? n : 0;
    };
    for (const [factor, pages] of [[2, easy], [1, most]]) {
      for (const x of peaks) {
        const n = fit(x, factor, pages);
        if (n)
          return { arenaBytes: (factor === 1 ? Math.min(most, maxBytes / x.p) : n) * x.p, pageSize: x.p, peakLive, maxRequest };
      }
    }
    const p = Math.max(16, Math.min(65536, pow2ceil(maxBytes / most)));
    return { arenaBytes: Math.min(most * p, maxBytes), pageSize: p, peakLive, maxRequest };
  }

  const api = { parse, Player, TraceError, suggest };
  if (typeof module === 'object' && module.exports)
    module.exports = api;
  else
    root.BuddyTrace = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);

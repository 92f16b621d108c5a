/* SPDX-License-Identifier: MIT */
/*
 * session.js - the `buddy` command's pages mode, on the WebAssembly core:
 * the same command language, the same handles (#1, #2, ...) and the same
 * output, line for line, so that what the page says can be checked
 * against what the native command prints (tests/web/browser_test.js).
 *
 * Besides the text, every command records what the core did, one phase
 * per core call: the blocks and the free lists and pair bitmaps before
 * and after, and the splits and merges the core reported in between, each
 * with a snapshot of the lists and bitmaps at that moment. The page turns
 * those into the stages it steps through (stages.js).
 *
 * Narration lines are built from segments {text, ev}: ev is the index of
 * the split or merge event (within its phase) the text tells of, so the
 * page can highlight the words of the stage it shows. Joined, the texts
 * are exactly the command's output.
 */
(function (root) {
  'use strict';

  const LINE_MAX = 1024;
  const MAX_EVENTS = 96; /* events the command keeps per command (SESSION_MAX_EVENTS) */
  const U64_MAX = (1n << 64n) - 1n;

  const SPECS = [
    ['alloc', 'n', 'alloc ORDER', 'allocate a block of 2^ORDER pages (pages mode)'],
    ['pages', 'n', 'pages N', 'exactly N pages; the tail goes back (pages mode)'],
    ['malloc', 's', 'malloc BYTES', 'allocate BYTES bytes (suffixes K, M, G)'],
    ['calloc', 'ns', 'calloc N SIZE', 'allocate N * SIZE zeroed bytes'],
    ['realloc', 'hs', 'realloc #ID BYTES', 'resize #ID to BYTES, in place when its buddies allow'],
    ['free', 't', 'free #ID | free OFFSET', 'free by handle, or by offset from the arena start'],
    ['map', '', 'map', 'draw the arena, with the free lists and a legend'],
    ['lists', '', 'lists', 'show the free list of every order'],
    ['buddyinfo', '', 'buddyinfo', 'print the /proc/buddyinfo line'],
    ['stats', '', 'stats', "show the allocator's counters"],
    ['frag', 'N', 'frag [ORDER]', 'fragmentation and unusable-space indices per order'],
    ['check', '', 'check', 'verify every invariant of the allocator'],
    ['handles', '', 'handles', 'list the live allocations'],
    ['slabinfo', '', 'slabinfo', 'print /proc/slabinfo for the size classes (kmalloc mode)'],
    ['save', 'f', 'save FILE.svg', 'write the map as an SVG image'],
    ['reset', '', 'reset', 'start again on a fresh arena; handles restart at #1'],
    ['help', 'w', 'help [COMMAND]', 'list the commands, or explain one'],
    ['quit', '', 'quit', 'end the session (also: exit, or end of input)'],
    ['exit', '', 'exit', 'end the session'],
  ].map(([name, args, usage, help]) => ({ name, args, usage, help }));

  /* --- formatting, as the C code's printf formats --- */

  const hex = (v) => '0x' + BigInt(v).toString(16);
  const pad = (s, w) => (s.length >= w ? s : ' '.repeat(w - s.length) + s);
  const padRight = (s, w) => (s.length >= w ? s : s + ' '.repeat(w - s.length));

  /* "4 KiB", "1.5 MiB", "100 B" (session.c fmt_size; %.1f rounds half to even). */
  function fmtSize(bytes) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let u = 0;
    let whole = bytes;
    let rem = 0;
    while (whole >= 1024 && u < 4) {
      rem = whole % 1024;
      whole = Math.floor(whole / 1024);
      u++;
    }
    if (rem === 0)
      return `${whole} ${units[u]}`;
    /* tenths = round(10 * rem / 1024), ties to even, as printf does on the exact value */
    let tenths = Math.floor((rem * 10) / 1024);
    const frac2 = ((rem * 10) % 1024) * 2;
    if (frac2 > 1024 || (frac2 === 1024 && tenths % 2 === 1))
      tenths++;
    let w = whole;
    if (tenths === 10) {
      w++;
      tenths = 0;
    }
    return `${w}.${tenths} ${units[u]}`;
  }

  function rangeText(first, npages) {
    return npages === 1 ? `page ${first}` : `pages ${first}-${first + npages - 1}`;
  }

  function orderFor(npages) {
    let k = 0;
    while (2 ** k < npages)
      k++;
    return k;
  }

  const isPow2 = (n) => n > 0 && (n & (n - 1)) === 0;

  /* --- the command language (parse.c) --- */

  const isDigit = (c) => c >= '0' && c <= '9';
  const isXDigit = (c) => isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');

  function wordShow(w) {
    let s = '';
    let i = 0;
    for (; i < w.length && i < 24; i++) {
      const c = w.charCodeAt(i);
      s += c >= 0x20 && c < 0x7f ? w[i] : '?';
    }
    if (i < w.length)
      s += '...';
    return s;
  }

  function commentStart(line) {
    let i = 0;
    while (line[i] === ' ' || line[i] === '\t')
      i++;
    if (line[i] === '#')
      return i;
    for (; i < line.length; i++) {
      if (line[i] !== '#' || i === 0)
        continue;
      const afterBlank = line[i - 1] === ' ' || line[i - 1] === '\t';
      if (afterBlank && !isDigit(line[i + 1] || ''))
        return i;
    }
    return i;
  }

  /* A number: decimal or 0x hex, with K/M/G (and B or iB) when size; BigInt, or -1 / -2. */
  function numberParse(w, size) {
    let v = 0n;
    let base = 10n;
    let p = 0;
    if (w[0] === '0' && (w[1] === 'x' || w[1] === 'X')) {
      base = 16n;
      p = 2;
    }
    const c0 = w[p] || '';
    if (!isXDigit(c0) || (base === 10n && !isDigit(c0)))
      return -1;
    for (; p < w.length && isXDigit(w[p]); p++) {
      if (base === 10n && !isDigit(w[p]))
        return -1;
      const d = BigInt(parseInt(w[p], 16));
      if (v > (U64_MAX - d) / base)
        return -2;
      v = v * base + d;
    }
    if (p < w.length && size) {
      const u = 'KMG'.indexOf(w[p].toUpperCase());
      if (u < 0)
        return -1;
      const shift = BigInt(10 * (u + 1));
      if (v > U64_MAX >> shift)
        return -2;
      v <<= shift;
      p++;
      if (w[p] === 'i' && w[p + 1] === 'B')
        p += 2;
      else if (w[p] === 'B')
        p++;
    }
    if (p < w.length)
      return -1;
    return v;
  }

  function handleParse(w) {
    if (w[0] !== '#' || !isDigit(w[1] || ''))
      return -1;
    const v = numberParse(w.slice(1), false);
    if (typeof v !== 'bigint' || v === 0n || v > 0xffffffffn)
      return -1;
    return Number(v);
  }

  class ParseError extends Error {}

  function argParse(cmd, sp, a, w) {
    if (a === 'n' || a === 'N' || a === 's') {
      const v = numberParse(w, a === 's');
      if (v === -1)
        throw new ParseError(`${sp.name}: '${wordShow(w)}' is not a number`);
      if (v === -2)
        throw new ParseError(`${sp.name}: '${wordShow(w)}' is too large`);
      cmd.num.push(v);
    } else if (a === 'h' || (a === 't' && w[0] === '#')) {
      const h = handleParse(w);
      if (h < 0)
        throw new ParseError(`${sp.name}: '${wordShow(w)}' is not a handle (like #3)`);
      cmd.handle = h;
      cmd.hasHandle = true;
    } else if (a === 't') {
      const v = numberParse(w, false);
      if (typeof v !== 'bigint')
        throw new ParseError(`${sp.name}: '${wordShow(w)}' is neither a handle (#3) nor an offset`);
      cmd.num = [v];
    } else if (a === 'f') {
      if (w.length >= 512)
        throw new ParseError(`${sp.name}: file name too long`);
      cmd.text = w;
    } else {
      if (!SPECS.some((s) => s.name === w))
        throw new ParseError(`help: no command '${wordShow(w)}'`);
      cmd.text = w;
    }
  }

  /*
   * Edit distance ignoring case, a swap of neighbours counting one (optimal
   * string alignment); words over 15 characters are far from all (parse.c).
   */
  function editDistance(a, b) {
    if (a.length > 15 || b.length > 15)
      return 99;
    const d = [];
    for (let i = 0; i <= a.length; i++)
      d.push([i]);
    for (let j = 0; j <= b.length; j++)
      d[0][j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++) {
        const same = a[i - 1].toLowerCase() === b[j - 1].toLowerCase();
        let v = Math.min(d[i - 1][j - 1] + (same ? 0 : 1), d[i - 1][j] + 1, d[i][j - 1] + 1);
        if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
          v = Math.min(v, d[i - 2][j - 2] + 1);
        d[i][j] = v;
      }
    return d[a.length][b.length];
  }

  /* After "unknown command 'w'": the command in other case, else the nearest (at most two edits), else help. */
  function suggest(w) {
    let best = 3;
    let found = [];
    for (const sp of SPECS) {
      const d = editDistance(w, sp.name);
      if (d === 0)
        return `commands are lower case: '${sp.name}'`;
      if (2 * d >= w.length)
        continue;
      if (d < best) {
        best = d;
        found = [];
      }
      if (d === best && found.length < 3)
        found.push(`'${sp.name}'`);
    }
    return found.length ? `did you mean ${found.join(' or ')}?` : "try 'help'";
  }

  /* A line into {name, num: [BigInt], handle, hasHandle, text}; null for a blank line. Throws ParseError. */
  function parseLine(line) {
    const len = commentStart(line);
    if (len > LINE_MAX)
      throw new ParseError(`line too long (over ${LINE_MAX} bytes)`);
    const words = line.slice(0, len).split(/[ \t\r\n]+/).filter((w) => w.length);
    if (!words.length)
      return null;
    const sp = SPECS.find((s) => s.name === words[0]);
    if (!sp)
      throw new ParseError(`unknown command '${wordShow(words[0])}' (${suggest(words[0])})`);
    if (words.length > 4)
      throw new ParseError(`${sp.name}: too many arguments (usage: ${sp.usage})`);
    const want = sp.args.length;
    const need = want && /[Nw]$/.test(sp.args) ? want - 1 : want;
    if (words.length - 1 < need)
      throw new ParseError(`${sp.name}: missing argument (usage: ${sp.usage})`);
    if (words.length - 1 > want)
      throw new ParseError(`${sp.name}: too many arguments (usage: ${sp.usage})`);
    const cmd = { name: sp.name === 'exit' ? 'quit' : sp.name, num: [], handle: 0, hasHandle: false, text: '' };
    for (let i = 1; i < words.length; i++)
      argParse(cmd, sp, sp.args[i - 1], words[i]);
    return cmd;
  }

  function helpText(topic) {
    if (topic) {
      const sp = SPECS.find((s) => s.name === topic);
      return sp ? `usage: ${sp.usage}\n  ${sp.help}\n` : '';
    }
    let s = 'commands:\n';
    for (const sp of SPECS)
      if (sp.name !== 'exit')
        s += `  ${padRight(sp.usage, 24)} ${sp.help}\n`;
    return s + "Handles are #1, #2, ...; offsets count bytes from the arena start.\n" +
      "'#' starts a comment, except in a handle like #3.\n";
  }

  class CommandError extends Error {}

  /* --- narration (cmd_pages.c), as segments --- */

  /* Output being built: lines of segments. */
  class Out {
    constructor() { this.lines = [[]]; }
    put(text, ev, phase) {
      const parts = text.split('\n');
      parts.forEach((p, i) => {
        if (i > 0)
          this.lines.push([]);
        if (p)
          this.lines[this.lines.length - 1].push({ text: p, ev: ev === undefined ? -1 : ev, phase });
      });
    }
    text() { return this.lines.map((l) => l.map((s) => s.text).join('')).join('\n'); }
  }

  /*
   * "split order 6 at page 0 -> 5 -> 4", the buddies freed past the block
   * taken, and for an exact allocation its trimmed tail; lines start with
   * ind. t: {keptEnd, blockEnd, order} (cmd_pages.c struct taken).
   */
  function splitsPrint(out, events, lost, t, ind, phase) {
    const freed = [];
    let prev = null;
    events.forEach((ev, i) => {
      if (ev.kind !== 'split')
        return;
      if (prev && ev.page === prev.page && ev.order + 1 === prev.order)
        out.put(` -> ${ev.order - 1}`, i, phase);
      else
        out.put(`${prev ? '; ' : ind + 'split '}order ${ev.order} at page ${ev.page} -> ${ev.order - 1}`, i, phase);
      const upper = ev.page + 2 ** (ev.order - 1);
      if (upper >= t.blockEnd)
        freed.push([upper, i]);
      prev = ev;
    });
    if (!prev)
      return;
    out.put('\n', -1, phase);
    if (freed.length) {
      out.put(`${ind}buddies freed at page${freed.length === 1 ? '' : 's'}`, -1, phase);
      freed.forEach(([p, i], j) => out.put(`${j ? ',' : ''} ${p}`, i, phase));
      out.put(`${lost ? ' (and more)' : ''}\n`, -1, phase);
    }
    if (t.keptEnd < t.blockEnd)
      out.put(`${ind}trimmed: the order-${t.order} block's unused tail, ${rangeText(t.keptEnd, t.blockEnd - t.keptEnd)}, ` +
        'went back to the free lists\n', -1, phase);
  }

  /* "  merged with buddies at pages 1, 2 -> order 2 at page 0"; returns the merges. */
  function mergesPrint(out, events, lost, a, np, ind, phase) {
    let ch = null;
    let chains = 0;
    let merges = 0;
    const chainPrint = (c, first) => {
      out.put(`${first ? ind + 'merged with' : '; with'} ${c.buddies.length === 1 ? 'buddy at page' : 'buddies at pages'}`, -1, phase);
      c.buddies.forEach(([b, i], j) => out.put(`${j ? ',' : ''} ${b}`, i, phase));
      out.put(` -> order ${c.order} at page ${c.page}`, c.last, phase);
    };
    events.forEach((ev, i) => {
      if (ev.kind !== 'merge')
        return;
      const cont = ch && ev.order === ch.order + 1 && ev.page === ch.page - (ch.page % 2 ** ev.order);
      if (!cont) {
        if (ch)
          chainPrint(ch, chains++ === 0);
        const upper = ev.page + 2 ** (ev.order - 1);
        ch = { buddies: [], page: upper >= a && upper < a + np ? upper : ev.page, order: 0, last: i };
      }
      if (ch.buddies.length < 32)
        ch.buddies.push([ch.page ^ 2 ** (ev.order - 1), i]);
      ch.page = ev.page;
      ch.order = ev.order;
      ch.last = i;
      merges++;
    });
    if (ch) {
      chainPrint(ch, chains === 0);
      out.put(`${lost ? ' (and more)' : ''}\n`, -1, phase);
    }
    return merges;
  }

  /* --- the session --- */

  class Session {
    /* opts: {arenaBytes, pageSize, maxOrder (-1: auto)}; record: keep phases for the stages. */
    constructor(core, opts) {
      this.core = core;
      this.opts = { arenaBytes: opts.arenaBytes, pageSize: opts.pageSize, maxOrder: opts.maxOrder };
      this.record = true;
      this.handles = [];
      this.nextId = 1;
    }

    /* Set up the arena; null, or a message. */
    start() {
      const st = this.core.reset(this.opts.arenaBytes, this.opts.pageSize, this.opts.maxOrder);
      this.handles = [];
      this.nextId = 1;
      return st ? `cannot set up the zone: ${this.core.strerror(st)}` : null;
    }

    stats() { return this.core.stats(); }

    pageOf(off) { return Math.floor(off / this.opts.pageSize); }

    handleFind(id) { return this.handles.find((h) => h.id === id) || null; }
    handleAt(off) { return this.handles.find((h) => h.off === off) || null; }

    snapshot() {
      return { walk: this.core.walk(), state: this.core.state() };
    }

    /* Run fn (one core call) as a phase of the current command. */
    phase(kind, info, fn) {
      const rec = this.record;
      const before = rec ? this.snapshot() : null;
      this.core.begin(rec);
      const result = fn();
      const events = this.core.events();
      const kept = events.slice(0, Math.max(0, MAX_EVENTS - this.eventsSeen));
      this.eventsLost += events.length - kept.length + events.lost;
      this.eventsSeen += kept.length;
      const ph = { kind, info, events: kept, before, after: rec ? this.snapshot() : null, index: this.cur.phases.length };
      this.cur.phases.push(ph);
      return { result, ph };
    }

    coreFail(what) {
      const st = this.core.lastError();
      if (st === 13) {
        const s = this.stats();
        return new CommandError(`${what}: out of memory: no free block large enough (${s.free_pages} of ${s.total_pages} pages free)`);
      }
      return new CommandError(`${what}: ${this.core.strerror(st)}`);
    }

    /* Pages for an allocation command: {np, exact}. */
    requestOf(c) {
      const s = this.stats();
      const maxp = 2 ** s.max_order;
      const exact = c.name === 'pages';
      let bytes = c.num[0];
      if (c.name === 'alloc') {
        if (c.num[0] > BigInt(s.max_order))
          throw new CommandError(`alloc: order ${c.num[0]} above the maximum (${s.max_order})`);
        return { np: 2 ** Number(c.num[0]), exact };
      }
      if (c.name === 'calloc') {
        if (c.num[1] && c.num[0] > U64_MAX / c.num[1])
          throw new CommandError(`calloc: ${c.num[0]} * ${c.num[1]} overflows`);
        bytes = c.num[0] * c.num[1];
      }
      if (c.name === 'pages') {
        if (c.num[0] === 0n || c.num[0] > BigInt(maxp))
          throw new CommandError(`pages: count must be 1 to ${maxp} (the largest block)`);
        return { np: Number(c.num[0]), exact };
      }
      if (bytes === 0n || bytes > BigInt(maxp) * BigInt(s.page_size))
        throw new CommandError(`${c.name}: size must be 1 to ${maxp * s.page_size} bytes (the largest block)`);
      const pages = Number((bytes + BigInt(s.page_size) - 1n) / BigInt(s.page_size));
      return { np: 2 ** orderFor(pages), exact };
    }

    cmdAlloc(c, out) {
      const { np, exact } = this.requestOf(c);
      const zero = c.name === 'calloc';
      const { result: off, ph } = this.phase('alloc', { npages: np, exact }, () =>
        exact ? this.core.allocExact(np, zero) : this.core.alloc(orderFor(np), zero));
      if (off < 0)
        throw this.coreFail(c.name);
      const asked = c.name === 'calloc' ? Number(c.num[0] * c.num[1])
        : c.name === 'malloc' ? Number(c.num[0]) : np * this.opts.pageSize;
      const h = { id: this.nextId++, off, bytes: np * this.opts.pageSize, asked };
      this.handles.push(h);
      ph.info.handle = h.id;
      ph.info.page = this.pageOf(off);
      const pg = this.pageOf(off);
      out.put(`#${h.id} = ${c.name}${c.num.map((v) => ' ' + v).join('')} -> ${rangeText(pg, np)}` +
        ` (offset ${hex(off)}, order ${orderFor(np)}${exact && !isPow2(np) ? ', trimmed' : ''})\n`, -1, ph.index);
      if (ph.events.length)
        splitsPrint(out, ph.events, this.eventsLost,
          { keptEnd: pg + np, blockEnd: pg + 2 ** orderFor(np), order: orderFor(np) }, '  ', ph.index);
      else
        out.put(`  taken whole from the order-${orderFor(np)} free list, no split\n`, -1, ph.index);
      this.cur.focus = h.id;
    }

    /*
     * The live allocation a free or realloc names, or a CommandError saying
     * why there is none, worded as the command does (session.c session_target).
     */
    targetOf(c) {
      if (c.hasHandle) {
        const h = this.handleFind(c.handle);
        if (h)
          return h;
        if (c.handle < this.nextId)
          throw new CommandError(`${c.name}: #${c.handle} was freed already (${c.name === 'free' ? 'a double free' : 'a use after free'})`);
        throw new CommandError(this.nextId > 1 ? `${c.name}: there is no #${c.handle} (the last allocation was #${this.nextId - 1})`
          : `${c.name}: there is no #${c.handle} (nothing has been allocated)`);
      }
      const off = c.num[0];
      const inArena = off < BigInt(this.opts.arenaBytes);
      const h = inArena ? this.handleAt(Number(off)) : null;
      if (h)
        return h;
      let why;
      const holder = inArena ? this.handles.find((x) => Number(off) >= x.off && Number(off) - x.off < x.bytes) : null;
      if (!inArena) {
        why = `the arena ends at ${hex(this.opts.arenaBytes)}`;
      } else if (holder) {
        why = `it is inside #${holder.id}, which starts at ${hex(holder.off)}`;
      } else {
        const page = this.pageOf(Number(off));
        const inFree = this.core.walk().some((b) => b.state === 'free' && page >= b.page && page < b.page + 2 ** b.order);
        why = inFree ? 'it is in free memory: freed already?' : 'it is not in any allocation';
      }
      const meant = off <= 0xffffffffn ? this.handleFind(Number(off)) : null;
      throw new CommandError(`${c.name}: no allocation starts at offset ${hex(off)} (${why})` +
        (meant ? `; did you mean '${c.name} #${meant.id}'?` : ''));
    }

    /* Free h's pages and tell how they merged. */
    release(h, out, ind) {
      const pg = this.pageOf(h.off);
      const np = h.bytes / this.opts.pageSize;
      const { ph } = this.phase('free', { handle: h.id, page: pg, npages: np }, () => this.core.free(h.off));
      if (!mergesPrint(out, ph.events, this.eventsLost, pg, np, ind, ph.index)) {
        if (!isPow2(np)) {
          out.put(`${ind}no merge: no buddy of its blocks is free\n`, -1, ph.index);
        } else {
          const s = this.stats();
          const order = orderFor(np);
          const buddy = pg ^ 2 ** order;
          if (order >= s.max_order)
            out.put(`${ind}no merge: order ${order} is the largest\n`, -1, ph.index);
          else if (buddy + 2 ** order > s.total_pages)
            out.put(`${ind}no merge: its buddy would lie past the end of the arena\n`, -1, ph.index);
          else
            out.put(`${ind}no merge: its buddy at page ${buddy} is not a free order-${order} block\n`, -1, ph.index);
        }
      }
    }

    cmdFree(c, out) {
      const h = this.targetOf(c);
      const pg = this.pageOf(h.off);
      const np = h.bytes / this.opts.pageSize;
      out.put(`free #${h.id}: ${rangeText(pg, np)}` +
        (isPow2(np) ? ` (offset ${hex(h.off)}, order ${orderFor(np)})\n` : ` (offset ${hex(h.off)}, ${np} pages)\n`));
      this.release(h, out, '  ');
      this.handles.splice(this.handles.indexOf(h), 1);
    }

    reallocInPlace(h, newOrder, out) {
      const np = h.bytes / this.opts.pageSize;
      const pg = this.pageOf(h.off);
      if (!isPow2(np))
        return false;
      const { result: st, ph } = this.phase('resize', { handle: h.id, page: pg, npages: np, newOrder }, () =>
        this.core.resize(h.off, newOrder));
      if (st !== 0) {
        ph.failed = true;
        return false;
      }
      out.put(`#${h.id}: order ${orderFor(np)} -> ${newOrder} in place, ${rangeText(pg, 2 ** newOrder)}\n`, -1, ph.index);
      if (newOrder < orderFor(np)) {
        const end = pg + 2 ** newOrder;
        splitsPrint(out, ph.events, this.eventsLost, { keptEnd: end, blockEnd: end, order: newOrder }, '  ', ph.index);
      } else {
        out.put('  absorbed free buddies at pages', -1, ph.index);
        ph.events.forEach((ev, i) => out.put(`${i ? ',' : ''} ${pg + 2 ** (ev.order - 1)}`, i, ph.index));
        out.put('\n', -1, ph.index);
      }
      h.bytes = 2 ** newOrder * this.opts.pageSize;
      return true;
    }

    reallocMove(h, newOrder, out) {
      this.eventsSeen = 0;
      const { result: off, ph } = this.phase('alloc', { npages: 2 ** newOrder, exact: false, handle: h.id, move: true },
        () => this.core.alloc(newOrder, false));
      if (off < 0)
        throw this.coreFail('realloc');
      const newb = 2 ** newOrder * this.opts.pageSize;
      this.core.copy(off, h.off, Math.min(newb, h.bytes));
      const npg = this.pageOf(off);
      ph.info.page = npg;
      out.put(`#${h.id}: moved from ${rangeText(this.pageOf(h.off), h.bytes / this.opts.pageSize)} to ` +
        `${rangeText(npg, 2 ** newOrder)} (offset ${hex(off)}, order ${newOrder}): no room to grow in place\n`, -1, ph.index);
      /* Two stories, each under its own heading: the new block's, then the old one's. */
      const end = npg + 2 ** newOrder;
      out.put(`  the new block, ${rangeText(npg, 2 ** newOrder)}:\n`, -1, ph.index);
      if (ph.events.length)
        splitsPrint(out, ph.events, this.eventsLost, { keptEnd: end, blockEnd: end, order: newOrder }, '    ', ph.index);
      else
        out.put(`    taken whole from the order-${newOrder} free list, no split\n`, -1, ph.index);
      this.eventsSeen = 0;
      out.put(`  the old block, ${rangeText(this.pageOf(h.off), h.bytes / this.opts.pageSize)}, freed:\n`);
      this.release(h, out, '    ');
      h.off = off;
      h.bytes = newb;
    }

    cmdRealloc(c, out) {
      const h = this.targetOf(c);
      let np;
      try {
        ({ np } = this.requestOf({ name: 'malloc', num: [c.num[0]] }));
      } catch (e) {
        const s = this.stats();
        throw new CommandError(`realloc: size must be 1 to ${2 ** s.max_order * s.page_size} bytes (the largest block)`);
      }
      const newOrder = orderFor(np);
      const oldNp = h.bytes / this.opts.pageSize;
      this.cur.focus = h.id;
      if (np === oldNp) {
        out.put(`#${h.id}: already order ${newOrder}, nothing to move\n`);
        h.asked = Number(c.num[0]);
        return;
      }
      if (!this.reallocInPlace(h, newOrder, out))
        this.reallocMove(h, newOrder, out);
      h.asked = Number(c.num[0]);
    }

    cmdReset(out) {
      const st = this.core.reset(this.opts.arenaBytes, this.opts.pageSize, this.opts.maxOrder);
      if (st)
        throw new CommandError('reset: cannot set up the zone again');
      this.handles = [];
      this.nextId = 1;
      out.put('reset: a fresh arena; handles start again at #1\n');
    }

    /* Free blocks per order, from the walk: [{page, order}] in address order. */
    freeBlocks() {
      return this.core.walk().filter((b) => b.state === 'free');
    }

    cmdLists(out) {
      const s = this.stats();
      const free = this.freeBlocks();
      for (let k = 0; k <= s.max_order; k++) {
        const blocks = free.filter((b) => b.order === k);
        let line = `order ${pad(String(k), 2)} (${2 ** k} page${k ? 's' : ''}): ${blocks.length} free`;
        blocks.slice(0, 16).forEach((b, i) => { line += (i ? ' ' : blocks.length === 1 ? '  at page ' : '  at pages ') + b.page; });
        out.put(line + (blocks.length > 16 ? ' ...' : '') + '\n');
      }
    }

    cmdStats(out) {
      const s = this.stats();
      const free = [];
      let blocks = 0;
      let largest = -1;
      const st = this.core.state();
      for (let k = 0; k <= s.max_order; k++) {
        const n = st.lists[k] ? st.lists[k].length : 0;
        free.push(n);
        blocks += n;
        if (n)
          largest = k;
      }
      out.put('allocator    buddy pages\n');
      out.put(`arena        ${fmtSize(s.total_pages * s.page_size)}: ${s.total_pages} pages of ${fmtSize(s.page_size)}, max order ${s.max_order}\n`);
      out.put(`metadata     ${s.meta_bytes} bytes, outside the arena\n`);
      const pl = (n) => (n === 1 ? '' : 's');
      out.put(`used         ${s.used_pages} of ${s.total_pages} page${pl(s.total_pages)} (peak ${s.peak_used_pages})\n`);
      let line = `free         ${s.free_pages} page${pl(s.free_pages)} in ${blocks} block${pl(blocks)}`;
      if (largest >= 0)
        line += `, largest order ${largest} (${2 ** largest} page${pl(2 ** largest)})`;
      out.put(line + '\n');
      out.put(`calls        allocs ${s.allocs}, frees ${s.frees}, failed ${s.failures}; live handles ${this.handles.length}\n`);
    }

    cmdFrag(c, out) {
      const s = this.stats();
      let lo = 0;
      let hi = s.max_order;
      if (c.num.length) {
        if (c.num[0] > BigInt(s.max_order))
          throw new CommandError(`frag: order ${c.num[0]} above the maximum (${s.max_order})`);
        lo = hi = Number(c.num[0]);
      }
      const st = this.core.state();
      /* cmd_info.c thousandths_print: -500 -> "-0.500" */
      const thousandths = (v) => `${v < 0 ? '-' : ''}${Math.trunc(Math.abs(v) / 1000)}.${String(Math.abs(v) % 1000).padStart(3, '0')}`;
      const freePages = st.lists.reduce((n, l, o) => n + l.length * 2 ** o, 0);
      out.put('order  free blocks  frag index  unusable  a request of this order\n');
      for (let k = lo; k <= hi; k++) {
        const fi = this.core.fragIndex(k);
        const ui = this.core.unusableIndex(k);
        const verdict = fi === -1000 ? 'succeeds' : !freePages ? 'fails: nothing is free'
          : freePages < 2 ** k || fi <= 500 ? 'fails: too little free memory' : 'fails: free memory too fragmented';
        out.put(`${pad(String(k), 5)}  ${pad(String(st.lists[k].length), 11)}  ` +
          pad(fi === -1000 ? 'fits' : thousandths(fi), 10) + pad(thousandths(ui), 10) + `  ${verdict}\n`);
      }
      out.put("frag index (Linux's): 'fits' when a free block of the order exists. Otherwise a\n" +
        '  request fails for lack of free memory when fewer pages are free than it needs\n' +
        '  or the index is 0.500 or less, and for fragmentation (enough free pages, in\n' +
        '  blocks too small) when it is higher, towards 1.000\n' +
        'unusable: share of free memory in blocks too small for the order\n');
    }

    cmdCheck(out) {
      const r = this.core.check();
      let n = r.count;
      r.lines.forEach((l) => out.put(`  problem: ${l}\n`));
      for (const h of this.handles) {
        if (this.core.allocSize(h.off) * this.opts.pageSize !== h.bytes) {
          out.put(`  problem: #${h.id} does not match its block\n`);
          n++;
        }
      }
      if (n)
        throw new CommandError(`check: ${n} problem${n === 1 ? '' : 's'}`);
      out.put(`check: ok (${this.handles.length} live allocations)\n`);
    }

    cmdHandles(out) {
      if (!this.handles.length)
        out.put('no live allocations\n');
      for (const h of this.handles) {
        const first = h.off / this.opts.pageSize;
        const np = h.bytes / this.opts.pageSize;
        let line = `#${padRight(String(h.id), 4)} offset ${padRight(hex(h.off), 10)} ${padRight(fmtSize(h.bytes), 10)}`;
        line += np === 1 ? ` page ${first}` : ` pages ${first}-${first + np - 1}`;
        if (h.asked !== h.bytes)
          line += ` (asked ${h.asked} byte${h.asked === 1 ? '' : 's'})`;
        out.put(line + '\n');
      }
    }

    /*
     * Run one line. Returns {line, cmd, out (Out), error (string or null),
     * phases}. Like the command, a failed command changes nothing.
     */
    exec(line) {
      const out = new Out();
      this.cur = { line, cmd: null, out, error: null, phases: [], focus: 0 };
      this.eventsSeen = 0;
      this.eventsLost = 0;
      try {
        const c = parseLine(line);
        this.cur.cmd = c;
        if (c)
          this.run(c, out);
      } catch (e) {
        if (!(e instanceof ParseError || e instanceof CommandError))
          throw e;
        this.cur.error = e.message;
      }
      return this.cur;
    }

    run(c, out) {
      switch (c.name) {
      case 'alloc': case 'pages': case 'malloc': case 'calloc':
        return this.cmdAlloc(c, out);
      case 'free':
        return this.cmdFree(c, out);
      case 'realloc':
        return this.cmdRealloc(c, out);
      case 'reset':
        return this.cmdReset(out);
      case 'lists':
        return this.cmdLists(out);
      case 'buddyinfo':
        return out.put(this.core.buddyinfo());
      case 'stats':
        return this.cmdStats(out);
      case 'frag':
        return this.cmdFrag(c, out);
      case 'check':
        return this.cmdCheck(out);
      case 'handles':
        return this.cmdHandles(out);
      case 'slabinfo': /* the page runs the pages allocator only */
        throw new CommandError('slabinfo: only the kmalloc heap has slab caches (-a kmalloc)');
      case 'help':
        return out.put(helpText(c.text));
      case 'map':
        throw new CommandError('map: the page draws the arena above');
      case 'save':
        throw new CommandError('save: not in the page (the native command writes SVG files)');
      default:
        throw new CommandError(`${c.name}: close the page to end the session`);
      }
    }
  }

  const api = { Session, parseLine, ParseError, fmtSize, orderFor, rangeText, helpText, hex };
  if (typeof module === 'object' && module.exports)
    module.exports = api;
  else
    root.BuddySession = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);

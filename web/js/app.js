/* SPDX-License-Identifier: MIT */
/*
 * app.js - the page: controls, the arena map, free lists, pair bitmap,
 * fragmentation, stages, command line and trace playback.
 *
 * Every action becomes a line of the `buddy` command language and runs
 * through the session (session.js) on the WebAssembly core; the page then
 * shows the stages of what the core did (stages.js) and, at the end, the
 * state read back from the core.
 */
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls)
      e.className = cls;
    if (text !== undefined)
      e.textContent = text;
    return e;
  };
  const { Session, fmtSize, hex } = window.BuddySession;
  const MAX_PAGES = 8192;
  const TRANSCRIPT_LINES = 1500;

  /* Shipped traces: the arena each plays on without failing, and what it shows. */
  const TRACES = [
    { file: 'checkerboard.rep', title: 'checkerboard (a lesson in fragmentation)', arena: '64K', page: 4096,
      about: 'Sixteen one-page blocks; every other one is freed. Half the arena is free, yet no two free pages are buddies, so a two-page request fails. Freeing the rest lets everything merge back.' },
    { file: 'git-status.rep', title: 'git status (210 operations)', arena: '32K', page: 64,
      about: 'Every malloc, realloc and free of \u201cgit status\u201d, recorded with valgrind. Played on 512 pages of 64 bytes: each request takes the smallest power-of-two run of pages that holds it.' },
    { file: 'tar-gz.rep', title: 'tar czf (1,481 operations)', arena: '256K', page: 256,
      about: 'Every allocation of \u201ctar czf\u201d compressing a folder, recorded with valgrind. Played on 1024 pages of 256 bytes.' },
  ];

  /* Allocation colours, by handle number (pleasant, distinct, readable with their ink). */
  const PALETTE = ['#f76707', '#2f9e44', '#f59f00', '#ae3ec9', '#e64980', '#0ca678',
                   '#6741d9', '#e03131', '#66a80f', '#1098ad', '#c2255c', '#845ef7'];
  const INK = PALETTE.map((c) => {
    const n = parseInt(c.slice(1), 16);
    const lum = 0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255);
    return lum > 150 ? '#1c2230' : '#ffffff';
  });
  const allocColour = (id) => PALETTE[(id + PALETTE.length - 1) % PALETTE.length];
  const allocInk = (id) => INK[(id + PALETTE.length - 1) % PALETTE.length];
  const dark = () => window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches;
  /* Free blocks: one blue, deeper for larger orders. */
  function freeColour(k, top) {
    const t = top > 0 ? k / top : 0;
    return dark() ? `hsl(214 45% ${22 + 16 * t}%)` : `hsl(212 ${75 - 15 * t}% ${94 - 22 * t}%)`;
  }

  const core = new window.BuddyCore.Core();
  const ui = {
    settings: { arenaBytes: 256 * 1024, pageSize: 4096, maxOrder: -1 },
    session: null,
    npages: 0,
    top: 0,
    stages: [],
    idx: 0,
    timer: 0,
    result: null,
    shown: null,      /* state on screen: for what changed */
    final: null,      /* the core's state after the last command */
    script: [],
    history: [],
    hpos: 0,
    player: null,
    trace: null,
    traceName: '',
    traceTimer: 0,
    mapKeys: new Map(),
    cols: 16,
    cursor: 0,        /* page of the block with the map's tab stop */
    handlesBefore: new Map(),
  };

  /* --- settings ----------------------------------------------------------- */

  function parseSize(text) {
    const m = /^\s*(\d+)\s*([kKmMgG])?(i?B)?\s*$/.exec(text);
    if (!m)
      return NaN;
    const mul = { k: 1024, m: 1024 * 1024, g: 1024 * 1024 * 1024 }[(m[2] || '').toLowerCase()] || 1;
    return Number(m[1]) * mul;
  }

  function sizeText(bytes) {
    if (bytes % (1024 * 1024) === 0)
      return `${bytes / (1024 * 1024)}M`;
    if (bytes % 1024 === 0)
      return `${bytes / 1024}K`;
    return String(bytes);
  }

  /* Read the settings form; a message if they cannot work. */
  function readSettings() {
    const arena = parseSize($('arena-size').value);
    const page = Number($('page-size').value);
    const mo = $('max-order').value;
    if (!Number.isFinite(arena) || arena <= 0)
      return 'arena size: a number of bytes, with K or M (like 256K)';
    if (arena % page)
      return `the arena must be a whole number of pages (${fmtSize(page)} each)`;
    if (arena / page > MAX_PAGES)
      return `at most ${MAX_PAGES} pages fit the page: ${arena / page} asked; choose larger pages`;
    return { arenaBytes: arena, pageSize: page, maxOrder: mo === 'auto' ? -1 : Number(mo) };
  }

  function fillMaxOrders() {
    const sel = $('max-order');
    const keep = sel.value || 'auto';
    const arena = parseSize($('arena-size').value);
    const page = Number($('page-size').value);
    let top = 12;
    if (arena > 0 && page > 0)
      top = Math.max(0, Math.floor(Math.log2(Math.max(1, arena / page))));
    sel.textContent = '';
    sel.append(new Option('auto', 'auto'));
    for (let k = 0; k <= Math.max(top, 0); k++)
      sel.append(new Option(String(k), String(k)));
    sel.value = [...sel.options].some((o) => o.value === keep) ? keep : 'auto';
  }

  function commandLine() {
    const s = ui.settings;
    return `buddy --arena ${sizeText(s.arenaBytes)} --page-size ${s.pageSize} --max-order ${s.maxOrder < 0 ? 'auto' : s.maxOrder}`;
  }

  /* A fresh session with the form's settings. */
  function resetArena(why) {
    const s = readSettings();
    const note = $('setup-note');
    if (typeof s === 'string') {
      note.textContent = s;
      note.classList.add('bad');
      return false;
    }
    note.classList.remove('bad');
    stopStages();
    ui.settings = s;
    ui.session = new Session(core, s);
    const msg = ui.session.start();
    if (msg) {
      note.textContent = msg;
      note.classList.add('bad');
      return false;
    }
    const st = core.stats();
    ui.npages = st.total_pages;
    ui.top = st.max_order;
    ui.script = [];
    ui.result = null;
    ui.stages = [];
    ui.final = { state: core.state(), walk: core.walk() };
    ui.shown = null;
    ui.cursor = 0;
    note.textContent = `${st.total_pages} pages of ${fmtSize(st.page_size)}, max order ${st.max_order}; ` +
      `${st.meta_bytes} bytes of metadata beside the arena`;
    if (why !== 'trace')
      stopTrace(true);
    transcriptSys(`${why === 'trace' ? 'trace: ' : ''}a fresh arena, as  ${commandLine()}`);
    fillHandles();
    layoutMap();
    showFinal();
    narrate(null);
    $('stage-text').textContent = ui.npages === 2 ** ui.top
      ? `The whole arena is one free block of order ${ui.top}. Allocate something to watch it split.`
      : `The arena is carved into the largest aligned blocks that fit. Allocate something to watch them split.`;
    return true;
  }

  /* --- running commands --------------------------------------------------- */

  function handleMap() {
    const m = new Map();
    for (const h of ui.session.handles)
      m.set(h.off / ui.settings.pageSize, h.id);
    return m;
  }

  /* Run one line of the command language; animate (or show) what happened. */
  function run(line, opts = {}) {
    finishStages();
    const before = handleMap();
    const r = ui.session.exec(line);
    const after = handleMap();
    if (r.cmd && r.cmd.name === 'reset' && !r.error) {
      /* the command's own reset: same settings, a new arena; a trace cannot go on */
      stopTrace(true);
      traceStatus();
    }
    transcriptCommand(line, r);
    if (r.cmd && !r.error)
      ui.script.push(line.trim());
    ui.result = r;
    const focus = r.focus ? ui.session.handleFind(r.focus) : null;
    r.focusRange = focus ? { page: focus.off / ui.settings.pageSize, len: focus.bytes / ui.settings.pageSize } : null;
    const finalState = core.state();
    const finalWalk = core.walk();
    ui.final = { state: finalState, walk: finalWalk };
    ui.stages = opts.noStages ? [] : window.BuddyStages.build(r, ui.npages, before, after, finalState, finalWalk);
    fillHandles();
    if (ui.stages.length) {
      /* instant: the end at once; playing: from the start, by itself; else one stage at a time */
      const play = $('st-auto').checked && !opts.instant;
      ui.idx = opts.instant ? ui.stages.length - 1 : 0;
      showStage();
      if (play)
        playStages();
    } else {
      showFinal(r.focusRange);
      narrate(r);
    }
    return r;
  }

  /* --- stages ------------------------------------------------------------- */

  function stageCountText() {
    if (!ui.stages.length)
      return 'no stages';
    return `stage ${ui.idx + 1} of ${ui.stages.length}`;
  }

  function updateStageButtons() {
    const n = ui.stages.length;
    $('st-first').disabled = $('st-prev').disabled = !n || ui.idx === 0;
    $('st-next').disabled = $('st-last').disabled = !n || ui.idx >= n - 1;
    $('st-play').disabled = n < 2;
    const playing = !!ui.timer;
    $('st-play').classList.toggle('playing', playing);
    $('st-play').setAttribute('aria-label', playing ? 'pause stages' : 'play stages');
    $('st-count').textContent = stageCountText();
  }

  function showStage() {
    const st = ui.stages[ui.idx];
    if (!st)
      return;
    drawMap(st.blocks(), st.focus, st.fresh);
    drawLists(st.state);
    drawBits(st.state);
    if (st.final)
      drawInfo();
    else
      drawStaleInfo(st.state);
    narrate(ui.result, st);
    $('stage-text').textContent = st.text;
    ui.shown = st.state;
    updateStageButtons();
  }

  function stopStages() {
    if (ui.timer)
      clearTimeout(ui.timer);
    ui.timer = 0;
    updateStageButtons();
  }

  function playStages() {
    stopStages();
    if (ui.idx >= ui.stages.length - 1) {
      ui.idx = 0;
      showStage();
    }
    const tick = () => {
      if (ui.idx >= ui.stages.length - 1) {
        ui.timer = 0;
        updateStageButtons();
        return;
      }
      ui.idx++;
      showStage();
      ui.timer = setTimeout(tick, Number($('st-speed').value));
      updateStageButtons();
    };
    ui.timer = setTimeout(tick, Number($('st-speed').value));
    updateStageButtons();
  }

  /* Jump to the end of the current stages (before the next command). */
  function finishStages() {
    stopStages();
    if (ui.stages.length && ui.idx !== ui.stages.length - 1) {
      ui.idx = ui.stages.length - 1;
      showStage();
    }
  }

  function stepStage(d) {
    if (!ui.stages.length)
      return;
    stopStages();
    ui.idx = Math.max(0, Math.min(ui.stages.length - 1, ui.idx + d));
    showStage();
  }

  /* The state after the last command, with no stage. */
  function showFinal(focus) {
    const blocks = window.BuddyStages.compose(ui.npages, ui.final.state.lists, null, [ui.final.walk], (p) => handleMap().get(p) || 0);
    drawMap(blocks, focus || null, null);
    drawLists(ui.final.state);
    drawBits(ui.final.state);
    drawInfo();
    ui.shown = ui.final.state;
    updateStageButtons();
  }

  /* --- narration ---------------------------------------------------------- */

  function narrate(r, stage) {
    const box = $('narration');
    box.textContent = '';
    if (!r) {
      box.append(el('span', 'cmdline', `A fresh arena. Try alloc, pages or malloc; every line the buddy command would print appears here.`));
      return;
    }
    const cl = el('div', 'cmdline');
    cl.append('buddy> ');
    cl.append(el('b', '', r.line.trim()));
    box.append(cl);
    const lines = r.out.lines.filter((l, i) => l.length || i < r.out.lines.length - 1);
    for (const line of lines) {
      const div = el('div');
      for (const seg of line) {
        const span = el('span', '', seg.text);
        if (stage && !stage.final && seg.ev >= 0) {
          if (seg.phase > stage.phase || (seg.phase === stage.phase && seg.ev > stage.ev))
            span.className = 'todo';
          else if (seg.phase === stage.phase && seg.ev === stage.ev)
            span.className = 'now';
        }
        div.append(span);
      }
      if (line.length)
        box.append(div);
    }
    if (r.error)
      box.append(el('div', 'err', `error: ${r.error}`));
  }

  /* --- the arena map ------------------------------------------------------ */

  function pow2floor(v) {
    let p = 1;
    while (p * 2 <= v)
      p *= 2;
    return p;
  }

  /* Pages per row (a power of two, so every block is a rectangle) and row height. */
  function layoutMap() {
    const map = $('map');
    const width = Math.max(200, map.clientWidth - 40);
    const narrow = width < 520;
    const minCell = narrow ? 16 : 24;
    const cap = 2 ** Math.ceil(Math.log2(Math.max(1, ui.npages)));
    let cols = Math.min(cap, pow2floor(Math.max(1, Math.floor(width / minCell))));
    /* Small arenas: a few rows of wide cells read better than one long strip. */
    while (cols > 8 && ui.npages / cols < 4 && width / (cols / 2) <= 72)
      cols /= 2;
    /* Very large arenas: smaller cells rather than hundreds of rows. */
    while (ui.npages / cols > 48 && cols * 2 <= cap && width / (cols * 2) >= 6)
      cols *= 2;
    ui.cols = cols;
    const rows = Math.ceil(ui.npages / cols);
    const rowH = rows <= 4 ? 46 : rows <= 8 ? 38 : rows <= 16 ? 30 : rows <= 32 ? 20 : 12;
    map.style.gridTemplateColumns = `2.6rem repeat(${cols}, minmax(0, 1fr))`;
    map.style.gridAutoRows = `${rowH}px`;
    map.style.gap = rowH <= 12 ? '1px' : cols >= 64 ? '2px' : '3px';
    map.dataset.cols = String(cols);
    ui.rowH = rowH;
    ui.mapKeys.clear();
    ui.bitShape = '';
    map.textContent = '';
    for (let r = 0; r < rows; r++) {
      const lab = el('div', 'rowlab', rowH >= 20 || r % 4 === 0 ? String(r * cols) : '');
      lab.style.gridColumn = '1';
      lab.style.gridRow = String(r + 1);
      lab.setAttribute('aria-hidden', 'true');
      map.append(lab);
    }
    $('map-caption').textContent = `${ui.npages} pages of ${fmtSize(ui.settings.pageSize)}, ${cols} to a row; row labels are page numbers`;
  }

  /* Rectangles for a run of pages: [{row, col, w, h}] (exact allocations may end mid-row). */
  function segments(page, len) {
    const cols = ui.cols;
    const out = [];
    let p = page;
    let left = len;
    while (left > 0) {
      const col = p % cols;
      if (col === 0 && left >= cols) {
        const rows = Math.floor(left / cols);
        out.push({ row: p / cols, col: 0, w: cols, h: rows });
        p += rows * cols;
        left -= rows * cols;
      } else {
        const w = Math.min(left, cols - col);
        out.push({ row: Math.floor(p / cols), col, w, h: 1 });
        p += w;
        left -= w;
      }
    }
    return out;
  }

  function blockLabel(b) {
    const ps = ui.settings.pageSize;
    const range = b.len === 1 ? `page ${b.page}` : `pages ${b.page}-${b.page + b.len - 1}`;
    if (b.kind === 'alloc')
      return `#${b.handle}: ${range}, ${b.len} page${b.len === 1 ? '' : 's'} (${fmtSize(b.len * ps)}), offset ${hex(b.page * ps)}. Click or press Enter to free.`;
    if (b.kind === 'free')
      return `free block of order ${b.order}: ${range}, offset ${hex(b.page * ps)}, on the order-${b.order} free list`;
    if (b.kind === 'work')
      return `order-${b.order} block being ${b.what === 'merged' ? 'merged' : 'split'}: ${range}`;
    return `${range}: in transit between two steps of this command`;
  }

  function sameRange(a, b) {
    return a && b && a.page === b.page && a.len === b.len;
  }

  function drawMap(blocks, focus, fresh) {
    const map = $('map');
    const keys = new Map();
    const cellW = (map.clientWidth - 40) / ui.cols;
    const hadFocus = map.contains(document.activeElement);
    let tabStop = null;
    for (const b of blocks) {
      const key = `${b.kind}:${b.page}:${b.len}:${b.handle || 0}:${b.order}`;
      const segs = segments(b.page, b.len);
      segs.forEach((s, i) => {
        const k = `${key}:${i}`;
        let e = ui.mapKeys.get(k);
        if (!e) {
          e = el(b.kind === 'alloc' ? 'button' : 'div', 'blk enter');
          e.addEventListener('animationend', () => e.classList.remove('enter'), { once: true });
          if (b.kind === 'alloc')
            e.type = 'button';
          e.append(el('span'));
        }
        e.className = e.className.split(' ').filter((c) => c === 'enter').concat(['blk', b.kind]).join(' ');
        e.style.gridColumn = `${s.col + 2} / span ${s.w}`;
        e.style.gridRow = `${s.row + 1} / span ${s.h}`;
        e.dataset.page = String(b.page);
        e.dataset.pages = String(b.len);
        e.dataset.kind = b.kind;
        e.dataset.order = String(b.order);
        e.dataset.handle = String(b.handle || 0);
        e.dataset.seg = String(i);
        e.setAttribute('role', 'gridcell');
        e.setAttribute('aria-label', blockLabel(b));
        e.title = blockLabel(b);
        if (b.kind === 'alloc') {
          e.style.background = allocColour(b.handle);
          e.style.color = allocInk(b.handle);
        } else if (b.kind === 'free') {
          e.style.background = freeColour(b.order, ui.top);
          e.style.color = '';
        } else {
          e.style.background = '';
          e.style.color = '';
        }
        if (sameRange(b, focus))
          e.classList.add('focus');
        if (sameRange(b, fresh))
          e.classList.add('fresh');
        if (i > 0)
          e.classList.add('cont');
        const w = s.w * cellW;
        /* A label only where it fits whole: a clipped "#6" could be #67. */
        const fits = (text) => text.length * 7.6 + 6 <= w;
        let label = '';
        if (ui.rowH >= 18 || s.h > 1) {
          const pick = (...texts) => texts.filter(Boolean).find(fits) || '';
          if (b.kind === 'alloc')
            label = pick(b.len > 1 ? `#${b.handle} · ${b.len} pages` : '', `#${b.handle}`, '#');
          else if (b.kind === 'free' || b.kind === 'work')
            label = pick(b.len > 1 ? `order ${b.order}` : '', String(b.order));
        }
        e.firstChild.textContent = label;
        const isStop = i === 0 && b.page <= ui.cursor && ui.cursor < b.page + b.len;
        e.tabIndex = -1;
        if (isStop)
          tabStop = e;
        keys.set(k, e);
      });
    }
    for (const [k, e] of ui.mapKeys)
      if (!keys.has(k))
        e.remove();
    for (const [k, e] of keys)
      if (!ui.mapKeys.has(k))
        map.append(e);
    ui.mapKeys = keys;
    if (!tabStop) {
      tabStop = [...keys.values()].find((e) => e.dataset.seg === '0') || null;
      if (tabStop)
        ui.cursor = Number(tabStop.dataset.page);
    }
    if (tabStop) {
      tabStop.tabIndex = 0;
      if (hadFocus)
        tabStop.focus({ preventScroll: true });
    }
  }

  /* Blocks in page order (first segments), for keyboard moves. */
  function mapBlocks() {
    return [...ui.mapKeys.values()].filter((e) => e.dataset.seg === '0')
      .sort((a, b) => Number(a.dataset.page) - Number(b.dataset.page));
  }

  function focusBlockAt(page) {
    const list = mapBlocks();
    const target = list.find((e) => Number(e.dataset.page) <= page && page < Number(e.dataset.page) + Number(e.dataset.pages));
    if (!target)
      return;
    for (const e of list)
      e.tabIndex = -1;
    target.tabIndex = 0;
    ui.cursor = Number(target.dataset.page);
    target.focus();
  }

  function onMapKey(ev) {
    const t = ev.target.closest('.blk');
    if (!t)
      return;
    const page = Number(t.dataset.page);
    const len = Number(t.dataset.pages);
    const list = mapBlocks();
    const i = list.findIndex((e) => Number(e.dataset.page) === page);
    let to = null;
    switch (ev.key) {
    case 'ArrowRight': to = list[Math.min(list.length - 1, i + 1)]; break;
    case 'ArrowLeft': to = list[Math.max(0, i - 1)]; break;
    case 'ArrowDown': if (page + Math.max(len, ui.cols) < ui.npages) focusBlockAt(page - (page % ui.cols) + Math.max(ui.cols, len - (len % ui.cols))); ev.preventDefault(); return;
    case 'ArrowUp': if (page >= ui.cols) focusBlockAt(page - ui.cols); ev.preventDefault(); return;
    case 'Home': to = list[0]; break;
    case 'End': to = list[list.length - 1]; break;
    case 'Enter': case ' ': case 'Delete': case 'Backspace':
      if (t.dataset.kind === 'alloc')
        freeBlock(t);
      ev.preventDefault();
      return;
    default:
      return;
    }
    ev.preventDefault();
    ev.stopPropagation();
    if (to)
      focusBlockAt(Number(to.dataset.page));
  }

  function freeBlock(e) {
    const h = Number(e.dataset.handle);
    if (!h)
      return;
    ui.cursor = Number(e.dataset.page);
    run(`free #${h}`);
  }

  /* Highlight the block starting at page (from a free-list chip). */
  function highlight(page, on) {
    for (const e of ui.mapKeys.values())
      if (Number(e.dataset.page) === page && e.dataset.kind === 'free')
        e.classList.toggle('hl', on);
  }

  /* --- free lists, mask, buddyinfo ---------------------------------------- */

  function drawLists(state) {
    const tbody = $('lists').tBodies[0];
    tbody.textContent = '';
    const prev = ui.shown;
    const ps = ui.settings.pageSize;
    state.lists.forEach((pages, k) => {
      const tr = el('tr');
      tr.dataset.order = String(k);
      tr.dataset.nrFree = String(pages.length);
      const ord = el('span', 'ord', String(k));
      ord.style.background = freeColour(k, ui.top);
      const td0 = el('td');
      td0.append(ord);
      const size = el('td', 'size', `${2 ** k} page${k ? 's' : ''} · ${fmtSize(2 ** k * ps)}`);
      const dotTd = el('td');
      const dot = el('span', `dot${(state.nonempty >>> k) & 1 ? ' on' : ''}`);
      dot.title = `bit ${k} of the non-empty mask: ${(state.nonempty >>> k) & 1}`;
      dotTd.append(dot);
      const nr = el('td', `nr${pages.length ? '' : ' zero'}`, String(pages.length));
      const chipsTd = el('td');
      const chips = el('div', 'chips');
      const old = prev && prev.lists[k] ? new Set(prev.lists[k]) : null;
      const shown = pages.slice(0, 24);
      for (const p of shown) {
        const c = el('span', 'chip', String(p));
        c.dataset.page = String(p);
        c.title = `page ${p}, offset ${hex(p * ps)}`;
        if (old && !old.has(p))
          c.classList.add('new');
        c.addEventListener('mouseenter', () => highlight(p, true));
        c.addEventListener('mouseleave', () => highlight(p, false));
        chips.append(c);
      }
      if (pages.length > shown.length)
        chips.append(el('span', 'chip more', `+${pages.length - shown.length} more`));
      chipsTd.append(chips);
      if (prev && prev.lists[k] && prev.lists[k].length !== pages.length)
        tr.classList.add('changed');
      tr.append(td0, size, dotTd, nr, chipsTd);
      tbody.append(tr);
    });
    let bits = '';
    for (let k = state.lists.length - 1; k >= 0; k--)
      bits += (state.nonempty >>> k) & 1;
    $('mask').textContent = `0b${bits} = ${hex(state.nonempty)}`;
  }

  /* The buddyinfo line of a snapshot, in the core's format (mm/vmstat.c). */
  function buddyinfoOf(state) {
    return 'Node 0, zone   Normal ' + state.lists.map((l) => String(l.length).padStart(6) + ' ').join('') + '\n';
  }

  /* --- pair bitmap -------------------------------------------------------- */

  /*
   * The bits are many (one per pair of pages at order 0): their elements are
   * made once per arena and width, then only their classes change.
   */
  function drawBits(state) {
    const box = $('bits');
    const prev = ui.shown;
    const n = ui.npages;
    const width = Math.max(100, box.clientWidth - 70);
    const aligned = width / Math.ceil(n / 2) >= 6;
    const shape = `${n}:${state.maps.map((m) => m.length).join(',')}:${aligned}`;
    if (ui.bitShape !== shape) {
      ui.bitShape = shape;
      ui.bitEls = [];
      box.textContent = '';
      if (!state.maps.length)
        box.append(el('p', 'bits-empty', 'No pairs: every block here is as large as the region allows.'));
      state.maps.forEach((bits, k) => {
        const row = el('div', 'bitrow');
        row.dataset.order = String(k);
        const strip = el('div', aligned ? 'strip' : 'strip compact');
        const pairPages = 2 ** (k + 1);
        const half = pairPages / 2;
        const els = [];
        for (let i = 0; i < bits.length; i++) {
          const b = el('i', 'bit');
          const lo = i * pairPages;
          const hiEnd = Math.min(n, lo + pairPages) - 1;
          b.dataset.tip = lo + half < n ? `order ${k}: pages ${lo}-${lo + half - 1} and ${lo + half}-${hiEnd}`
            : `order ${k}: pages ${lo}-${hiEnd} (its buddy would lie past the end)`;
          if (aligned) {
            b.style.left = `${(lo / n) * 100}%`;
            b.style.width = `calc(${(Math.min(pairPages, n - lo) / n) * 100}% - 2px)`;
            if (lo + half >= n)
              b.classList.add('pad');
          }
          strip.append(b);
          els.push(b);
        }
        ui.bitEls.push(els);
        row.append(el('span', 'lab', `order ${k}`), strip);
        box.append(row);
      });
      if (aligned && state.maps.length)
        box.append(el('p', 'note', 'Each bit sits under the pair of blocks it describes, page 0 at the left.'));
    }
    state.maps.forEach((bits, k) => {
      const old = prev && prev.maps[k] && prev.maps[k].length === bits.length ? prev.maps[k] : null;
      const els = ui.bitEls[k];
      let ones = 0;
      for (let i = 0; i < bits.length; i++) {
        const b = els[i];
        const on = bits[i] === 1;
        const flip = !!old && old[i] !== bits[i];
        if (on)
          ones++;
        if (b.classList.contains('on') !== on || b.classList.contains('flip') !== flip || !b.title) {
          b.classList.toggle('on', on);
          b.classList.toggle('flip', flip);
          b.title = `${b.dataset.tip}: ${bits[i]}` +
            (on ? ' (exactly one of the two buddies is free)' : ' (both free, both in use, or split)');
        }
      }
      els[0].parentNode.parentNode.dataset.ones = String(ones);
    });
  }

  /* --- counters, buddyinfo, fragmentation --------------------------------- */

  function meter(v, isFrag) {
    const d = el('div', 'meter');
    if (isFrag && v < 0) {
      d.classList.add('fits');
      d.append(el('span', '', 'fits'), el('i'));
      return d;
    }
    const txt = `${Math.trunc(v / 1000)}.${String(Math.abs(v % 1000)).padStart(3, '0')}`;
    const bar = el('i');
    const fill = el('b');
    fill.style.width = `${Math.max(0, Math.min(100, v / 10))}%`;
    bar.append(fill);
    if (v >= 500)
      d.classList.add('hot');
    d.append(el('span', '', txt), bar);
    return d;
  }

  function drawInfo() {
    $('buddyinfo').textContent = core.buddyinfo();
    $('buddyinfo').classList.remove('stale');
    const tbody = $('frag').tBodies[0];
    tbody.textContent = '';
    const st = core.stats();
    for (let k = 0; k <= st.max_order; k++) {
      const tr = el('tr');
      tr.dataset.order = String(k);
      const a = el('td');
      a.append(meter(core.fragIndex(k), true));
      const b = el('td');
      b.append(meter(core.unusableIndex(k), false));
      tr.append(el('td', '', String(k)), a, b);
      tbody.append(tr);
    }
    $('frag').classList.remove('stale');
    const blocks = ui.final.state.lists.reduce((n, l) => n + l.length, 0);
    $('usage').textContent = `used ${st.used_pages} of ${st.total_pages} pages (peak ${st.peak_used_pages}) · ` +
      `free ${st.free_pages} pages in ${blocks} block${blocks === 1 ? '' : 's'} · ` +
      `allocs ${st.allocs}, frees ${st.frees}, failed ${st.failures} · ${ui.session.handles.length} live`;
  }

  /* During a command's stages: the buddyinfo of the snapshot; indices wait for the end. */
  function drawStaleInfo(state) {
    $('buddyinfo').textContent = buddyinfoOf(state);
    $('buddyinfo').classList.add('stale');
    $('frag').classList.add('stale');
  }

  /* --- handles for realloc ------------------------------------------------ */

  function fillHandles() {
    const sel = $('op-handle');
    const keep = sel.value;
    sel.textContent = '';
    for (const h of ui.session.handles)
      sel.append(new Option(`#${h.id}`, `#${h.id}`));
    if (!ui.session.handles.length)
      sel.append(new Option('none', ''));
    if ([...sel.options].some((o) => o.value === keep))
      sel.value = keep;
    else if (ui.session.handles.length)
      sel.value = `#${ui.session.handles[ui.session.handles.length - 1].id}`;
  }

  /* --- transcript --------------------------------------------------------- */

  function transcriptAdd(node) {
    const t = $('transcript');
    t.append(node);
    while (t.childNodes.length > TRANSCRIPT_LINES)
      t.removeChild(t.firstChild);
    t.scrollTop = t.scrollHeight;
  }

  function transcriptSys(text) {
    transcriptAdd(el('div', 'sys', text));
  }

  function transcriptCommand(line, r) {
    const d = el('div', 'in');
    d.append('buddy> ', el('b', '', line));
    transcriptAdd(d);
    const text = r.out.text();
    if (text)
      transcriptAdd(el('div', 'out', text.replace(/\n$/, '')));
    if (r.error)
      transcriptAdd(el('div', 'er', `error: ${r.error}`));
  }

  /* --- trace playback ----------------------------------------------------- */

  function traceSpeed() {
    /* 0..100 on the slider: 1 to 2000 operations a second, evenly in log scale */
    const v = Number($('tr-speed').value);
    return Math.round(10 ** ((v / 100) * Math.log10(2000)));
  }

  function showTraceSpeed() {
    $('tr-speed-out').textContent = `${traceSpeed()} ops/s`;
  }

  function loadTrace(text, name, cfg) {
    stopTrace(false);
    let trace;
    try {
      trace = window.BuddyTrace.parse(text, name);
    } catch (e) {
      $('trace-about').textContent = e.message;
      $('trace-about').classList.add('bad');
      return false;
    }
    $('trace-about').classList.remove('bad');
    let fitted = '';
    if (!cfg) {
      const f = window.BuddyTrace.suggest(trace, 4096, MAX_PAGES, 64 << 20);
      cfg = { arena: sizeText(f.arenaBytes), page: f.pageSize, about: '' };
      fitted = `Peak live ${fmtSize(f.peakLive)}, largest request ${fmtSize(f.maxRequest)}: the arena is sized from ` +
        'the peak footprint (twice it where the map stays under 4096 pages), in the smallest pages that allow it.';
    }
    $('arena-size').value = cfg.arena;
    $('page-size').value = String(cfg.page);
    fillMaxOrders();
    $('max-order').value = 'auto';
    ui.trace = trace;
    ui.traceName = name;
    if (!resetArena('trace'))
      return false;
    ui.player = new window.BuddyTrace.Player(ui.session, trace);
    $('trace-about').textContent = (cfg.about ? cfg.about + ' ' : '') + (fitted ? fitted + ' ' : '') +
      `${trace.ops.length.toLocaleString('en')} operations; playing on ${commandLine().replace('buddy ', '')}.`;
    drawChart();
    traceStatus();
    return true;
  }

  function traceStatus() {
    const p = ui.player;
    const total = ui.trace ? ui.trace.ops.length : 0;
    const pos = p ? p.pos : 0;
    $('tr-bar').style.width = total ? `${(pos / total) * 100}%` : '0';
    const st = ui.session.stats();
    const util = p && p.peakFoot ? ` · utilization ${Math.round((p.peakLive / p.peakFoot) * 100)}%` : '';
    $('tr-status').textContent = ui.trace
      ? `${ui.traceName}: op ${pos.toLocaleString('en')} of ${total.toLocaleString('en')} · live ${fmtSize(p ? p.live : 0)} · ` +
        `footprint ${fmtSize(st.used_pages * st.page_size)} · failed ${p ? p.failures : 0}${util}` +
        (p && p.done() ? ' · done' : '')
      : 'No trace loaded.';
    $('tr-status').dataset.pos = String(pos);
    $('tr-status').dataset.done = p && p.done() ? '1' : '0';
    $('tr-status').dataset.failures = String(p ? p.failures : 0);
    const playing = !!ui.traceTimer;
    $('tr-play').textContent = playing ? 'Pause' : p && p.done() ? 'Replay' : 'Play';
  }

  function traceOps(n) {
    let last = null;
    ui.session.record = false; /* no stages during playback: each op runs whole */
    for (let i = 0; i < n && !ui.player.done(); i++) {
      const r = ui.player.step();
      if (r.result) {
        last = r.result;
        transcriptCommand(r.line, r.result);
        if (!r.result.error)
          ui.script.push(r.line);
      }
    }
    ui.session.record = true;
    if (last) {
      ui.result = last;
      ui.stages = [];
      ui.final = { state: core.state(), walk: core.walk() };
      const h = last.focus ? ui.session.handleFind(last.focus) : null;
      showFinal(h ? { page: h.off / ui.settings.pageSize, len: h.bytes / ui.settings.pageSize } : null);
      narrate(last);
      fillHandles();
      $('stage-text').textContent = 'Trace playback: each operation runs whole; pause and use the command line or the map between them.';
    }
    drawChart();
    traceStatus();
  }

  function playTrace() {
    if (!ui.player)
      return;
    if (ui.player.done()) {
      loadTrace(ui.traceSource, ui.traceName, ui.traceCfg);
    }
    finishStages();
    let lastT = performance.now();
    let debt = 0;
    const frame = (t) => {
      if (!ui.traceTimer)
        return;
      debt += ((t - lastT) / 1000) * traceSpeed();
      lastT = t;
      const n = Math.floor(debt);
      if (n > 0) {
        debt -= n;
        traceOps(Math.min(n, 400));
      }
      if (ui.player.done()) {
        ui.traceTimer = 0;
        traceStatus();
        return;
      }
      ui.traceTimer = requestAnimationFrame(frame);
    };
    debt = 1; /* the first operation at once */
    ui.traceTimer = requestAnimationFrame(frame);
    traceStatus();
  }

  function stopTrace(forget) {
    if (ui.traceTimer)
      cancelAnimationFrame(ui.traceTimer);
    ui.traceTimer = 0;
    if (forget) {
      ui.player = null;
    }
    if ($('tr-status'))
      traceStatus();
  }

  function drawChart() {
    const c = $('chart');
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth;
    const h = c.clientHeight;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    const css = getComputedStyle(document.documentElement);
    const ink = css.getPropertyValue('--muted').trim() || '#666';
    const line = css.getPropertyValue('--line').trim() || '#ddd';
    const accent = css.getPropertyValue('--accent').trim() || '#3b5bdb';
    const p = ui.player;
    const total = ui.trace ? ui.trace.ops.length : 1;
    const left = 58;
    const right = 10;
    const top = 10;
    const bottom = 22;
    const pw = w - left - right;
    const ph = h - top - bottom;
    const ymaxRaw = p ? Math.max(p.peakFoot, p.peakLive, 1) : ui.settings.arenaBytes;
    const step = niceStep(ymaxRaw / 4);
    const ymax = Math.ceil(ymaxRaw / step) * step;
    g.font = '11px ' + css.getPropertyValue('--sans');
    g.fillStyle = ink;
    g.strokeStyle = line;
    g.lineWidth = 1;
    for (let y = 0; y <= ymax; y += step) {
      const py = top + ph - (y / ymax) * ph;
      g.beginPath();
      g.moveTo(left, Math.round(py) + 0.5);
      g.lineTo(left + pw, Math.round(py) + 0.5);
      g.stroke();
      g.textAlign = 'right';
      g.fillText(fmtSize(y), left - 6, py + 4);
    }
    g.textAlign = 'left';
    g.fillText('op 0', left, h - 5);
    g.textAlign = 'right';
    g.fillText(`op ${total.toLocaleString('en')}`, left + pw, h - 5);
    if (!p || !p.samples.length) {
      g.textAlign = 'center';
      g.fillText(ui.trace ? 'press Play' : 'pick a trace', left + pw / 2, top + ph / 2);
      return;
    }
    const X = (i) => left + (i / total) * pw;
    const Y = (v) => top + ph - (v / ymax) * ph;
    const path = (idx, colour, fill) => {
      g.beginPath();
      g.moveTo(X(0), Y(0));
      let lastPx = -1;
      for (const s of p.samples) {
        const px = Math.round(X(s[0]) * 2) / 2;
        if (px === lastPx && s !== p.samples[p.samples.length - 1])
          continue;
        lastPx = px;
        g.lineTo(px, Y(s[idx]));
      }
      if (fill) {
        g.lineTo(X(p.samples[p.samples.length - 1][0]), Y(0));
        g.closePath();
        g.fillStyle = fill;
        g.fill();
      } else {
        g.strokeStyle = colour;
        g.lineWidth = 2;
        g.stroke();
      }
    };
    path(1, null, 'rgba(240, 140, 0, 0.16)');
    path(1, '#f08c00');
    path(2, accent);
  }

  function niceStep(v) {
    const e = 2 ** Math.floor(Math.log2(Math.max(1, v)));
    return v / e > 1.5 ? e * 2 : e;
  }

  function pickTrace(i) {
    const t = TRACES[i];
    const text = window.BUDDY_TRACES && window.BUDDY_TRACES[t.file];
    if (!text) {
      $('trace-about').textContent = `${t.file} is not in this build`;
      return;
    }
    ui.traceSource = text;
    ui.traceCfg = t;
    $('trace-file').value = '';
    loadTrace(text, t.file, t);
  }

  /* --- wiring ------------------------------------------------------------- */

  function opCommand(form) {
    const kind = form.dataset.cmd;
    if (kind === 'alloc')
      return `alloc ${$('op-order').value.trim()}`;
    if (kind === 'pages')
      return `pages ${$('op-pages').value.trim()}`;
    if (kind === 'malloc')
      return `malloc ${$('op-bytes').value.trim()}`;
    return `realloc ${$('op-handle').value || '#0'} ${$('op-newsize').value.trim()}`;
  }

  function inField(t) {
    return t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA' || t.isContentEditable);
  }

  function onKey(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey)
      return;
    if (inField(ev.target) || ev.target.closest('dialog'))
      return;
    if (ev.target.closest && ev.target.closest('#map'))
      return;
    const k = ev.key;
    const act = {
      '/': () => $('cmd-input').focus(),
      ':': () => $('cmd-input').focus(),
      a: () => $('op-order').select(),
      ArrowRight: () => stepStage(1),
      ArrowLeft: () => stepStage(-1),
      Home: () => stepStage(-1e9),
      End: () => stepStage(1e9),
      p: () => (ui.timer ? stopStages() : playStages()),
      m: () => focusBlockAt(ui.cursor),
      t: () => (ui.traceTimer ? stopTrace(false) : playTrace()),
      r: () => resetArena('reset'),
      '?': () => $('help').showModal(),
    }[k];
    if (act) {
      ev.preventDefault();
      act();
    }
  }

  function wire() {
    fillMaxOrders();
    $('arena-size').addEventListener('input', fillMaxOrders);
    $('page-size').addEventListener('change', fillMaxOrders);
    $('setup').addEventListener('submit', (ev) => {
      ev.preventDefault();
      resetArena('reset');
    });
    document.querySelectorAll('form.op').forEach((f) => f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      stopTrace(false);
      run(opCommand(f));
    }));
    $('map').addEventListener('click', (ev) => {
      const b = ev.target.closest('.blk');
      if (b && b.dataset.kind === 'alloc') {
        stopTrace(false);
        freeBlock(b);
      } else if (b) {
        ui.cursor = Number(b.dataset.page);
        $('stage-text').textContent = b.getAttribute('aria-label');
      }
    });
    $('map').addEventListener('keydown', onMapKey);
    $('map').addEventListener('focusin', (ev) => {
      const b = ev.target.closest('.blk');
      if (b)
        ui.cursor = Number(b.dataset.page);
    });
    $('st-first').addEventListener('click', () => stepStage(-1e9));
    $('st-prev').addEventListener('click', () => stepStage(-1));
    $('st-next').addEventListener('click', () => stepStage(1));
    $('st-last').addEventListener('click', () => stepStage(1e9));
    $('st-play').addEventListener('click', () => (ui.timer ? stopStages() : playStages()));
    $('cmd-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const line = $('cmd-input').value;
      if (!line.trim())
        return;
      stopTrace(false);
      ui.history.push(line);
      ui.hpos = ui.history.length;
      $('cmd-input').value = '';
      run(line);
    });
    $('cmd-input').addEventListener('keydown', (ev) => {
      if (ev.key === 'ArrowUp' || ev.key === 'ArrowDown') {
        ui.hpos = Math.max(0, Math.min(ui.history.length, ui.hpos + (ev.key === 'ArrowUp' ? -1 : 1)));
        $('cmd-input').value = ui.history[ui.hpos] || '';
        ev.preventDefault();
      } else if (ev.key === 'Escape') {
        $('cmd-input').blur();
      }
    });
    $('copy-script').addEventListener('click', () => {
      const text = `# ${commandLine()} SCRIPT\n` + ui.script.join('\n') + '\n';
      const done = () => transcriptSys(`copied ${ui.script.length} commands: save them and run  ${commandLine()} FILE`);
      if (navigator.clipboard && window.isSecureContext)
        navigator.clipboard.writeText(text).then(done, () => transcriptSys(text));
      else
        transcriptSys(text);
    });
    $('help-btn').addEventListener('click', () => $('help').showModal());
    TRACES.forEach((t, i) => $('trace-pick').append(new Option(t.title, String(i))));
    $('trace-pick').addEventListener('change', () => {
      if ($('trace-pick').value !== '')
        pickTrace(Number($('trace-pick').value));
    });
    $('trace-file').addEventListener('change', () => {
      const f = $('trace-file').files[0];
      if (!f)
        return;
      const reader = new FileReader();
      reader.onload = () => {
        ui.traceSource = String(reader.result);
        ui.traceCfg = null;
        $('trace-pick').value = '';
        loadTrace(ui.traceSource, f.name, null);
      };
      reader.readAsText(f);
    });
    $('tr-play').addEventListener('click', () => (ui.traceTimer ? stopTrace(false) : playTrace()));
    $('tr-step').addEventListener('click', () => {
      if (!ui.player)
        return;
      stopTrace(false);
      finishStages();
      traceOps(1);
    });
    $('tr-restart').addEventListener('click', () => {
      if (ui.traceSource)
        loadTrace(ui.traceSource, ui.traceName, ui.traceCfg);
    });
    $('tr-speed').addEventListener('input', showTraceSpeed);
    document.addEventListener('keydown', onKey);
    let resizeTimer = 0;
    window.addEventListener('resize', () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => {
        layoutMap();
        $('transcript').scrollTop = $('transcript').scrollHeight;
        if (ui.stages.length)
          showStage();
        else
          showFinal();
        drawChart();
      }, 120);
    });
    showTraceSpeed();
  }

  wire();
  resetArena('start');
  traceStatus();
  drawChart();
  /* For tests and the curious: the session and the core behind the page. */
  window.buddyPage = { run, ui, core, resetArena, pickTrace, playTrace, stopTrace };
})();

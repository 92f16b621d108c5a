#!/usr/bin/env node
/* SPDX-License-Identifier: MIT */
/*
 * layout_test.js - the WebAssembly core against the native core, and the
 * page's session against the native `buddy` command.
 *
 * 1. Layouts: the same operations (allocations by order and by exact page
 *    count, frees, bad frees, resizes) run on the native page core
 *    (layout_native) and on the core compiled to wasm32 (pointers and the
 *    links stored in free blocks are 4 bytes there, 8 natively). After
 *    every operation the result, the offsets from the arena base, the
 *    buddyinfo line, the walk and the check must be identical.
 * 2. Sessions: scripts of `buddy` commands (a fixed one and random ones)
 *    run through the native command and through web/js/session.js on the
 *    wasm core; stdout and the error lines must be identical, except the
 *    metadata size in `stats`, which depends on the pointer size.
 *
 * Each module given runs everything: the page's, and one built with every
 * invariant checked after every call (BUDDY_DEBUG=2; a broken one traps).
 *
 * usage: node layout_test.js LAYOUT_NATIVE BUDDY_CMD BUDDY_WASM...
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const webjs = path.join(__dirname, '..', '..', 'web', 'js');
const { Core } = require(path.join(webjs, 'core.js'));
const { Session } = require(path.join(webjs, 'session.js'));

const [nativeExe, buddyExe, ...wasmFiles] = process.argv.slice(2).map((p) => path.resolve(p));
if (process.argv.length < 5) {
  console.error('usage: node layout_test.js LAYOUT_NATIVE BUDDY_CMD BUDDY_WASM...');
  process.exit(2);
}
let core = null;
let failures = 0;
let checks = 0;

function ok(cond, what) {
  checks++;
  if (!cond) {
    failures++;
    console.log(`not ok - ${what}`);
  }
  return cond;
}

/* Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.int = (n) => Math.floor(next() * n);
  next.pick = (arr) => arr[next.int(arr.length)];
  return next;
}

/* --- 1. layouts ---------------------------------------------------------- */

/* The wasm side of layout_native's output for one operation. */
function wasmShow() {
  const walk = core.walk().map((b) => ` ${b.page}:${b.order}:${b.state === 'free' ? 'f' : b.first ? 'a' : 'c'}`).join('');
  return `bi ${core.buddyinfo()}walk${walk}\ncheck ${core.check().count}\n`;
}

function wasmRun(line) {
  const w = line.split(' ');
  const n = w.slice(1).map(Number);
  let res;
  switch (w[0]) {
  case 'init': res = `${core.reset(n[0], n[1], n[2])}`; break;
  case 'alloc': res = `${core.alloc(n[0])} ${core.lastError()}`; break;
  case 'exact': res = `${core.allocExact(n[0])} ${core.lastError()}`; break;
  case 'free': res = `${core.free(n[0])}`; break;
  case 'resize': res = `${core.resize(n[0], n[1])}`; break;
  default: throw new Error(`bad op ${line}`);
  }
  return `${line}: ${res}\n${wasmShow()}`;
}

/* Operations for one arena, generated as they run on the wasm core. */
function layoutOps(cfg, seed, count) {
  const r = rng(seed);
  const ops = [`init ${cfg.arena} ${cfg.page} ${cfg.maxOrder}`];
  const out = [wasmRun(ops[0])];
  const live = []; /* offsets of live allocations */
  const gone = []; /* offsets freed */
  const top = core.stats().max_order;
  const run = (op) => {
    ops.push(op);
    const text = wasmRun(op);
    out.push(text);
    return Number(text.split('\n')[0].split(': ')[1].split(' ')[0]);
  };
  for (let i = 0; i < count; i++) {
    const x = r();
    if (x < 0.33 || !live.length) {
      const order = r() < 0.95 ? Math.min(r.int(top + 1), r.int(top + 1)) : top + 1 + r.int(3);
      const off = run(`alloc ${order}`);
      if (off >= 0)
        live.push(off);
    } else if (x < 0.48) {
      const n = r() < 0.95 ? 1 + r.int(Math.min(2 ** top, 40)) : 2 ** top + 1;
      const off = run(`exact ${n}`);
      if (off >= 0)
        live.push(off);
    } else if (x < 0.83) {
      const off = live.splice(r.int(live.length), 1)[0];
      run(`free ${off}`);
      gone.push(off);
    } else if (x < 0.88) {
      /* a bad free: inside a block, already free, or outside the arena */
      const kind = r.int(3);
      const bad = kind === 0 ? r.pick(live) + (r() < 0.5 ? cfg.page : 1)
        : kind === 1 && gone.length ? r.pick(gone) : cfg.arena + cfg.page * r.int(4);
      run(`free ${bad}`);
    } else {
      const off = r.pick(live);
      run(`resize ${off} ${r.int(top + 2)}`);
    }
  }
  /* Free everything: the arena must be back to its carving. */
  while (live.length)
    run(`free ${live.pop()}`);
  return { ops, out };
}

function layoutTest() {
  const configs = [
    { arena: 65536, page: 4096, maxOrder: -1 },         /* the command's 16-page arena */
    { arena: 262144, page: 4096, maxOrder: -1 },        /* its default: 64 pages */
    { arena: 16000, page: 16, maxOrder: -1 },           /* 1000 pages: not a power of two */
    { arena: 6400, page: 64, maxOrder: 3 },             /* 100 pages, small max order */
    { arena: 4 << 20, page: 4096, maxOrder: -1 },       /* 1024 pages */
    { arena: 8192 * 16, page: 16, maxOrder: 12 },       /* the most pages the page shows */
    { arena: 3 * 65536, page: 65536, maxOrder: -1 },    /* 3 pages of 64 KiB */
  ];
  let ops = 0;
  const before = failures;
  configs.forEach((cfg, i) => {
    const seed = 1000 + i;
    const { ops: list, out } = layoutOps(cfg, seed, 400);
    ops += list.length;
    const native = execFileSync(nativeExe, { input: list.join('\n') + '\n', maxBuffer: 1 << 28 }).toString();
    const wasm = out.join('');
    if (!ok(native === wasm, `layout: arena ${cfg.arena}, page ${cfg.page}, max order ${cfg.maxOrder}, seed ${seed}`)) {
      const a = native.split('\n');
      const b = wasm.split('\n');
      const j = a.findIndex((l, k) => l !== b[k]);
      console.log(`  first difference at line ${j + 1}:\n  native: ${a[j]}\n  wasm:   ${b[j]}`);
    }
    ok(!/check [1-9]/.test(wasm), `layout: no check problems (seed ${seed})`);
  });
  console.log(`${failures === before ? 'ok' : 'not ok'} - layouts: ${configs.length} arenas, ${ops} operations, compared on the native ` +
    `core and the wasm core (pointers ${core.pointerBytes()} bytes there)`);
}

/* --- 2. sessions --------------------------------------------------------- */

/* Run a script through the page's session: {out, err} as the command prints them. */
function jsSession(opts, script, name) {
  const s = new Session(core, opts);
  s.record = false;
  const msg = s.start();
  if (msg)
    throw new Error(msg);
  let out = '';
  let err = '';
  const lines = script.split('\n');
  if (lines[lines.length - 1] === '')
    lines.pop();
  lines.forEach((line, i) => {
    const r = s.exec(line);
    out += r.out.text();
    if (r.error)
      err += `${name}:${i + 1}: error: ${r.error}\n`;
  });
  return { out, err };
}

function nativeSession(opts, script, name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buddy-web-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, script);
  const args = ['--arena', String(opts.arenaBytes), '--page-size', String(opts.pageSize),
    '--max-order', opts.maxOrder < 0 ? 'auto' : String(opts.maxOrder), '--color', 'never', name];
  let out;
  let err;
  try {
    out = execFileSync(buddyExe, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    err = '';
  } catch (e) {
    /* a script with failing commands exits 1; its output is still what counts */
    out = e.stdout.toString();
    err = e.stderr.toString();
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return { out, err };
}

/* The metadata line is the one place the pointer size shows. */
const noMeta = (s) => s.replace(/^metadata +\d+ bytes/mg, 'metadata     N bytes');

function compareSession(opts, script, name) {
  const a = nativeSession(opts, script, name);
  const b = jsSession(opts, script, name);
  const same = ok(noMeta(a.out) === noMeta(b.out), `session ${name}: stdout`);
  if (!same) {
    const x = a.out.split('\n');
    const y = b.out.split('\n');
    const j = x.findIndex((l, k) => noMeta(l) !== noMeta(y[k] || ''));
    console.log(`  first difference at line ${j + 1}:\n  native: ${x[j]}\n  page:   ${y[j]}`);
  }
  if (!ok(a.err === b.err, `session ${name}: errors`))
    console.log(`  native:\n${a.err}  page:\n${b.err}`);
  return a.out.split('\n').length;
}

function randomScript(seed, count) {
  const r = rng(seed);
  const lines = [];
  let next = 1;
  const live = [];
  for (let i = 0; i < count; i++) {
    const x = r();
    if (x < 0.15) {
      lines.push(`alloc ${Math.min(r.int(7), r.int(7))}`);
      live.push(next++);
    } else if (x < 0.23) {
      lines.push(`pages ${1 + r.int(12)}`);
      live.push(next++);
    } else if (x < 0.33) {
      lines.push(`malloc ${1 + r.int(20000)}`);
      live.push(next++);
    } else if (x < 0.37) {
      lines.push(`calloc ${1 + r.int(8)} ${1 + r.int(3000)}`);
      live.push(next++);
    } else if (x < 0.72 && live.length) {
      lines.push(`free #${live.splice(r.int(live.length), 1)[0]}`);
    } else if (x < 0.85 && live.length) {
      lines.push(`realloc #${r.pick(live)} ${1 + r.int(40000)}`);
    } else if (x < 0.9) {
      lines.push(`free ${r.int(70) * 4096}`);
    } else {
      lines.push(r.pick(['lists', 'buddyinfo', 'stats', 'frag', `frag ${r.int(8)}`, 'check', 'handles']));
    }
  }
  /* Handle numbers in the script assume every allocation worked; where one
   * failed, later commands name a handle that does not exist, and both
   * sides must say so in the same words. */
  return lines.join('\n') + '\n';
}

function sessionTest() {
  const before = failures;
  const fixed = fs.readFileSync(path.join(__dirname, 'session.txt'), 'utf8');
  let lines = compareSession({ arenaBytes: 65536, pageSize: 4096, maxOrder: -1 }, fixed, 'session.txt');
  const arenas = [
    { arenaBytes: 262144, pageSize: 4096, maxOrder: -1 },
    { arenaBytes: 100 * 4096, pageSize: 4096, maxOrder: -1 },
    { arenaBytes: 65536, pageSize: 1024, maxOrder: 4 },
  ];
  arenas.forEach((opts, i) => {
    lines += compareSession(opts, randomScript(77 + i, 300), `random-${77 + i}.txt`);
  });
  console.log(`${failures === before ? 'ok' : 'not ok'} - sessions: ${1 + arenas.length} scripts, ${lines} lines of output compared with the native command's`);
}

for (const file of wasmFiles) {
  console.log(`# ${path.basename(file)}`);
  core = new Core(fs.readFileSync(file));
  layoutTest();
  sessionTest();
}
if (failures) {
  console.log(`FAILED: ${failures} of ${checks} checks`);
  process.exit(1);
}
console.log(`all ${checks} checks passed`);

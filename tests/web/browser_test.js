#!/usr/bin/env node
/* SPDX-License-Identifier: MIT */
/*
 * browser_test.js - the built page in headless Chromium, used as a person
 * would (mouse clicks, typing, keys), checked against the native `buddy`
 * command.
 *
 * 1. A scripted session on a 16-page arena: allocations from the forms,
 *    the command line and the keyboard, a free by clicking a block, a free
 *    from the keyboard in the map, a resize; one operation stepped through
 *    stage by stage (narration, working block, bits flipping), one played.
 * 2. A trace played from the shipped ones, paused and resumed.
 * After each, what the page shows (its transcript, the blocks in the map,
 * the free lists, the buddyinfo line) must match what the native command
 * prints for the same commands. Then the page is photographed at laptop
 * and phone widths (the README's screenshot), and the phone layout must
 * not scroll sideways.
 *
 * usage: node browser_test.js BUDDY_CMD WEB_DIR SCREENSHOT_DIR
 * Skips (exit 77), saying so, when no Chromium is installed.
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { findChromium, Browser } = require('./cdp.js');

const [buddyExe, webDir, shotDir] = process.argv.slice(2).map((p) => path.resolve(p));
if (process.argv.length < 5) {
  console.error('usage: node browser_test.js BUDDY_CMD WEB_DIR SCREENSHOT_DIR');
  process.exit(2);
}
const exe = findChromium();
if (!exe) {
  console.log('skipped: no Chromium found (apt-get install chromium, or set BUDDY_CHROMIUM)');
  process.exit(77);
}
if (!fs.existsSync(path.join(webDir, 'index.html'))) {
  console.log(`not ok - ${webDir}/index.html is missing (make web)`);
  process.exit(1);
}

let failures = 0;
let checks = 0;
function ok(cond, what, detail) {
  checks++;
  if (!cond) {
    failures++;
    console.log(`not ok - ${what}${detail ? `\n  ${detail}` : ''}`);
  }
  return cond;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* --- the native command --------------------------------------------------- */

function nativeRun(args, script) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buddy-web-'));
  fs.writeFileSync(path.join(dir, 'script.txt'), script);
  let out;
  let err = '';
  try {
    out = execFileSync(buddyExe, [...args, '--color', 'never', 'script.txt'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  } catch (e) {
    out = e.stdout.toString();
    err = e.stderr.toString();
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return { out, err };
}

/* Output of the trailing `buddyinfo`, `lists` and `handles` of a native run. */
function nativeState(out) {
  const lines = out.split('\n');
  const bi = lines.filter((l) => l.startsWith('Node 0, zone')).pop();
  const lists = {};
  for (const l of lines) {
    const m = /^order +(\d+) \(\d+ pages?\): (\d+) free(?:  at pages? (.*))?$/.exec(l);
    if (m)
      lists[m[1]] = { n: Number(m[2]), at: m[3] ? m[3].replace(/ \.\.\.$/, '').split(' ').map(Number) : [] };
  }
  const handles = [];
  for (const l of lines) {
    const m = /^#(\d+) +offset 0x[0-9a-f]+ +[\d.]+ [KMG]?i?B +pages? (\d+)(?:-(\d+))?/.exec(l);
    if (m)
      handles.push({ id: Number(m[1]), page: Number(m[2]), pages: (m[3] ? Number(m[3]) : Number(m[2])) - Number(m[2]) + 1 });
  }
  return { bi: bi + '\n', lists, handles };
}

/* --- the page ------------------------------------------------------------- */

/* What the page shows: blocks in the map, free-list rows, buddyinfo, transcript since the last fresh arena. */
const SHOWN = `(() => {
  const blocks = [...document.querySelectorAll('#map .blk')].filter((e) => e.dataset.seg === '0').map((e) => ({
    kind: e.dataset.kind, page: +e.dataset.page, pages: +e.dataset.pages, order: +e.dataset.order,
    handle: +e.dataset.handle, label: e.textContent }));
  const lists = [...document.querySelectorAll('#lists tbody tr')].map((tr) => ({
    order: +tr.dataset.order, n: +tr.querySelector('td.nr').textContent,
    chips: [...tr.querySelectorAll('.chip:not(.more)')].map((c) => +c.textContent) }));
  const nodes = [...document.getElementById('transcript').children];
  let from = 0;
  nodes.forEach((n, i) => { if (n.classList.contains('sys') && /fresh arena/.test(n.textContent)) from = i + 1; });
  const tail = nodes.slice(from);
  return {
    blocks, lists, bi: document.getElementById('buddyinfo').textContent,
    out: tail.filter((n) => n.classList.contains('out')).map((n) => n.textContent + '\\n').join(''),
    errors: tail.filter((n) => n.classList.contains('er')).map((n) => n.textContent),
    stage: document.getElementById('st-count').textContent,
  };
})()`;

function compareState(shown, native, npages, what) {
  ok(shown.bi === native.bi, `${what}: buddyinfo`, `page:   ${JSON.stringify(shown.bi)}\n  native: ${JSON.stringify(native.bi)}`);
  const covered = shown.blocks.reduce((n, b) => n + b.pages, 0);
  ok(covered === npages, `${what}: the map covers every page once (${covered} of ${npages})`);
  const allocs = shown.blocks.filter((b) => b.kind === 'alloc').map((b) => `#${b.handle}@${b.page}+${b.pages}`).sort();
  const want = native.handles.map((h) => `#${h.id}@${h.page}+${h.pages}`).sort();
  ok(JSON.stringify(allocs) === JSON.stringify(want), `${what}: allocations in the map match the native handles`,
    `page:   ${allocs.join(' ')}\n  native: ${want.join(' ')}`);
  ok(shown.blocks.filter((b) => b.kind === 'alloc' && b.label && !b.label.startsWith('#')).length === 0,
    `${what}: allocation labels name their handles`);
  for (const row of shown.lists) {
    const n = native.lists[row.order];
    if (!ok(n && n.n === row.n, `${what}: nr_free of order ${row.order}`, `page ${row.n}, native ${n && n.n}`))
      continue;
    const mapFree = shown.blocks.filter((b) => b.kind === 'free' && b.order === row.order).map((b) => b.page).sort((a, b) => a - b);
    ok(mapFree.length === row.n, `${what}: order ${row.order}: the map shows as many free blocks as the list`);
    const nativeFirst = n.at; /* page numbers, as the command's lists gives them */
    ok(JSON.stringify(mapFree.slice(0, nativeFirst.length)) === JSON.stringify(nativeFirst),
      `${what}: order ${row.order}: free blocks at the native command's addresses`,
      `page ${mapFree.join(' ')}\n  native ${nativeFirst.join(' ')}`);
    ok(row.chips.length === Math.min(row.n, 24) && new Set(row.chips).size === row.chips.length &&
      row.chips.every((p) => mapFree.includes(p)),
      `${what}: order ${row.order}: the list shows its first ${Math.min(row.n, 24)} blocks, each a free block of that order`,
      `chips ${row.chips.join(' ')}; free blocks ${mapFree.join(' ')}`);
  }
}

function compareOut(shownOut, nativeOut, what) {
  /* the metadata size is the one thing the pointer size changes */
  const strip = (s) => s.replace(/^metadata +\d+ bytes/mg, 'metadata N bytes');
  if (!ok(strip(shownOut) === strip(nativeOut), `${what}: the page's transcript is the native command's output`)) {
    const a = shownOut.split('\n');
    const b = nativeOut.split('\n');
    const i = a.findIndex((l, k) => l !== b[k]);
    console.log(`  first difference at line ${i + 1}:\n  page:   ${a[i]}\n  native: ${b[i]}`);
  }
}

/* A .rep trace as `buddy` commands (every allocation assumed to succeed). */
function repToScript(text) {
  const handle = new Map();
  let next = 1;
  const out = [];
  let inOps = false;
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    if (!l || l[0] === '#' || (!inOps && /^[-0-9]/.test(l)))
      continue;
    inOps = true;
    const [op, id, size] = l.split(/\s+/);
    if (op === 'a' || (op === 'r' && !handle.has(id))) {
      out.push(`malloc ${size}`);
      handle.set(id, next++);
    } else if (op === 'r') {
      out.push(`realloc #${handle.get(id)} ${size}`);
    } else if (id !== '-1') {
      out.push(`free #${handle.get(id)}`);
      handle.delete(id);
    }
  }
  return out;
}

/* --- the test ------------------------------------------------------------- */

async function main() {
  const browser = new Browser(exe);
  const t0 = Date.now();
  let page;
  try {
    page = await browser.newPage();
    await page.viewport(1440, 900);
    /* Motion off: every frame the screenshot takes is a finished one. */
    await page.send('Emulation.setEmulatedMedia', { features: [{ name: 'prefers-reduced-motion', value: 'reduce' }] });
    await page.goto('file://' + path.join(webDir, 'index.html'));
    await page.waitFor('window.buddyPage && document.querySelectorAll("#map .blk").length > 0', 10000, 'the page to start');
    ok(page.errors.length === 0, 'the page loads without errors', page.errors.join('\n  '));
    ok((await page.eval('buddyPage.core.pointerBytes()')) === 4, 'the core runs as wasm32');

    /* --- 1. a session on 16 pages --- */
    const cmds = [];
    const lastStage = async () => {
      await page.click('#st-last');
      await page.waitFor('(() => { const u = buddyPage.ui; return !u.stages.length || u.idx === u.stages.length - 1; })()', 3000, 'the last stage');
    };
    const blur = () => page.click('#stage-h');
    /* Click a field, select what it holds, type over it. */
    const fill = async (sel, text) => {
      await page.click(sel);
      await page.eval(`document.querySelector(${JSON.stringify(sel)}).select()`);
      await page.type(text);
    };
    /* The page ran cmd: note it for the native run, show its last stage. */
    const did = async (cmd) => {
      cmds.push(cmd);
      await lastStage();
    };
    await fill('#arena-size', '64K');
    await page.click('#reset-btn');
    await page.waitFor('buddyPage.ui.npages === 16', 3000, 'a 16-page arena');
    await page.click('#st-auto'); /* stages one at a time */

    await fill('#op-order', '0');
    await page.click('form[data-cmd=alloc] button');
    cmds.push('alloc 0');
    /* Step through its stages: take the order-4 block, four splits, done. */
    await page.waitFor('buddyPage.ui.stages.length > 0', 3000, 'stages');
    let st = await page.eval('({ n: buddyPage.ui.stages.length, idx: buddyPage.ui.idx })');
    ok(st.n === 6 && st.idx === 0, 'alloc 0 on 16 free pages: 6 stages, shown from the first', JSON.stringify(st));
    await blur();
    const expectNow = [
      ['  split order 4 at page 0 -> 3', ' 8'], [' -> 2', ', 4'], [' -> 1', ', 2'], [' -> 0', ', 1'],
    ];
    for (let i = 0; i < 4; i++) {
      await page.key('ArrowRight');
      const s = await page.eval(`({ count: document.getElementById('st-count').textContent,
        now: [...document.querySelectorAll('#narration .now')].map((e) => e.textContent),
        flips: document.querySelectorAll('#bits .bit.flip').length,
        fresh: [...document.querySelectorAll('#map .blk.fresh')].map((e) => +e.dataset.page + '+' + e.dataset.pages),
        work: [...document.querySelectorAll('#map .blk.work')].map((e) => +e.dataset.page + '+' + e.dataset.pages) })`);
      const half = 8 >> i;
      ok(s.count === `stage ${i + 2} of 6`, `stage ${i + 2}: the counter`, s.count);
      ok(JSON.stringify(s.now) === JSON.stringify(expectNow[i]), `stage ${i + 2}: the narration marks this split`, JSON.stringify(s.now));
      ok(s.flips > 0, `stage ${i + 2}: pair bits flip`);
      ok(s.fresh.includes(`${half}+${half}`), `stage ${i + 2}: the upper half (page ${half}) is marked as joining its list`, s.fresh.join(' '));
      ok(i === 3 ? s.work.length === 0 : s.work.includes(`0+${half}`), `stage ${i + 2}: the lower half is the block worked on`, s.work.join(' '));
    }
    await page.key('ArrowLeft');
    ok((await page.eval('document.getElementById("st-count").textContent')) === 'stage 4 of 6', 'the left arrow steps back');
    await page.key('End');
    ok((await page.eval('document.getElementById("st-count").textContent')) === 'stage 6 of 6', 'End shows the last stage');

    await page.click('#cmd-input');
    await page.type('pages 3');
    await page.key('Enter');
    await did('pages 3');

    await fill('#op-bytes', '10000');
    await page.key('Enter');
    await did('malloc 10000');

    await blur();
    await page.key('a');
    ok(await page.eval('document.activeElement.id === "op-order"'), 'the a key goes to the order field');
    await page.type('1');
    await page.key('Enter');
    await did('alloc 1');

    await page.click('#map .blk.alloc[data-handle="1"]');
    await did('free #1');

    await blur();
    await page.key('m');
    let found = false;
    for (let i = 0; i < 20 && !found; i++) {
      found = await page.eval('document.activeElement && document.activeElement.dataset.handle === "3"');
      if (!found)
        await page.key('ArrowRight');
    }
    ok(found, 'the arrows move through the map to #3');
    await page.key('Enter');
    await did('free #3');

    await page.eval('(() => { const s = document.getElementById("op-handle"); s.value = "#2"; s.dispatchEvent(new Event("change")); })()');
    await fill('#op-newsize', '20000');
    await page.click('form[data-cmd=realloc] button');
    await did('realloc #2 20000');

    /* One operation played on its own. */
    await page.click('#st-auto');
    await page.eval('document.getElementById("st-speed").value = "300"');
    await page.click('#cmd-input');
    await page.type('alloc 2');
    await page.key('Enter');
    cmds.push('alloc 2');
    await page.waitFor('buddyPage.ui.timer === 0 && buddyPage.ui.idx === buddyPage.ui.stages.length - 1', 8000, 'the stages to play to the end');
    for (const c of ['buddyinfo', 'lists', 'handles']) {
      await page.type(c);
      await page.key('Enter');
      cmds.push(c);
    }
    let shown = await page.eval(SHOWN);
    let native = nativeRun(['--arena', '64K', '--page-size', '4096', '--max-order', 'auto'], cmds.join('\n') + '\n');
    ok(native.err === '' && shown.errors.length === 0, 'session: no command failed', native.err + shown.errors.join('\n'));
    compareOut(shown.out, native.out, 'session');
    compareState(shown, Object.assign(nativeState(native.out), { pageSize: 4096 }), 16, 'session');
    console.log(`${failures ? 'not ok' : 'ok'} - session: ${cmds.length} commands from forms, command line, keys and clicks; the page shows what the native command prints`);

    /* --- 2. a trace --- */
    await page.eval('(() => { const s = document.getElementById("trace-pick"); s.value = "1"; s.dispatchEvent(new Event("change")); })()');
    const cfg = await page.eval('({ arena: document.getElementById("arena-size").value, page: document.getElementById("page-size").value, n: buddyPage.ui.trace.ops.length, npages: buddyPage.ui.npages })');
    const speed = (v) => page.eval(`(() => { const r = document.getElementById("tr-speed"); r.value = "${v}"; r.dispatchEvent(new Event("input")); })()`);
    await speed(60); /* about 100 operations a second, to pause it on the way */
    await page.click('#tr-play');
    await page.waitFor('+document.getElementById("tr-status").dataset.pos >= 40', 10000, 'the trace to play');
    await page.click('#tr-play');
    const paused = await page.eval('+document.getElementById("tr-status").dataset.pos');
    await sleep(300);
    ok(paused < cfg.n && (await page.eval('+document.getElementById("tr-status").dataset.pos')) === paused, `the trace pauses (at op ${paused})`);
    await speed(100);
    await page.click('#tr-play');
    await page.waitFor('document.getElementById("tr-status").dataset.done === "1"', 20000, 'the trace to finish');
    const tr = await page.eval(`({ failures: +document.getElementById('tr-status').dataset.failures,
      samples: buddyPage.ui.player.samples.length,
      inked: (() => { const c = document.getElementById('chart'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; })() })`);
    ok(tr.failures === 0, 'the trace plays without a failed allocation');
    ok(tr.samples === cfg.n && tr.inked > 2000, 'footprint and live bytes are drawn for every operation', JSON.stringify(tr));
    const traceCmds = repToScript(fs.readFileSync(path.join(__dirname, '..', '..', 'web', 'traces', 'git-status.rep'), 'utf8'));
    await page.click('#cmd-input');
    for (const c of ['buddyinfo', 'lists', 'handles']) {
      await page.type(c);
      await page.key('Enter');
    }
    shown = await page.eval(SHOWN);
    const pageSize = Number(cfg.page);
    native = nativeRun(['--arena', cfg.arena, '--page-size', cfg.page, '--max-order', 'auto'],
      traceCmds.concat(['buddyinfo', 'lists', 'handles']).join('\n') + '\n');
    ok(native.err === '', 'the trace as a script runs natively without errors', native.err.slice(0, 300));
    compareOut(shown.out, native.out, 'trace');
    compareState(shown, Object.assign(nativeState(native.out), { pageSize }), cfg.npages, 'trace');
    console.log(`${failures ? 'not ok' : 'ok'} - trace: git-status.rep, ${cfg.n} operations on ${cfg.arena} of ${pageSize}-byte pages, paused and resumed; same result as natively`);

    /* --- 3. screenshots --- */
    fs.mkdirSync(shotDir, { recursive: true });
    await page.click('#cmd-input');
    await page.type('pages 5');
    await page.key('Enter');
    await page.waitFor('buddyPage.ui.timer === 0', 8000, 'the stages to end');
    await page.click('#st-first');
    await page.click('#st-next');
    await page.click('#st-next');
    await page.eval('window.scrollTo(0, 0)');
    const hl = await page.screenshot(path.join(shotDir, 'web-page.png'), 1440);
    await page.viewport(390, 844, true);
    await sleep(300);
    const overflow = await page.eval('document.scrollingElement.scrollWidth');
    ok(overflow <= 390, `the phone layout fits 390 pixels (${overflow})`);
    /* On the phone: what happened and the map, the heart of the page. */
    const part = await page.eval(`(() => { const a = document.querySelector('.stage-card').getBoundingClientRect();
      const b = document.querySelector('.map-card').getBoundingClientRect();
      return { y: Math.floor(a.top + window.scrollY) - 8, h: Math.ceil(b.bottom - a.top) + 16 }; })()`);
    const hp = await page.screenshot(path.join(shotDir, 'web-page-phone.png'), 390, part.y, part.h);
    ok(page.errors.length === 0, 'no errors in the page', page.errors.join('\n  '));
    console.log(`ok - screenshots: ${shotDir}/web-page.png (1440x${hl}), web-page-phone.png (390x${hp})`);
  } finally {
    await browser.close();
  }
  if (failures) {
    console.log(`FAILED: ${failures} of ${checks} checks`);
    process.exit(1);
  }
  console.log(`all ${checks} checks passed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

main().catch((e) => {
  console.log(`not ok - ${e.stack || e}`);
  process.exit(1);
});

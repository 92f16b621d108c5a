/* SPDX-License-Identifier: MIT */
/*
 * cdp.js - headless Chromium driven through the DevTools protocol over a
 * pipe (--remote-debugging-pipe: JSON messages separated by NUL bytes on
 * file descriptors 3 and 4), so the browser test needs no npm package and
 * no network.
 */
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');

/* The Chromium to use: $BUDDY_CHROMIUM, or the first found on the usual paths. */
function findChromium() {
  const env = process.env.BUDDY_CHROMIUM;
  if (env)
    return fs.existsSync(env) ? env : null;
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome',
    '/usr/bin/google-chrome-stable', '/snap/bin/chromium'])
    if (fs.existsSync(p))
      return p;
  return null;
}

class Browser {
  constructor(exe) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buddy-chromium-'));
    /* Flags: headless, and nothing that reaches for the network. */
    const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-default-apps', '--disable-extensions', '--mute-audio', '--hide-scrollbars',
      '--force-color-profile=srgb', '--font-render-hinting=none',
      `--user-data-dir=${this.dir}`, '--remote-debugging-pipe', 'about:blank'];
    this.proc = spawn(exe, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    this.stderr = '';
    this.proc.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-4000); });
    this.out = this.proc.stdio[3];
    this.in = this.proc.stdio[4];
    this.id = 0;
    this.pending = new Map();
    this.listeners = [];
    let buf = Buffer.alloc(0);
    this.in.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      let i;
      while ((i = buf.indexOf(0)) >= 0) {
        const msg = JSON.parse(buf.subarray(0, i).toString());
        buf = buf.subarray(i + 1);
        this.dispatch(msg);
      }
    });
    this.exited = new Promise((resolve) => this.proc.on('exit', resolve));
    this.proc.on('exit', (code) => {
      for (const { reject } of this.pending.values())
        reject(new Error(`chromium exited (${code}): ${this.stderr}`));
      this.pending.clear();
    });
  }

  dispatch(msg) {
    if (msg.id !== undefined && this.pending.has(msg.id)) {
      const { resolve, reject, method } = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error)
        reject(new Error(`${method}: ${msg.error.message}`));
      else
        resolve(msg.result);
      return;
    }
    for (const l of this.listeners)
      l(msg);
  }

  send(method, params = {}, sessionId) {
    const id = ++this.id;
    const msg = { id, method, params };
    if (sessionId)
      msg.sessionId = sessionId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      this.out.write(JSON.stringify(msg) + '\0');
    });
  }

  on(fn) { this.listeners.push(fn); }

  /* A new tab: a Page object with its own session. */
  async newPage() {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    const page = new Page(this, sessionId);
    await page.init();
    return page;
  }

  async close() {
    try {
      await Promise.race([this.send('Browser.close'), new Promise((r) => setTimeout(r, 2000))]);
    } catch (e) {
      /* already gone */
    }
    if (this.proc.exitCode === null)
      this.proc.kill('SIGKILL');
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 3000))]);
    try {
      /* the browser's helpers may still be writing to the profile as it exits */
      fs.rmSync(this.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch (e) {
      /* a temporary folder left behind is no failure */
    }
  }
}

class Page {
  constructor(browser, sessionId) {
    this.b = browser;
    this.sid = sessionId;
    this.errors = [];
    this.loaded = null;
    browser.on((msg) => {
      if (msg.sessionId !== this.sid)
        return;
      if (msg.method === 'Runtime.exceptionThrown')
        this.errors.push(msg.params.exceptionDetails.exception
          ? msg.params.exceptionDetails.exception.description : msg.params.exceptionDetails.text);
      else if (msg.method === 'Runtime.consoleAPICalled' && msg.params.type === 'error')
        this.errors.push(msg.params.args.map((a) => a.value || a.description).join(' '));
      else if (msg.method === 'Log.entryAdded' && msg.params.entry.level === 'error')
        this.errors.push(`${msg.params.entry.text} ${msg.params.entry.url || ''}`);
      else if (msg.method === 'Page.loadEventFired' && this.loaded)
        this.loaded();
    });
  }

  send(method, params) { return this.b.send(method, params, this.sid); }

  async init() {
    await this.send('Page.enable');
    await this.send('Runtime.enable');
    await this.send('Log.enable');
  }

  async viewport(width, height, mobile = false) {
    await this.send('Emulation.setDeviceMetricsOverride',
      { width, height, deviceScaleFactor: 1, mobile, screenWidth: width, screenHeight: height });
  }

  async goto(url) {
    const done = new Promise((resolve) => { this.loaded = resolve; });
    await this.send('Page.navigate', { url });
    await done;
  }

  /* Evaluate an expression in the page; its value (JSON-able). */
  async eval(expr) {
    const r = await this.send('Runtime.evaluate', { expression: expr, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails)
      throw new Error(`in page: ${r.exceptionDetails.exception ? r.exceptionDetails.exception.description : r.exceptionDetails.text}`);
    return r.result.value;
  }

  /* Wait until expr is truthy (polling), or fail after ms. */
  async waitFor(expr, ms = 10000, what = expr) {
    const end = Date.now() + ms;
    for (;;) {
      const v = await this.eval(expr);
      if (v)
        return v;
      if (Date.now() > end)
        throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /* A real mouse click at the centre of the element selector matches. */
  async click(selector) {
    const box = await this.eval(`(() => { const e = document.querySelector(${JSON.stringify(selector)});
      if (!e) return null; e.scrollIntoView({ block: 'center' }); const r = e.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; })()`);
    if (!box)
      throw new Error(`no element ${selector} to click`);
    for (const type of ['mouseMoved', 'mousePressed', 'mouseReleased'])
      await this.send('Input.dispatchMouseEvent', { type, x: box.x, y: box.y, button: 'left', clickCount: 1 });
  }

  /* Type text into whatever has the focus. */
  async type(text) {
    await this.send('Input.insertText', { text });
  }

  /* Press one key ("Enter", "ArrowRight", "a", "?" ...). */
  async key(key) {
    const named = {
      Enter: { code: 'Enter', keyCode: 13, text: '\r' }, Escape: { code: 'Escape', keyCode: 27 },
      ArrowLeft: { code: 'ArrowLeft', keyCode: 37 }, ArrowUp: { code: 'ArrowUp', keyCode: 38 },
      ArrowRight: { code: 'ArrowRight', keyCode: 39 }, ArrowDown: { code: 'ArrowDown', keyCode: 40 },
      Home: { code: 'Home', keyCode: 36 }, End: { code: 'End', keyCode: 35 }, Tab: { code: 'Tab', keyCode: 9 },
    }[key];
    const k = named || { code: `Key${key.toUpperCase()}`, keyCode: key.toUpperCase().charCodeAt(0), text: key };
    await this.send('Input.dispatchKeyEvent', { type: k.text ? 'keyDown' : 'rawKeyDown', key, code: k.code,
      windowsVirtualKeyCode: k.keyCode, text: k.text, unmodifiedText: k.text });
    await this.send('Input.dispatchKeyEvent', { type: 'keyUp', key, code: k.code, windowsVirtualKeyCode: k.keyCode });
  }

  /* PNG of the whole page at the current width, or of [y, y+height) of it. */
  async screenshot(file, width, y = 0, height = 0) {
    const m = await this.send('Page.getLayoutMetrics');
    const h = height || Math.ceil(m.cssContentSize.height) - y;
    const r = await this.send('Page.captureScreenshot',
      { format: 'png', captureBeyondViewport: true, clip: { x: 0, y, width, height: h, scale: 1 } });
    fs.writeFileSync(file, Buffer.from(r.data, 'base64'));
    return h;
  }
}

module.exports = { findChromium, Browser };

// Shared helpers for the interop tests: start the `switchboard` binary, talk raw TCP
// to it (HTTP and hand-made WebSocket frames), and wrap Node's `ws` client.
//
// The binary comes from SWITCHBOARD_BIN; `ws` is resolved from the repository root so
// the tests run from any working directory.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { afterEach } from 'node:test';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const requireFromRoot = createRequire(path.join(repoRoot, 'package.json'));
/** Node's `ws` package (the WebSocket class; `WebSocket.Server` etc. hang off it). */
export const WebSocket = requireFromRoot('ws');

export const HOST = '127.0.0.1';
const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
});

/** Rejects after `ms` with a message naming what was awaited, unless `promise` settles first. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function binaryPath() {
  const bin = process.env.SWITCHBOARD_BIN;
  if (!bin) {
    throw new Error('SWITCHBOARD_BIN is not set: point it at the built switchboard binary, e.g. ' +
      'SWITCHBOARD_BIN=build/h-interop/switchboard node --test tests/interop/ (CTest sets it)');
  }
  try {
    fs.accessSync(bin, fs.constants.X_OK);
  } catch {
    throw new Error(`SWITCHBOARD_BIN=${bin} is not an executable file`);
  }
  return path.resolve(bin);
}

/** A temporary directory, removed by the returned object's `remove()`. */
export function tempDir(prefix = 'sb-interop-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Starts `switchboard --host 127.0.0.1 --port 0 ...flags` in a fresh temporary directory,
 * waits for its "listening on http://HOST:PORT" line and for GET /healthz to answer 200.
 * Returns { port, pid, child, dir, exited, log(), url(p), wsUrl(p), stop() }.
 */
export async function startServer(flags = [], { startTimeout = 10_000 } = {}) {
  // The switchboard binary is one binary like the others; its WebSocket tests default
  // to the echo endpoint.
  const server = await startBinary(binaryPath(), flags, { startTimeout });
  server.wsUrl = (p = '/echo') => `ws://${HOST}:${server.port}${p}`;
  return server;
}

// ---------------------------------------------------------------------------------
// Raw TCP

/**
 * A TCP connection with an input buffer that tests read from with parsers:
 * `read(parse)` waits until `parse(buffer, ended)` returns { value, length }, consumes
 * `length` bytes and resolves to `value`.
 */
export class RawConnection {
  constructor(socket) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.ended = false;   // the peer closed (FIN or RST) or the socket failed
    this.error = null;
    this.waiters = new Set();
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (d) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, d]) : d;
      this.wake();
    });
    socket.on('end', () => { this.ended = true; this.wake(); });
    socket.on('close', () => { this.ended = true; this.wake(); });
    socket.on('error', (e) => { this.error = e; this.ended = true; this.wake(); });
  }

  static connect(port, host = HOST) {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host, noDelay: true });
      socket.once('connect', () => { socket.off('error', reject); resolve(new RawConnection(socket)); });
      socket.once('error', reject);
    });
  }

  write(data) {
    return new Promise((resolve, reject) => {
      this.socket.write(data, (e) => (e ? reject(e) : resolve()));
    });
  }

  wake() {
    for (const w of [...this.waiters]) w();
  }

  read(parse, { timeout = 5000, what = 'data' } = {}) {
    return new Promise((resolve, reject) => {
      let timer;
      const attempt = () => {
        let result;
        try {
          result = parse(this.buffer, this.ended);
        } catch (e) {
          done(); reject(e); return;
        }
        if (result) {
          this.buffer = this.buffer.subarray(result.length);
          done(); resolve(result.value);
        } else if (this.ended) {
          done();
          reject(new Error(`connection closed while waiting for ${what}` +
            (this.error ? ` (${this.error.code || this.error.message})` : '') +
            `; unread: ${JSON.stringify(this.buffer.subarray(0, 200).toString('latin1'))}`));
        }
      };
      const done = () => { clearTimeout(timer); this.waiters.delete(attempt); };
      timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeout} ms waiting for ${what}; unread: ` +
          JSON.stringify(this.buffer.subarray(0, 200).toString('latin1'))));
      }, timeout);
      this.waiters.add(attempt);
      attempt();
    });
  }

  /** Resolves once the peer has closed the connection; rejects after `timeout`. */
  waitEnded(timeout = 5000, what = 'the server to close the connection') {
    return new Promise((resolve, reject) => {
      let timer;
      const attempt = () => {
        if (this.ended) { clearTimeout(timer); this.waiters.delete(attempt); resolve(); }
      };
      timer = setTimeout(() => {
        this.waiters.delete(attempt);
        reject(new Error(`timed out after ${timeout} ms waiting for ${what}`));
      }, timeout);
      this.waiters.add(attempt);
      attempt();
    });
  }

  /** Reads one HTTP response (see parseHttpResponse). */
  readResponse({ head = false, timeout = 5000 } = {}) {
    return this.read((buf, ended) => parseHttpResponse(buf, { head, ended }), { timeout, what: 'an HTTP response' });
  }

  destroy() { this.socket.destroy(); }
}

/**
 * Parses one HTTP/1.x response from the start of `buf`. Returns null when more bytes are
 * needed, else { value: { version, status, reason, headers, rawHead, body }, length }.
 * `headers` maps lower-case names to values (repeated ones joined by ", ").
 * `head`: the response answers a HEAD request (no body). `ended`: no more bytes will come.
 */
export function parseHttpResponse(buf, { head = false, ended = false } = {}) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) {
    if (ended && buf.length) throw new Error(`incomplete response head: ${JSON.stringify(buf.toString('latin1'))}`);
    return null;
  }
  const rawHead = buf.subarray(0, end).toString('latin1');
  const lines = rawHead.split('\r\n');
  const m = lines[0].match(/^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/);
  if (!m) throw new Error(`bad status line: ${JSON.stringify(lines[0])}`);
  const headers = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon < 0) throw new Error(`bad header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  const status = Number(m[2]);
  const start = end + 4;
  const value = { version: m[1], status, reason: m[3] ?? '', headers, rawHead, body: Buffer.alloc(0) };
  if (status < 200 || status === 204 || status === 304 || head) return { value, length: start };
  if ('content-length' in headers) {
    const n = Number(headers['content-length']);
    if (buf.length - start < n) return null;
    value.body = buf.subarray(start, start + n);
    return { value, length: start + n };
  }
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts = [];
    let at = start;
    for (;;) {
      const eol = buf.indexOf('\r\n', at);
      if (eol < 0) return null;
      const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size');
      if (buf.length < eol + 2 + size + 2) return null;
      if (size === 0) {
        value.body = Buffer.concat(parts);
        return { value, length: eol + 4 };
      }
      parts.push(buf.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
  }
  // Close-delimited.
  if (!ended) return null;
  value.body = buf.subarray(start);
  return { value, length: buf.length };
}

/** Parses every complete response in `buf`; `heads` says which ones answer HEAD requests. */
export function parseHttpResponses(buf, { heads = [], ended = true } = {}) {
  const out = [];
  let rest = buf;
  while (rest.length) {
    const r = parseHttpResponse(rest, { head: !!heads[out.length], ended });
    if (!r) break;
    out.push(r.value);
    rest = rest.subarray(r.length);
  }
  return { responses: out, rest };
}

/**
 * Connects, writes `request` (a string, a Buffer, or an array of them written one by one),
 * then collects everything until the server closes the connection or `timeout` passes.
 * Returns { data, text, closed, elapsed, responses, rest }.
 */
export async function httpExchange(port, request, { timeout = 5000, heads = [] } = {}) {
  const conn = await RawConnection.connect(port);
  const started = Date.now();
  try {
    for (const part of Array.isArray(request) ? request : [request]) await conn.write(part);
  } catch {
    // The server may close before it has read everything (e.g. 413); what it sent counts.
  }
  let closed = true;
  try {
    await conn.waitEnded(timeout);
  } catch {
    closed = false;
  }
  const elapsed = Date.now() - started;
  conn.destroy();
  const data = conn.buffer;
  const { responses, rest } = parseHttpResponses(data, { heads, ended: true });
  return { data, text: data.toString('latin1'), closed, elapsed, responses, rest };
}

// ---------------------------------------------------------------------------------
// Raw WebSocket

export const Op = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 };

/** Encodes one frame. `mask`: true (random key), false (unmasked), or a 4-byte Buffer. */
export function encodeFrame({ opcode, payload = Buffer.alloc(0), fin = true, rsv1 = false, rsv2 = false,
  rsv3 = false, mask = true }) {
  payload = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const key = mask === true ? crypto.randomBytes(4) : mask === false ? null : mask;
  const header = Buffer.alloc(2 + ext + (key ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (rsv2 ? 0x20 : 0) | (rsv3 ? 0x10 : 0) | (opcode & 0x0f);
  header[1] = (key ? 0x80 : 0) | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) header.writeUInt16BE(len, 2);
  if (ext === 8) header.writeBigUInt64BE(BigInt(len), 2);
  if (!key) return Buffer.concat([header, payload]);
  key.copy(header, 2 + ext);
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) masked[i] = payload[i] ^ key[i & 3];
  return Buffer.concat([header, masked]);
}

/** A close frame payload: the code (2 bytes) and an optional reason (string or Buffer). */
export function closePayload(code, reason = '') {
  const r = Buffer.isBuffer(reason) ? reason : Buffer.from(reason, 'utf8');
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return b;
}

/** Parses one frame from `buf` (server frames: usually unmasked). */
export function parseFrame(buf) {
  if (buf.length < 2) return null;
  const b0 = buf[0];
  const b1 = buf[1];
  let len = b1 & 0x7f;
  let at = 2;
  if (len === 126) {
    if (buf.length < 4) return null;
    len = buf.readUInt16BE(2);
    at = 4;
  } else if (len === 127) {
    if (buf.length < 10) return null;
    len = Number(buf.readBigUInt64BE(2));
    at = 10;
  }
  const masked = !!(b1 & 0x80);
  let key = null;
  if (masked) {
    if (buf.length < at + 4) return null;
    key = buf.subarray(at, at + 4);
    at += 4;
  }
  if (buf.length < at + len) return null;
  let payload = Buffer.from(buf.subarray(at, at + len));
  if (key) for (let i = 0; i < len; i++) payload[i] ^= key[i & 3];
  const frame = {
    fin: !!(b0 & 0x80), rsv1: !!(b0 & 0x40), rsv2: !!(b0 & 0x20), rsv3: !!(b0 & 0x10),
    opcode: b0 & 0x0f, masked, payload,
  };
  if (frame.opcode === Op.close) {
    frame.closeCode = len >= 2 ? payload.readUInt16BE(0) : undefined;
    frame.closeReason = len > 2 ? payload.subarray(2).toString('utf8') : '';
  }
  return { value: frame, length: at + len };
}

export function handshakeRequest(port, wsPath = '/echo', { key = crypto.randomBytes(16).toString('base64'),
  headers = {} } = {}) {
  let req = `GET ${wsPath} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n`;
  for (const [k, v] of Object.entries(headers)) req += `${k}: ${v}\r\n`;
  return req + '\r\n';
}

/** A hand-driven WebSocket client on a raw TCP connection: it sends whatever frames it is told to. */
export class RawWebSocket {
  constructor(conn, response) {
    this.conn = conn;
    this.response = response;
  }

  /** Connects and completes the handshake (asserting 101). `firstFrames` go in the same write as the request. */
  static async connect(port, wsPath = '/echo', { headers = {}, firstFrames = null } = {}) {
    const conn = await RawConnection.connect(port);
    const req = Buffer.from(handshakeRequest(port, wsPath, { headers }), 'latin1');
    await conn.write(firstFrames ? Buffer.concat([req, firstFrames]) : req);
    const response = await conn.readResponse({ head: true });
    if (response.status !== 101) {
      conn.destroy();
      throw new Error(`handshake refused: ${response.rawHead}`);
    }
    return new RawWebSocket(conn, response);
  }

  send(frame) { return this.conn.write(Buffer.isBuffer(frame) ? frame : encodeFrame(frame)); }
  sendText(text, opts = {}) { return this.send({ opcode: Op.text, payload: Buffer.from(text), ...opts }); }

  readFrame({ timeout = 5000 } = {}) {
    return this.conn.read(parseFrame, { timeout, what: 'a WebSocket frame' });
  }

  /**
   * Reads frames until a whole data message has arrived. Control frames met on the way
   * are pushed to `controls` (if given); a close frame rejects.
   */
  async readMessage({ timeout = 5000, controls = null } = {}) {
    const parts = [];
    let opcode = null;
    for (;;) {
      const f = await this.readFrame({ timeout });
      if (f.opcode >= 8) {
        if (controls) controls.push(f);
        if (f.opcode === Op.close) throw new Error(`server closed with ${f.closeCode} "${f.closeReason}" instead of sending a message`);
        continue;
      }
      if (opcode === null) opcode = f.opcode;
      parts.push(f.payload);
      if (f.fin) return { opcode, payload: Buffer.concat(parts) };
    }
  }

  /**
   * Expects the server's next frames to end in a close frame (any data or control frames
   * before it are skipped) and then the TCP connection to close. Returns the close frame.
   */
  async expectClose({ timeout = 5000 } = {}) {
    let f;
    do {
      f = await this.readFrame({ timeout });
    } while (f.opcode !== Op.close);
    await this.conn.waitEnded(timeout, 'the TCP connection to close after the close frame');
    return f;
  }

  destroy() { this.conn.destroy(); }
}

// ---------------------------------------------------------------------------------
// `ws` client wrapper: a queue of received messages, and awaited events.

/**
 * Opens a `ws` client and resolves once it is open. The returned socket has
 * `nextMessage(timeout)` → { data: Buffer, isBinary }, `closeEvent` (a promise of
 * { code, reason }) and `pongs` / `pings` (arrays of received payloads).
 */
export function openWs(url, options = {}, protocols = undefined) {
  const ws = new WebSocket(url, protocols, { perMessageDeflate: false, ...options });
  const queue = [];
  const waiting = [];
  ws.pings = [];
  ws.pongs = [];
  ws.on('message', (data, isBinary) => {
    const msg = { data: Buffer.isBuffer(data) ? data : Buffer.concat(data), isBinary };
    const w = waiting.shift();
    if (w) w.resolve(msg); else queue.push(msg);
  });
  ws.on('ping', (d) => ws.pings.push(d));
  ws.on('pong', (d) => ws.pongs.push(d));
  ws.closeEvent = new Promise((resolve) => {
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString('utf8') });
      for (const w of waiting.splice(0)) w.reject(new Error(`closed with ${code} "${reason}" while waiting for a message`));
    });
  });
  ws.errors = [];
  ws.on('error', (e) => ws.errors.push(e));
  ws.nextMessage = (timeout = 10_000) => {
    if (queue.length) return Promise.resolve(queue.shift());
    if (ws.readyState === WebSocket.CLOSED) return Promise.reject(new Error('socket is closed'));
    return withTimeout(new Promise((resolve, reject) => waiting.push({ resolve, reject })), timeout, 'a WebSocket message');
  };
  return withTimeout(new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => {
      req.destroy();  // handled here, so `ws` leaves the request to us
      reject(new Error(`handshake refused: ${res.statusCode}`));
    });
  }), 10_000, `the WebSocket ${url} to open`);
}

/** Sends `data` on a `ws` client and awaits the echo, asserting nothing (the caller does). */
export async function roundTrip(ws, data, options = {}) {
  ws.send(data, options);
  return ws.nextMessage();
}

// ---------------------------------------------------------------------------------
// Other server binaries (test servers built for one suite, e.g. the Socket.IO feature
// server of sio_*.test.mjs).

/**
 * Starts `bin --host 127.0.0.1 --port 0 ...flags` in a fresh temporary directory, as
 * startServer does for `switchboard`: waits for a "listening on PORT" (or "listening on
 * http://HOST:PORT") line and for GET /healthz to answer 200. `bin` may name an
 * environment variable holding the path (e.g. 'SIO_FEATURE_SERVER'). `leadingArgs` go
 * before the flags: an interpreter's script, by its absolute path (the child runs in the
 * temporary directory), e.g. startBinary(process.execPath, [], { leadingArgs:
 * [path.join(repoRoot, 'bench/node/chat-server.js')], healthCheck: false }).
 * Returns what startServer returns, plus `waitForOutput(regex, timeout)` (resolves to
 * the first match in the output so far or to come).
 */
export async function startBinary(bin, flags = [], { startTimeout = 10_000, healthCheck = true, leadingArgs = [] } = {}) {
  let file = bin;
  if (/^[A-Z_][A-Z0-9_]*$/.test(bin)) {
    file = process.env[bin];
    if (!file) throw new Error(`${bin} is not set: point it at the built binary (CTest sets it)`);
  }
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    throw new Error(`${file} is not an executable file`);
  }
  file = path.resolve(file);
  const name = path.basename(leadingArgs[0] ?? file);
  const dir = tempDir('sb-interop-run-');
  const child = spawn(file, [...leadingArgs, '--host', HOST, '--port', '0', ...flags], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let output = '';
  const keep = 1024 * 1024;
  const watchers = new Set();
  const append = (chunk) => {
    output += chunk.toString('utf8');
    if (output.length > keep) output = output.slice(-keep);
    for (const w of [...watchers]) w();
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
      for (const w of [...watchers]) w();
    });
  });
  const port = await withTimeout(new Promise((resolve, reject) => {
    const look = () => {
      const clean = output.replace(/\x1b\[[0-9;]*m/g, '');
      const m = clean.match(/listening on (?:http:\/\/[^\s]*:)?(\d+)/);
      if (m) resolve(Number(m[1]));
    };
    child.stderr.on('data', look);
    child.stdout.on('data', look);
    child.on('error', (e) => reject(new Error(`cannot start ${file}: ${e.message}`)));
    exited.then(({ code, signal }) =>
      reject(new Error(`${name} exited before listening (code ${code}, signal ${signal})`)));
  }), startTimeout, `${name} to print "listening on PORT"`).catch((e) => {
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`${e.message}\noutput so far:\n${output}`);
  });
  const server = {
    port,
    pid: child.pid,
    child,
    dir,
    exited,
    log: () => output,
    url: (p = '/') => `http://${HOST}:${port}${p}`,
    wsUrl: (p = '/') => `ws://${HOST}:${port}${p}`,
    running: () => child.exitCode === null && child.signalCode === null,
    /** Resolves to the first match of `regex` in the output (already there or to come). */
    waitForOutput(regex, timeout = 5000) {
      return withTimeout(new Promise((resolve, reject) => {
        const check = () => {
          const m = output.match(regex);
          if (m) { watchers.delete(check); resolve(m); return; }
          if (!server.running()) { watchers.delete(check); reject(new Error(`${name} exited; output:\n${output}`)); }
        };
        watchers.add(check);
        check();
      }), timeout, `${regex} in the output of ${name}`);
    },
    /** As startServer's stop(): SIGTERM by PID, exit 0, no sanitizer report. */
    async stop() {
      if (server.running()) process.kill(child.pid, 'SIGTERM');
      let result;
      try {
        result = await withTimeout(exited, 15_000, `${name} to exit after SIGTERM`);
      } catch (e) {
        child.kill('SIGKILL');
        await exited;
        throw new Error(`${e.message}\noutput:\n${output}`);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
      if (/Sanitizer|runtime error:/.test(output)) {
        throw new Error(`${name} printed a sanitizer report:\n${output}`);
      }
      if (result.code !== 0) {
        throw new Error(`${name} exited with code ${result.code}, signal ${result.signal}:\n${output}`);
      }
    },
  };
  if (healthCheck) {
    const res = await httpExchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    if (!res.responses[0] || res.responses[0].status !== 200) {
      await server.stop();
      throw new Error(`${name} is not ready: GET /healthz gave ${JSON.stringify(res.text)}`);
    }
  }
  return server;
}

// ---------------------------------------------------------------------------------
// The chat server (tests/interop/chat_*.test.mjs): socket.io-client sockets with an
// inbox, and JWTs signed here with node:crypto (no JWT package needed).

/** The official socket.io-client, resolved from the repository root. */
export function socketIoClient() {
  return requireFromRoot('socket.io-client');
}

const base64url = (data) => Buffer.from(data).toString('base64url');

/**
 * A compact JWS (RFC 7515) over `claims`. `alg`: HS256/384/512 with `key` a secret,
 * RS256/ES256/... with `key` a private KeyObject or PEM, or 'none' (no signature).
 * `header` adds or overrides header fields (e.g. to lie about the alg).
 */
export function signJwt(claims, key, { alg = 'HS256', header = {} } = {}) {
  const head = base64url(JSON.stringify({ alg, typ: 'JWT', ...header }));
  const body = base64url(JSON.stringify(claims));
  const input = `${head}.${body}`;
  const bits = alg.slice(2);
  let signature;
  if (alg === 'none') {
    signature = '';
  } else if (alg.startsWith('HS')) {
    signature = crypto.createHmac(`sha${bits}`, key).update(input).digest('base64url');
  } else if (alg.startsWith('RS')) {
    signature = crypto.sign(`sha${bits}`, Buffer.from(input), key).toString('base64url');
  } else if (alg.startsWith('ES')) {
    // JWS wants r||s (RFC 7518 §3.4), not DER.
    signature = crypto.sign(`sha${bits}`, Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  } else {
    throw new Error(`signJwt: unknown alg ${alg}`);
  }
  return `${input}.${signature}`;
}

/** Seconds since the epoch, as JWT NumericDates count. */
export const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * A socket.io-client socket that records every event it gets in an inbox:
 * `next(event, ms)` resolves to the args of the next unread `event` (waiting if needed),
 * `received(event)` lists what came so far, `request(event, ...args)` emits with an ack
 * and resolves to the ack's value. Not connected until `connected(socket)`.
 */
export function chatClient(url, opts = {}) {
  const { io } = socketIoClient();
  const socket = io(url, { forceNew: true, reconnection: false, transports: ['websocket'], ...opts });
  const inbox = [];
  const waiters = [];
  socket.onAny((event, ...args) => {
    inbox.push({ event, args, read: false });
    for (const w of [...waiters]) w();
  });
  socket.received = (event) => inbox.filter((m) => m.event === event).map((m) => m.args);
  socket.next = (event, ms = 5000) => {
    let look;
    const found = new Promise((resolve) => {
      look = () => {
        const m = inbox.find((x) => x.event === event && !x.read);
        if (!m) return;
        m.read = true;
        waiters.splice(waiters.indexOf(look), 1);
        resolve(m.args);
      };
      waiters.push(look);
      look();
    });
    // A waiter that timed out must not take a later event from the next one.
    return withTimeout(found, ms, `"${event}" on ${socket.nsp} (${socket.id})`).catch((e) => {
      const at = waiters.indexOf(look);
      if (at >= 0) waiters.splice(at, 1);
      throw e;
    });
  };
  socket.request = (event, ...args) => withTimeout(socket.emitWithAck(event, ...args), 5000, `the ack of "${event}"`);
  return socket;
}

/**
 * For a test file whose chat clients all go at the end of each test: call it once at the
 * top level; the function it returns opens a chatClient that is disconnected after the
 * test that opened it (or earlier, by its closeAll(): before a test stops its own server).
 */
export function chatClientsClosedAfterEach() {
  const sockets = new Set();
  const open = (url, opts) => {
    const socket = chatClient(url, opts);
    sockets.add(socket);
    return socket;
  };
  open.closeAll = () => {
    for (const s of sockets) s.disconnect();
    sockets.clear();
  };
  afterEach(open.closeAll);
  return open;
}

/**
 * Marks the end of what `from` sent to `roomId`: resolves once every one of `members`
 * (chatClients) has had a "marker" new-message after it.
 */
export async function marker(from, roomId, members) {
  const text = `marker ${Math.random()}`;
  assert.deepEqual(await from.request('send-message', { roomId, message: { text } }), { success: true });
  for (const m of members) {
    for (;;) {
      const [message] = await m.next('new-message');
      if (message.text === text) break;
    }
  }
}

/** Resolves with the socket once connected; rejects with the connect_error. */
export function connected(socket, ms = 5000) {
  return withTimeout(new Promise((resolve, reject) => {
    if (socket.connected) { resolve(socket); return; }
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (e) => reject(e));
  }), ms, `${socket.nsp} to connect`);
}

/** Resolves to the connect_error a socket gets (and fails if it connects instead). */
export function connectError(socket, ms = 5000) {
  return withTimeout(new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected, but a connect_error was expected')));
    socket.once('connect_error', (e) => resolve(e));
  }), ms, `${socket.nsp} to be refused`);
}

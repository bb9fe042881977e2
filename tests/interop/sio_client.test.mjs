// The official socket.io-client (npm 4.8.4) against Switchboard's Socket.IO server
// library, through the feature server tests/interop/servers/sio_feature_server.cpp
// (SIO_FEATURE_SERVER): namespaces, middleware, events and binary, acks both ways, rooms
// and broadcasts across two loops, catch-all listeners, disconnect reasons, transports.
// Expectations are Node's socket.io 4.8 semantics. The raw protocol is
// sio_protocol.test.mjs's business.

import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRequire } from 'node:module';

import { startBinary, withTimeout, repoRoot, WebSocket, HOST } from './helpers.mjs';

const requireFromRoot = createRequire(path.join(repoRoot, 'package.json'));
const { io, Manager } = requireFromRoot('socket.io-client');
const msgpackParser = requireFromRoot('socket.io-msgpack-parser');

const WAIT = 5000;

// --- client helpers ---------------------------------------------------------------------

/** Opened sockets and managers, closed after each test. */
const opened = { sockets: new Set(), managers: new Set() };

function closeAll() {
  for (const s of opened.sockets) s.disconnect();
  for (const m of opened.managers) m.engine?.close();
  opened.sockets.clear();
  opened.managers.clear();
}

/** A socket on its own connection (forceNew), websocket only unless told; not connected yet. */
function client(server, nsp = '/', opts = {}) {
  const socket = io(server.url(nsp), { forceNew: true, reconnection: false, transports: ['websocket'], ...opts });
  opened.sockets.add(socket);
  opened.managers.add(socket.io);
  return socket;
}

function manager(server, opts = {}) {
  const m = new Manager(server.url('/'), { reconnection: false, transports: ['websocket'], ...opts });
  opened.managers.add(m);
  return m;
}

function socketOf(m, nsp, opts = {}) {
  const socket = m.socket(nsp, opts);
  opened.sockets.add(socket);
  return socket;
}

/** Resolves with the socket once connected; rejects on connect_error. */
function connected(socket, ms = WAIT) {
  return withTimeout(new Promise((resolve, reject) => {
    if (socket.connected) { resolve(socket); return; }
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (e) => reject(new Error(`connect_error: ${e.message} ${JSON.stringify(e.data)}`)));
  }), ms, `${socket.nsp} to connect`);
}

/** Resolves with the connect_error's Error; rejects if the socket connects. */
function refused(socket, ms = WAIT) {
  return withTimeout(new Promise((resolve, reject) => {
    socket.once('connect_error', (e) => resolve(e));
    socket.once('connect', () => reject(new Error(`${socket.nsp} connected instead of being refused`)));
  }), ms, `connect_error on ${socket.nsp}`);
}

function connect(server, nsp = '/', opts = {}) {
  return connected(client(server, nsp, opts));
}

/** The arguments of the next `event` on `emitter`. */
function next(emitter, event, ms = WAIT) {
  return withTimeout(new Promise((resolve) => emitter.once(event, (...args) => resolve(args))), ms, `"${event}"`);
}

/** emitWithAck with a timeout (the server's answer as one value). */
function call(socket, event, ...args) {
  return socket.timeout(WAIT).emitWithAck(event, ...args);
}

/** Every event a socket receives, in order, with awaited predicates and fences. */
class Inbox {
  constructor(socket) {
    this.socket = socket;
    this.events = [];
    this.waiters = new Set();
    socket.onAny((event, ...args) => {
      this.events.push({ event, args });
      for (const w of [...this.waiters]) w();
    });
  }

  /** Resolves with the index of the first event matching `pred`. */
  waitFor(pred, what = 'an event', ms = WAIT) {
    return withTimeout(new Promise((resolve) => {
      const check = () => {
        const i = this.events.findIndex(pred);
        if (i >= 0) { this.waiters.delete(check); resolve(i); }
      };
      this.waiters.add(check);
      check();
    }), ms, `${what} on ${this.socket.id}`).catch((e) => {
      this.waiters.clear();
      throw e;
    });
  }

  /** The events before the "fence" event carrying `token` (which is consumed with them). */
  async untilFence(token) {
    const i = await this.waitFor((e) => e.event === 'fence' && e.args[0] === token, `fence ${token}`);
    return this.events.splice(0, i + 1).slice(0, i);
  }
}

let fenceCount = 0;
/**
 * Sends a fence to every socket of "/" after whatever the caller broadcast before it (a
 * broadcast is posted to each loop in order, so a fence arrives after the earlier ones)
 * and returns, per inbox, the events that came before it.
 */
async function fence(sender, inboxes) {
  const token = `f${++fenceCount}`;
  await call(sender, 'bcast', { via: 'nsp', event: 'fence', args: [token] });
  return Promise.all(inboxes.map((inbox) => inbox.untilFence(token)));
}

/** Buffers, ArrayBuffers and typed arrays as {$bin: hex}, recursively, for deepEqual. */
function norm(value) {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return { $bin: Buffer.from(value).toString('hex') };
  if (value instanceof ArrayBuffer) return { $bin: Buffer.from(value).toString('hex') };
  if (Array.isArray(value)) return value.map(norm);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, norm(v)]));
  }
  return value;
}

const bytes = (n, seed = 0) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 255));

// --- the server's disconnect records (through /admin) -----------------------------------

let admin;

/** The server's disconnect record of socket `id` ({id, nsp, reason, roomsAtDisconnecting, roomsAfter}). */
async function recordOf(id, ms = WAIT) {
  let handler;
  const later = new Promise((resolve) => {
    handler = (rec) => { if (rec.id === id) resolve(rec); };
    admin.on('record', handler);
  });
  try {
    const now = await call(admin, 'watch', id);
    if (now) return now;
    return await withTimeout(later, ms, `the server's disconnect record of ${id}`);
  } finally {
    admin.off('record', handler);
  }
}

// ------------------------------------------------------------------------------------------

for (const threads of ['2', '1']) describe(`socket.io-client against the feature server (--threads ${threads})`, () => {
  let server;

  before(async () => {
    server = await startBinary('SIO_FEATURE_SERVER', ['--threads', threads]);
    admin = await connect(server, '/admin');
    opened.sockets.delete(admin);
    opened.managers.delete(admin.io);
  });
  after(async () => {
    closeAll();
    admin?.disconnect();
    await server?.stop();
  });
  afterEach(closeAll);

  // 1. Namespaces -------------------------------------------------------------------------

  describe('namespaces', () => {
    it('"/" and a static namespace share one connection and are separate sockets', async () => {
      const m = manager(server);
      const main = socketOf(m, '/');
      const guarded = socketOf(m, '/guarded', { auth: { token: 'secret' } });
      await Promise.all([connected(main), connected(guarded)]);
      const [a, b, auth] = await Promise.all([call(main, 'whoami'), call(guarded, 'whoami'), call(guarded, 'auth')]);
      assert.equal(a.nsp, '/');
      assert.equal(a.id, main.id);
      assert.equal(b.nsp, '/guarded');
      assert.equal(b.id, guarded.id);
      assert.deepEqual(auth, { token: 'secret' });
      assert.notEqual(main.id, guarded.id);
      assert.equal(a.engine, m.engine.id, 'the server\'s Engine.IO session is the client\'s');
      assert.equal(b.engine, a.engine);
      assert.equal(a.transport, 'websocket');
    });

    it('Server::observe sees every socket of every namespace (dynamic ones too) and its connection\'s upgrade', async () => {
      const m = manager(server, { transports: ['polling', 'websocket'] });
      const main = socketOf(m, '/');
      const dyn = socketOf(m, '/dyn-7');
      await Promise.all([connected(main), connected(dyn)]);
      await withTimeout(new Promise((resolve) => {
        if (m.engine.transport.name === 'websocket') resolve();
        else m.engine.once('upgrade', resolve);
      }), WAIT, 'the upgrade');
      // The client sent the upgrade packet before these, on the same WebSocket.
      const seen = await Promise.all([call(main, 'observed'), call(dyn, 'observed')]);
      // "/"'s CONNECT left in the first polling request, which the client lets finish
      // before it upgrades.
      assert.deepEqual(seen[0], { nsp: '/', transport: 'polling', upgrades: ['websocket'] });
      // The child's middleware may let it join before or after the upgrade: either way
      // it is seen once, ending on WebSocket.
      const child = seen[1];
      assert.equal(child.nsp, '/dyn-7');
      assert.deepEqual(child.transport === 'polling' ? child.upgrades : [child.transport, ...child.upgrades],
        ['websocket'], JSON.stringify(child));
      // A socket that joins on the WebSocket transport: seen with it, and no upgrade.
      const direct = client(server, '/');
      await connected(direct);
      assert.deepEqual(await call(direct, 'observed'), { nsp: '/', transport: 'websocket', upgrades: [] });
    });

    it('a second observer adds up: its event hooks see what a socket receives and is sent one by one, not broadcasts', async () => {
      const socket = client(server, '/');
      await connected(socket);
      const echoed = next(socket, 'echo');
      socket.emit('echo', 'x');
      await echoed;
      await call(socket, 'bcast', { event: 'to-all', args: [1] });
      const seen = await call(socket, 'observed-events');
      assert.deepEqual(seen, { received: ['echo', 'bcast', 'observed-events'], sent: ['echo'] });
      // The first observer still saw the socket join.
      assert.equal((await call(socket, 'observed')).nsp, '/');
    });

    it('dynamic namespaces (/dyn-<digits>) get the parent\'s middleware and connection handler', async () => {
      const m = manager(server);
      const d1 = socketOf(m, '/dyn-1');
      const d22 = socketOf(m, '/dyn-22');
      const d22b = client(server, '/dyn-22');
      await Promise.all([connected(d1), connected(d22), connected(d22b)]);
      const [w1, w22] = await Promise.all([call(d1, 'whoami'), call(d22, 'whoami')]);
      assert.equal(w1.nsp, '/dyn-1');
      assert.equal(w1.id, d1.id);
      assert.deepEqual(w1.trace, ['parent-mw:/dyn-1', 'observer', 'parent-connection']);
      assert.equal(w22.nsp, '/dyn-22');
      assert.deepEqual(w22.trace, ['parent-mw:/dyn-22', 'observer', 'parent-connection']);
      assert.equal(w1.count, 1, 'each child is a namespace of its own');
      assert.equal(w22.count, 2);
      const echoed = next(d22, 'echo');
      d22.emit('echo', 'in a child', { n: 22 });
      assert.deepEqual(await echoed, ['in a child', { n: 22 }]);
    });

    it('the parent\'s middleware refusal applies to a child (connect_error with message and data)', async () => {
      const err = await refused(client(server, '/dyn-7', { auth: { dynRefuse: true } }));
      assert.equal(err.message, 'dyn refused');
      assert.deepEqual(err.data, { nsp: '/dyn-7' });
    });

    it('names the predicate rejects (by name or by auth) are "Invalid namespace"', async () => {
      const byName = await refused(client(server, '/dyn-abc'));
      assert.equal(byName.message, 'Invalid namespace');
      assert.equal(byName.data, undefined);
      const byAuth = await refused(client(server, '/dyn-5', { auth: { denyDyn: true } }));
      assert.equal(byAuth.message, 'Invalid namespace');
    });

    it('an emit on the parent namespace reaches every child namespace (Node: ParentNamespace.emit)', async () => {
      const [d31, d32, main] = await Promise.all([
        connect(server, '/dyn-31'), connect(server, '/dyn-32'), connect(server, '/')]);
      const got = Promise.all([next(d31, 'from-parent', 2000), next(d32, 'from-parent', 2000)]);
      await call(main, 'parent-emit', { event: 'from-parent', args: ['hello children', 3] });
      assert.deepEqual(await got, [['hello children', 3], ['hello children', 3]]);
    });

    it('an unknown namespace gets connect_error "Invalid namespace"; the connection\'s other namespaces stay', async () => {
      const m = manager(server);
      const main = await connected(socketOf(m, '/'));
      const err = await refused(socketOf(m, '/nowhere'));
      assert.equal(err.message, 'Invalid namespace');
      assert.equal(err.data, undefined);
      assert.deepEqual(await call(main, 'echo-ack', 'still here'), 'still here');
    });
  });

  // 2. Middleware and handshake -----------------------------------------------------------

  describe('middleware and handshake', () => {
    it('a refusing middleware: connect_error with err.message and err.data', async () => {
      const err = await refused(client(server, '/guarded', { auth: { token: 'wrong' } }));
      assert.equal(err.message, 'not authorized');
      assert.deepEqual(err.data, { code: 401, detail: 'bad token', list: [1, 'two', null] });
    });

    it('a middleware may call next() from another thread, to admit or to refuse', async () => {
      const admitted = await connect(server, '/guarded', { auth: { token: 'thread' } });
      assert.deepEqual(await call(admitted, 'trace'), ['m1:called', 'm1:returned', 'm1:next', 'm2', 'm3', 'observer', 'connection']);
      const err = await refused(client(server, '/guarded', { auth: { token: 'thread-refuse' } }));
      assert.equal(err.message, 'refused from a thread');
    });

    it('a refusal without data: err.data is undefined', async () => {
      const err = await refused(client(server, '/guarded', { auth: { token: 'nodata' } }));
      assert.equal(err.message, 'refused without data');
      assert.equal(err.data, undefined);
    });

    it('an asynchronous middleware: next() after it returned, then the others in order', async () => {
      const socket = await connect(server, '/guarded', { auth: { token: 'secret' } });
      assert.deepEqual(await call(socket, 'trace'), ['m1:called', 'm1:returned', 'm1:next', 'm2', 'm3', 'observer', 'connection']);
    });

    it('an asynchronous middleware that refuses later', async () => {
      const err = await refused(client(server, '/guarded', { auth: { token: 'secret', asyncRefuse: true } }));
      assert.equal(err.message, 'refused later');
      assert.deepEqual(err.data, { when: 'after fetch_ids' });
    });

    it('after a refusal the same socket connects with new auth (socket.connect())', async () => {
      const socket = client(server, '/guarded', { auth: { token: 'wrong' } });
      await refused(socket);
      socket.auth = { token: 'secret' };
      socket.connect();
      await connected(socket);
      assert.deepEqual(await call(socket, 'auth'), { token: 'secret' });
    });

    it('auth (an object, or a function) reaches socket.handshake().auth', async () => {
      const auth = { token: 'secret', nested: { list: [1, 2.5, 'ü'], flag: false, none: null } };
      const a = await connect(server, '/', { auth });
      assert.deepEqual((await call(a, 'handshake')).auth, auth);
      const b = await connect(server, '/', { auth: (cb) => cb({ from: 'function' }) });
      assert.deepEqual((await call(b, 'handshake')).auth, { from: 'function' });
      const none = await connect(server, '/');
      assert.deepEqual((await call(none, 'handshake')).auth, {});
    });

    for (const transport of ['polling', 'websocket']) {
      it(`query, extraHeaders, url, address, issued reach the handshake (${transport})`, async () => {
        const before = Date.now();
        const socket = await connect(server, '/', {
          transports: [transport],
          query: { foo: 'bär baz&=' },
          extraHeaders: { 'X-Custom': 'hello header' },
        });
        const after = Date.now();
        const h = await call(socket, 'handshake');
        assert.equal(h.foo, 'bär baz&=');
        assert.match(h.query, /(^|&)EIO=4(&|$)/);
        assert.match(h.query, new RegExp(`(^|&)transport=${transport}(&|$)`));
        assert.equal(h.xCustom, 'hello header');
        assert.ok(h.headers.some(([n, v]) => n.toLowerCase() === 'x-custom' && v === 'hello header'),
          JSON.stringify(h.headers));
        assert.ok(h.url.startsWith('/socket.io/?'), h.url);
        assert.match(h.url, /EIO=4/);
        assert.match(h.address, /^(::ffff:)?127\.0\.0\.1$/);
        assert.equal(h.secure, false);
        assert.ok(h.issued >= before - 5 && h.issued <= after + 5, `issued ${h.issued} not in [${before}, ${after}]`);
        assert.ok(h.now >= h.issued);
      });
    }
  });

  // 3. Events and binary --------------------------------------------------------------------

  describe('events', () => {
    it('an event with no arguments, one, and five of mixed JSON types', async () => {
      const socket = await connect(server);
      const cases = [
        [],
        ['one'],
        [42, 'two', true, null, { a: [1, { b: 'c' }], e: {}, f: [] }],
        [0.1, -1.5e-7, 1e21, 2 ** 53, -17, 1.7976931348623157e308, 5e-324],
        [[[[['deep']]]], { '': 'empty key', 'a.b': 1 }],
      ];
      for (const args of cases) {
        const echoed = next(socket, 'echo');
        socket.emit('echo', ...args);
        assert.deepStrictEqual(await echoed, args);
      }
    });

    it('unicode in values, keys and event names', async () => {
      const m = manager(server);
      const socket = await connected(socketOf(m, '/'));
      const any = await connected(socketOf(m, '/any'));
      const text = 'héllo wörld — 日本語 — עברית — 😀👍🏽 — e\u0301 — \u0000\u0001\u001f — \u2028\u2029 — "\\/\' — \uFEFF';
      const value = { [text]: text, '🔑': ['ключ', '🗝'] };
      const echoed = next(socket, 'echo');
      socket.emit('echo', text, value);
      assert.deepStrictEqual(await echoed, [text, value]);
      assert.deepStrictEqual(await call(socket, 'echo-ack', text, value), text);
      await call(any, 'clear-log');
      const name = 'évènement-✓-😀';
      any.emit(name, text);
      const log = await call(any, 'log');
      const seen = log.find((e) => e.kind === 'any' && e.event === name);
      assert.ok(seen, JSON.stringify(log));
      assert.deepStrictEqual(seen.args, [text]);
    });

    for (const transport of ['websocket', 'polling']) {
      it(`large payloads both ways (${transport})`, async () => {
        const socket = await connect(server, '/', { transports: [transport] });
        const big = 'x'.repeat(300_000) + 'ü'.repeat(100_000) + '😀'.repeat(20_000);
        const blob = bytes(400_000, 3);
        const echoed = next(socket, 'echo', 10_000);
        socket.emit('echo', big, blob);
        const [s, b] = await echoed;
        assert.equal(s.length, big.length);
        assert.ok(s === big, 'the string came back changed');
        assert.ok(Buffer.from(b).equals(blob), 'the buffer came back changed');
      });
    }

    const shapes = {
      'a Buffer at the top': () => [bytes(10)],
      'nested in an object': () => [{ a: bytes(5, 1), meta: { n: 1 } }],
      'nested in arrays and objects, several': () => [{ list: [bytes(3, 2), { deep: [bytes(0), bytes(300, 4)] }] }, 'text', bytes(1, 9)],
      'several at the top with JSON between': () => [bytes(2, 5), 7, bytes(2, 6), null, [bytes(4, 7)]],
    };
    for (const [name, make] of Object.entries(shapes)) {
      it(`binary ${name}: client → server → client (event and ack), as the server decoded it`, async () => {
        const socket = await connect(server);
        const args = make();
        const echoed = next(socket, 'echo');
        socket.emit('echo', ...args);
        assert.deepStrictEqual(norm(await echoed), norm(args));
        const acked = await new Promise((resolve) => socket.emit('echo-ack', ...args, (...r) => resolve(r)));
        assert.deepStrictEqual(norm(acked), norm(args));
        // What the server found, with its path.
        const info = await call(socket, 'binary-info', ...args);
        const expected = [];
        const walk = (v, p) => {
          if (Buffer.isBuffer(v)) expected.push({ path: p, size: v.length, base64: v.toString('base64') });
          else if (Array.isArray(v)) v.forEach((e, i) => walk(e, `${p}[${i}]`));
          else if (v && typeof v === 'object') for (const [k, e] of Object.entries(v)) walk(e, `${p}.${k}`);
        };
        args.forEach((a, i) => walk(a, String(i)));
        assert.equal(info.count, expected.length);
        const byPath = (a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
        assert.deepStrictEqual(info.found.sort(byPath), expected.sort(byPath));
      });
    }

    it('binary made by the server (top level, nested in objects and arrays, empty) in an event and an ack', async () => {
      const socket = await connect(server);
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const expected = norm([all, { text: 'x', nested: { deep: [Buffer.from([0, 1, 255]), 7] } },
        [1, Buffer.from('abc'), { empty: Buffer.alloc(0) }]]);
      const event = next(socket, 'made-binary');
      const acked = await new Promise((resolve) => socket.emit('make-binary', (...r) => resolve(r)));
      assert.deepStrictEqual(norm(await event), expected);
      assert.deepStrictEqual(norm(acked), expected);
    });
  });

  // 4. Acknowledgements ---------------------------------------------------------------------

  describe('acknowledgements', () => {
    it('the client\'s callback gets the server\'s Ack arguments (none, several)', async () => {
      const socket = await connect(server);
      const none = await new Promise((resolve) => socket.emit('ack-empty', (...r) => resolve(r)));
      assert.deepStrictEqual(none, []);
      const several = await new Promise((resolve) => socket.emit('echo-ack', 1, 'a', { b: [true] }, (...r) => resolve(r)));
      assert.deepStrictEqual(several, [1, 'a', { b: [true] }]);
    });

    it('a handler added by a handler runs from the next event on, not for the one being handled', async () => {
      const socket = await connect(server);
      socket.emit('grow');  // adds counter 1
      socket.emit('grow');  // adds counter 2; counter 1 counts
      socket.emit('grow');  // adds counter 3; counters 1 and 2 count
      assert.deepStrictEqual(await socket.emitWithAck('grown'), 3);
    });

    it('emit_with_ack from the server is answered by the client\'s callback (with binary)', async () => {
      const socket = await connect(server);
      socket.on('question', (q, n, cb) => cb(`re: ${q}`, { n: n + 1 }, Buffer.from([9, 8, 7])));
      const result = await call(socket, 'ask', { timeout: 2000, args: ['why', 41] });
      assert.equal(result.answered, true);
      assert.deepStrictEqual(norm(result.args), norm(['re: why', { n: 42 }, Buffer.from([9, 8, 7])]));
    });

    it('emit_with_ack times out (nullopt) when the client never calls back', async () => {
      const socket = await connect(server);
      let asked = 0;
      socket.on('question', () => { asked += 1; });
      const started = Date.now();
      const result = await call(socket, 'ask', { timeout: 300, args: ['hello?'] });
      const elapsed = Date.now() - started;
      assert.equal(asked, 1);
      assert.deepStrictEqual(result, { answered: false });
      assert.ok(elapsed >= 250, `answered after ${elapsed} ms, before the 300 ms timeout`);
      assert.ok(socket.connected);
    });

    it('an answer that comes after emit_with_ack\'s timeout is dropped; the socket goes on', async () => {
      const socket = await connect(server);
      let answered;
      const late = new Promise((resolve) => { answered = resolve; });
      // The client answers late on purpose (this delay is the behaviour under test).
      socket.on('question', (q, cb) => setTimeout(() => { cb('too late'); answered(); }, 300));
      const result = await call(socket, 'ask', { timeout: 100, args: ['q'] });
      assert.deepStrictEqual(result, { answered: false });
      await late;
      socket.off('question');
      socket.on('question', (q, cb) => cb(`in time: ${q}`));
      assert.deepStrictEqual(await call(socket, 'ask', { timeout: 2000, args: ['q2'] }), { answered: true, args: ['in time: q2'] });
    });

    it('socket.timeout(ms).emitWithAck fails on the client when the server never acks', async () => {
      const socket = await connect(server);
      await assert.rejects(socket.timeout(300).emitWithAck('never-ack', 1), /operation has timed out/);
      await assert.rejects(socket.timeout(300).emitWithAck('no-such-event'), /operation has timed out/);
      assert.equal(await call(socket, 'echo-ack', 'alive'), 'alive');
    });
  });

  // 5. Rooms and broadcasts -----------------------------------------------------------------

  describe(`rooms and broadcasts (12 clients, polling and websocket, ${threads} loop${threads === '1' ? '' : 's'})`, () => {
    const N = 12;
    let clients;
    let inboxes;
    let ids;
    const RED = [0, 1, 2, 3, 4, 5];
    const BLUE = [4, 5, 6, 7, 8, 9];

    const who = (events, event) => events.filter((e) => e.event === event);

    // Per client, the events named `event` that came before the next fence sent by `sender`.
    async function received(sender, event) {
      const before = await fence(sender, inboxes);
      return before.map((events) => who(events, event));
    }
    const indicesOf = (perClient) => perClient.map((evs, i) => (evs.length ? i : -1)).filter((i) => i >= 0);

    it('setup: 12 clients on every loop, joining red (0-5) and blue (4-9)', async () => {
      // Not in `opened`: these clients live for the whole block.
      clients = await Promise.all(Array.from({ length: N }, (_, i) =>
        connected(io(server.url('/'), {
          forceNew: true, reconnection: false, transports: [i % 2 ? 'websocket' : 'polling'],
        }))));
      inboxes = clients.map((c) => new Inbox(c));
      ids = clients.map((c) => c.id);
      const loops = new Set((await Promise.all(clients.map((c) => call(c, 'whoami')))).map((w) => w.thread));
      assert.equal(loops.size, Number(threads), `the ${N} clients are on ${loops.size} loops`);
      const joined = await Promise.all(clients.map((c, i) => {
        const rooms = [...(RED.includes(i) ? ['red'] : []), ...(BLUE.includes(i) ? ['blue'] : [])];
        return call(c, 'join', rooms);
      }));
      assert.deepEqual(joined[4].sort(), [ids[4], 'blue', 'red'].sort());
      assert.deepEqual(await call(clients[11], 'rooms'), [ids[11]]);
    });

    it('to(room).emit reaches exactly the room\'s members, once each', async () => {
      await call(clients[11], 'bcast', { via: 'nsp', to: ['red'], event: 'news', args: ['red only', bytes(3)] });
      const got = await received(clients[11], 'news');
      assert.deepEqual(indicesOf(got), RED);
      for (const i of RED) {
        assert.equal(got[i].length, 1);
        assert.deepStrictEqual(norm(got[i][0].args), norm(['red only', bytes(3)]));
      }
    });

    it('to(red).to(blue): the union, nobody twice', async () => {
      await call(clients[0], 'bcast', { via: 'nsp', to: ['red', 'blue'], event: 'news', args: ['union'] });
      const got = await received(clients[0], 'news');
      assert.deepEqual(indicesOf(got), [...new Set([...RED, ...BLUE])].sort((a, b) => a - b));
      for (const evs of got) assert.ok(evs.length <= 1, 'a member of both rooms got it twice');
    });

    it('to(red).except(blue), and except alone', async () => {
      await call(clients[11], 'bcast', { via: 'nsp', to: ['red'], except: ['blue'], event: 'news', args: [1] });
      assert.deepEqual(indicesOf(await received(clients[11], 'news')), [0, 1, 2, 3]);
      await call(clients[11], 'bcast', { via: 'nsp', except: ['red', ids[10]], event: 'news', args: [2] });
      assert.deepEqual(indicesOf(await received(clients[11], 'news')), [6, 7, 8, 9, 11]);
    });

    it('socket.to(room) leaves out the sender, a member; socket.broadcast() reaches all others', async () => {
      await call(clients[2], 'bcast', { via: 'socket', to: ['red'], event: 'news', args: ['from 2'] });
      assert.deepEqual(indicesOf(await received(clients[2], 'news')), [0, 1, 3, 4, 5]);
      await call(clients[7], 'bcast', { via: 'socket', event: 'news', args: ['from 7'] });
      assert.deepEqual(indicesOf(await received(clients[7], 'news')), [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11]);
      await call(clients[7], 'bcast', { via: 'socket', except: ['blue'], event: 'news', args: ['from 7'] });
      assert.deepEqual(indicesOf(await received(clients[7], 'news')), [0, 1, 2, 3, 10, 11]);
    });

    it('Namespace::emit reaches every socket, the sender too; to(<socket id>) one socket', async () => {
      await call(clients[3], 'nsp-emit', { event: 'news', args: [{ to: 'all' }] });
      const got = await received(clients[3], 'news');
      assert.deepEqual(indicesOf(got), [...Array(N).keys()]);
      for (const evs of got) assert.deepStrictEqual(evs[0].args, [{ to: 'all' }]);
      await call(clients[3], 'bcast', { via: 'nsp', to: [ids[8]], event: 'news', args: ['direct'] });
      assert.deepEqual(indicesOf(await received(clients[3], 'news')), [8]);
    });

    it('leave: a socket that left red gets no more red broadcasts', async () => {
      assert.deepEqual((await call(clients[0], 'leave', 'red')).sort(), [ids[0]]);
      await call(clients[11], 'bcast', { via: 'nsp', to: ['red'], event: 'news', args: [] });
      assert.deepEqual(indicesOf(await received(clients[11], 'news')), [1, 2, 3, 4, 5]);
      assert.deepEqual((await call(clients[0], 'join', 'red')).sort(), [ids[0], 'red'].sort());
    });

    it('fetch_ids: the room\'s members across both loops', async () => {
      assert.deepEqual(await call(clients[11], 'fetch-ids', { to: ['red'] }), RED.map((i) => ids[i]).sort());
      assert.deepEqual(await call(clients[11], 'fetch-ids', { to: ['red', 'blue'], except: ['red'] }),
        [6, 7, 8, 9].map((i) => ids[i]).sort());
      assert.deepEqual(await call(clients[11], 'fetch-ids', { to: ['nobody'] }), []);
      const all = await call(clients[11], 'fetch-ids', {});
      for (const id of ids) assert.ok(all.includes(id));
    });

    it('fetch_sockets: id, rooms and handshake of each target, across both loops', async () => {
      const found = await call(clients[11], 'fetch-sockets', { to: ['blue'], except: ['red'] });
      assert.deepEqual(found.map((s) => s.id), [6, 7, 8, 9].map((i) => ids[i]).sort());
      for (const s of found) {
        assert.deepEqual(s.rooms.sort(), [s.id, 'blue'].sort());
        const h = s.handshake;
        assert.equal(h.query.EIO, '4');
        assert.ok(['polling', 'websocket'].includes(h.query.transport), h.query.transport);
        assert.deepEqual(h.auth, {});
        assert.match(h.address, /127\.0\.0\.1$/);
        assert.equal(h.xdomain, false);
        assert.equal(h.secure, false);
        assert.ok(h.url.startsWith('/socket.io/?'), h.url);
        assert.equal(h.headers.host, new URL(server.url('/')).host);
        assert.ok(Math.abs(new Date(h.time).getTime() - h.issued) < 1000, `${h.time} vs ${h.issued}`);
        assert.ok(Math.abs(Date.now() - h.issued) < 60_000);
      }
      assert.deepEqual(await call(clients[11], 'fetch-sockets', { to: ['nobody'] }), []);
      // socket.data travels when it is JSON (Node's RemoteSocket.data).
      await call(clients[6], 'set-data', { user: 'six', n: [6] });
      const [six] = await call(clients[11], 'fetch-sockets', { to: [ids[6]] });
      assert.deepEqual(six.data, { user: 'six', n: [6] });
      assert.equal(found.find((s) => s.id === ids[7]).data, null);
    });

    it('room events: create-room and join-room, leave-room and delete-room, in Node\'s order', async () => {
      await call(clients[11], 'room-events');  // start from an empty log
      await call(clients[0], 'join', 'ev-a');
      await call(clients[1], 'join', 'ev-a');
      await call(clients[0], 'leave', 'ev-a');
      await call(clients[1], 'leave', 'ev-a');
      assert.deepEqual(await call(clients[11], 'room-events'), [
        ['create-room', 'ev-a'], ['join-room', 'ev-a', ids[0]], ['join-room', 'ev-a', ids[1]],
        ['leave-room', 'ev-a', ids[0]], ['leave-room', 'ev-a', ids[1]], ['delete-room', 'ev-a'],
      ]);
      // A socket that leaves by disconnecting leaves its rooms too.
      const extra = await connected(io(server.url('/'), { forceNew: true, reconnection: false }));
      const extraId = extra.id;
      await call(extra, 'join', 'ev-b');
      extra.disconnect();
      const events = [];
      for (const deadline = Date.now() + WAIT; events.length < 4 && Date.now() < deadline;) {
        events.push(...await call(clients[11], 'room-events'));
        if (events.length < 4) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.deepEqual(events, [
        ['create-room', 'ev-b'], ['join-room', 'ev-b', extraId],
        ['leave-room', 'ev-b', extraId], ['delete-room', 'ev-b'],
      ]);
    });

    it('sockets_join and sockets_leave act on every target, on both loops', async () => {
      await call(clients[11], 'sockets-join', { to: ['red'], rooms: ['green', 'yellow'] });
      assert.deepEqual(await call(clients[11], 'fetch-ids', { to: ['green'] }), RED.map((i) => ids[i]).sort());
      assert.deepEqual((await call(clients[1], 'rooms')).sort(), [ids[1], 'green', 'red', 'yellow'].sort());
      await call(clients[11], 'bcast', { via: 'nsp', to: ['yellow'], event: 'news', args: [] });
      assert.deepEqual(indicesOf(await received(clients[11], 'news')), RED);
      await call(clients[11], 'sockets-leave', { to: ['blue'], rooms: ['green'] });
      assert.deepEqual(await call(clients[11], 'fetch-ids', { to: ['green'] }), [0, 1, 2, 3].map((i) => ids[i]).sort());
      await call(clients[11], 'sockets-leave', { rooms: ['green', 'yellow'] });
      assert.deepEqual(await call(clients[11], 'fetch-ids', { to: ['green', 'yellow'] }), []);
    });

    it('broadcast acks: every member answers (binary too) → all_answered and every response', async () => {
      clients.forEach((c, i) => {
        c.removeAllListeners('poll');
        c.on('poll', (q, cb) => cb(i, i === 4 ? Buffer.from([4, 4]) : `${q}-${i}`));
      });
      const result = await call(clients[11], 'bcast-ack', { via: 'nsp', to: ['blue'], timeout: 3000, event: 'poll', args: ['q'] });
      assert.equal(result.allAnswered, true);
      const responses = norm(result.responses).sort((a, b) => a[0] - b[0]);
      assert.deepStrictEqual(responses, norm(BLUE.map((i) => [i, i === 4 ? Buffer.from([4, 4]) : `q-${i}`])));
    });

    it('broadcast acks: one member never answers → all_answered false after the timeout, the others\' responses', async () => {
      clients.forEach((c, i) => {
        c.removeAllListeners('poll');
        c.on('poll', (q, cb) => { if (i !== 2) cb(i); });
      });
      const started = Date.now();
      const result = await call(clients[11], 'bcast-ack', { via: 'nsp', to: ['red'], timeout: 400, event: 'poll', args: ['q'] });
      const elapsed = Date.now() - started;
      assert.equal(result.allAnswered, false);
      assert.deepStrictEqual(result.responses.map((r) => r[0]).sort((a, b) => a - b), [0, 1, 3, 4, 5]);
      assert.ok(elapsed >= 350, `done after ${elapsed} ms, before the 400 ms timeout`);
    });

    it('broadcast acks to nobody: done at once, all_answered, no responses', async () => {
      const result = await call(clients[11], 'bcast-ack', { via: 'nsp', to: ['nobody'], timeout: 3000, event: 'poll', args: [] });
      assert.deepStrictEqual(result, { allAnswered: true, responses: [] });
    });

    it('broadcasts made on a thread of their own reach exactly their targets', async () => {
      const token = `t${++fenceCount}`;
      await call(clients[11], 'thread-bcast', { via: 'nsp', to: ['blue'], except: ['red'], event: 'news', args: ['thread', bytes(2)], fence: token });
      const got = (await Promise.all(inboxes.map((inbox) => inbox.untilFence(token)))).map((evs) => who(evs, 'news'));
      assert.deepEqual(indicesOf(got), [6, 7, 8, 9]);
      for (const i of [6, 7, 8, 9]) assert.deepStrictEqual(norm(got[i].map((e) => e.args)), norm([['thread', bytes(2)]]));
    });

    it('volatile broadcasts reach writable clients (websocket ones: a polling client between two GETs may miss one)', async () => {
      const ws = [1, 3, 5, 7];
      await call(clients[11], 'bcast', { via: 'nsp', to: ws.map((i) => ids[i]), volatile: true, event: 'news', args: ['volatile'] });
      assert.deepEqual(indicesOf(await received(clients[11], 'news')), ws);
      const own = next(clients[5], 'mine');
      await call(clients[5], 'volatile-me', { event: 'mine', args: ['to me', bytes(2)] });
      assert.deepStrictEqual(norm(await own), norm(['to me', bytes(2)]));
    });

    it('disconnect_sockets(): the room\'s members leave the namespace ("io server disconnect" / "server namespace disconnect")', async () => {
      const targets = [6, 7];
      await call(clients[11], 'sockets-join', { to: [ids[6], ids[7]], rooms: ['doomed'] });
      const gone = targets.map((i) => next(clients[i], 'disconnect'));
      await call(clients[11], 'disconnect-sockets', { to: ['doomed'] });
      for (const [reason] of await Promise.all(gone)) assert.equal(reason, 'io server disconnect');
      for (const i of targets) {
        const rec = await recordOf(ids[i]);
        assert.equal(rec.reason, 'server namespace disconnect');
        assert.ok(rec.roomsAtDisconnecting.includes('doomed'), 'rooms are readable in on_disconnecting');
        assert.deepEqual(rec.roomsAfter, [], 'rooms are left before on_disconnect (Node)');
      }
      assert.deepEqual(await call(clients[11], 'fetch-ids', { to: ['blue'] }), [4, 5, 8, 9].map((i) => ids[i]).sort());
    });

    it('disconnect_sockets(true): the targets\' whole connections close (Node: DISCONNECT first, "io server disconnect")', async () => {
      const targets = [8, 9];
      await call(clients[11], 'sockets-join', { to: [ids[8], ids[9]], rooms: ['doomed2'] });
      const gone = targets.map((i) => next(clients[i], 'disconnect'));
      await call(clients[11], 'disconnect-sockets', { to: ['doomed2'], close: true });
      const reasons = (await Promise.all(gone)).map(([r]) => r);
      const records = await Promise.all(targets.map((i) => recordOf(ids[i])));
      assert.deepEqual({ server: records.map((r) => r.reason), client: reasons }, {
        server: ['server namespace disconnect', 'server namespace disconnect'],
        client: ['io server disconnect', 'io server disconnect'],
      });
    });

    it('teardown', () => {
      for (const c of clients ?? []) c.disconnect();
    });
  });

  // 6. Catch-all listeners and per-packet middleware -----------------------------------------

  describe('catch-all and per-packet middleware (/any)', () => {
    it('on_any sees every incoming event with its args, prepend_any first; on_any_outgoing the outgoing ones', async () => {
      const any = await connect(server, '/any');
      await call(any, 'clear-log');  // its own entries go with the rest
      const said = next(any, 'said');
      any.emit('say', 1, 'two', { three: [3] });
      assert.deepStrictEqual(await said, [1, 'two', { three: [3] }]);
      any.emit('unhandled', bytes(3), 'x');
      const log = await call(any, 'log');
      const ofEvent = (e) => log.filter((l) => l.event === e).map((l) => l.kind);
      assert.deepStrictEqual(ofEvent('say'), ['prepended', 'any']);
      assert.deepStrictEqual(ofEvent('said'), ['outgoing']);
      assert.deepStrictEqual(ofEvent('unhandled'), ['prepended', 'any']);
      assert.deepStrictEqual(ofEvent('log'), ['prepended', 'any']);
      const sayEntry = log.find((l) => l.event === 'say' && l.kind === 'any');
      assert.deepStrictEqual(sayEntry.args, [1, 'two', { three: [3] }]);
      const outEntry = log.find((l) => l.event === 'said');
      assert.deepStrictEqual(outEntry.args, [1, 'two', { three: [3] }]);
      const bin = log.find((l) => l.event === 'unhandled' && l.kind === 'any');
      assert.equal(bin.binaries, 1);
      assert.deepStrictEqual(bin.args, [{ _placeholder: true, num: 0 }, 'x']);
      // In order: say's entries, then said (emitted by say's handler), then the rest.
      const order = log.map((l) => `${l.kind}:${l.event}`);
      assert.deepStrictEqual(order, ['prepended:say', 'any:say', 'outgoing:said', 'prepended:unhandled', 'any:unhandled',
        'prepended:log', 'any:log']);
    });

    it('off_any: no more catch-all entries (outgoing ones go on)', async () => {
      const any = await connect(server, '/any');
      await call(any, 'off-any');
      await call(any, 'clear-log');
      const said = next(any, 'said');
      any.emit('say', 'after off');
      await said;
      const log = await call(any, 'log');
      assert.deepStrictEqual(log.map((l) => `${l.kind}:${l.event}`), ['outgoing:said']);
    });

    it('a per-packet middleware drops an event with an error for the socket\'s "error" handlers', async () => {
      const any = await connect(server, '/any');
      const inbox = new Inbox(any);
      any.emit('forbidden', 'payload');
      const i = await inbox.waitFor((e) => e.event === 'middleware-error', 'middleware-error');
      assert.deepStrictEqual(inbox.events[i].args, ['forbidden event: forbidden']);
      // Anything the handler would have sent would have come before this ack's answer.
      await call(any, 'log');
      assert.ok(!inbox.events.some((e) => e.event === 'forbidden-handled'), 'the dropped event reached its handler');
    });

    it('a per-packet middleware may change the arguments the handlers get', async () => {
      const any = await connect(server, '/any');
      assert.deepStrictEqual(await new Promise((resolve) => any.emit('mutate', 1, (...r) => resolve(r))),
        [1, 'added by middleware']);
    });

    it('an asynchronous packet middleware: the handler runs once next() is called', async () => {
      const any = await connect(server, '/any');
      const handled = next(any, 'slow-handled');
      assert.deepStrictEqual(await new Promise((resolve) => any.emit('slow', 'a', 1, (...r) => resolve(r))), ['a', 1]);
      await handled;
    });

    it('next() and the ack from threads outside the server\'s loops', async () => {
      const any = await connect(server, '/any');
      const replies = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        new Promise((resolve) => any.emit('threaded', i, Buffer.from([i]), (...r) => resolve(r)))));
      replies.forEach((r, i) => assert.deepStrictEqual(norm(r), norm([i, Buffer.from([i])])));
      const main = await connect(server);
      assert.deepStrictEqual(await new Promise((resolve) => main.emit('echo-ack-from-thread', 'x', (...r) => resolve(r))),
        ['x']);
    });

    it('a packet middleware that calls next() on a later event: the handler runs then', async () => {
      const m = manager(server);
      const main = await connected(socketOf(m, '/'));
      const any = await connected(socketOf(m, '/any'));
      const inbox = new Inbox(any);
      any.emit('hold', 'held');
      assert.equal(await call(any, 'mutate').then(() => inbox.events.length), 0, 'the held event ran');
      assert.equal(await call(main, 'release'), 1);
      const i = await inbox.waitFor((e) => e.event === 'hold-handled', 'hold-handled');
      assert.deepStrictEqual(inbox.events[i].args, ['held']);
    });

    it('a packet middleware whose socket left the namespace before next(): nothing runs, the connection lives on', async () => {
      // Under AddressSanitizer this shows whether next() touches the freed socket.
      const m = manager(server);
      const main = await connected(socketOf(m, '/'));
      const any = await connected(socketOf(m, '/any'));
      const id = any.id;
      any.emit('hold', 'late');
      any.disconnect();
      assert.equal((await recordOf(id)).reason, 'client namespace disconnect');
      assert.equal(await call(main, 'release'), 1);
      assert.equal(await call(main, 'echo-ack', 'alive'), 'alive');
      assert.ok(server.running());
    });

    it('catch-all listeners see an event a packet middleware drops (Node runs onAny before socket.use)', async () => {
      const any = await connect(server, '/any');
      await call(any, 'clear-log');
      const err = next(any, 'middleware-error');
      any.emit('forbidden', 'seen?');
      await err;
      const log = await call(any, 'log');
      assert.deepStrictEqual(log.filter((l) => l.event === 'forbidden').map((l) => l.kind), ['prepended', 'any'],
        JSON.stringify(log));
    });
  });

  // 7. Disconnects and their reasons ---------------------------------------------------------

  describe('disconnect reasons', () => {
    it('client socket.disconnect() → "client namespace disconnect"; the connection\'s other namespace stays', async () => {
      const m = manager(server);
      const main = await connected(socketOf(m, '/'));
      const any = await connected(socketOf(m, '/any'));
      const id = main.id;
      await call(main, 'join', 'some-room');
      const gone = next(main, 'disconnect');
      main.disconnect();
      assert.equal((await gone)[0], 'io client disconnect');
      const rec = await recordOf(id);
      assert.equal(rec.reason, 'client namespace disconnect');
      assert.equal(rec.nsp, '/');
      assert.ok(rec.roomsAtDisconnecting.includes('some-room'));
      assert.ok(any.connected);
      assert.equal(m.engine.readyState, 'open');
      assert.equal(await call(any, 'mutate'), 'added by middleware');
    });

    it('server socket.disconnect() → client "io server disconnect", server "server namespace disconnect"; other namespace stays', async () => {
      const m = manager(server);
      const main = await connected(socketOf(m, '/'));
      const any = await connected(socketOf(m, '/any'));
      const id = main.id;
      const gone = next(main, 'disconnect');
      await call(main, 'disconnect-me', { close: false });
      assert.equal((await gone)[0], 'io server disconnect');
      assert.equal((await recordOf(id)).reason, 'server namespace disconnect');
      assert.ok(any.connected);
      assert.equal(await call(any, 'mutate', 0).then(() => 'up'), 'up');
    });

    it('server socket.disconnect(true) closes every namespace of the connection (Node: "server namespace disconnect" each, client "io server disconnect")', async () => {
      const m = manager(server);
      const main = await connected(socketOf(m, '/'));
      const any = await connected(socketOf(m, '/any'));
      const ids = [main.id, any.id];
      const gone = [next(main, 'disconnect'), next(any, 'disconnect')];
      const closed = next(m, 'close');
      main.emit('disconnect-me', { close: true });
      await closed;
      const reasons = (await Promise.all(gone)).map(([r]) => r);
      const records = await Promise.all(ids.map((id) => recordOf(id)));
      assert.deepEqual(records.map((r) => r.nsp).sort(), ['/', '/any']);
      assert.deepEqual({ server: records.map((r) => r.reason), client: reasons }, {
        server: ['server namespace disconnect', 'server namespace disconnect'],
        client: ['io server disconnect', 'io server disconnect'],
      });
    });

    for (const transport of ['websocket', 'polling']) {
      it(`the client closes its transport → "transport close" for every namespace (${transport})`, async () => {
        const m = manager(server, { transports: [transport] });
        const main = await connected(socketOf(m, '/'));
        const any = await connected(socketOf(m, '/any'));
        const ids = [main.id, any.id];
        m.engine.close();
        const records = await Promise.all(ids.map((id) => recordOf(id)));
        assert.deepEqual(records.map((r) => r.reason), ['transport close', 'transport close']);
      });
    }
  });

  // 8. Transports --------------------------------------------------------------------------

  describe('transports', () => {
    for (const [label, transports] of [['polling', ['polling']], ['websocket', ['websocket']], ['default (upgrade)', undefined]]) {
      it(`echo with binary over ${label}`, async () => {
        const opts = transports ? { transports } : { transports: ['polling', 'websocket'] };
        const socket = client(server, '/', opts);
        const upgraded = transports ? null : next(socket.io, 'open').then(() => next(socket.io.engine, 'upgrade'));
        await connected(socket);
        const args = ['text', { bin: bytes(64), list: [bytes(1, 5)] }, bytes(1000, 2)];
        const echo = async () => {
          const echoed = next(socket, 'echo');
          socket.emit('echo', ...args);
          assert.deepStrictEqual(norm(await echoed), norm(args));
          const acked = await new Promise((resolve) => socket.emit('echo-ack', ...args, (...r) => resolve(r)));
          assert.deepStrictEqual(norm(acked), norm(args));
        };
        await echo();
        if (upgraded) {
          if (socket.io.engine.transport.name !== 'websocket') await upgraded;
          assert.equal(socket.io.engine.transport.name, 'websocket');
          await echo();
        } else {
          assert.equal(socket.io.engine.transport.name, transports[0]);
        }
      });
    }
  });
});

// --- a server with short timers: ping timeout and connectTimeout --------------------------

describe('short timers (--ping-interval 200 --ping-timeout 200 --connect-timeout 500)', () => {
  let server;
  before(async () => {
    server = await startBinary('SIO_FEATURE_SERVER',
      ['--threads', '2', '--ping-interval', '200', '--ping-timeout', '200', '--connect-timeout', '500']);
    admin = await connect(server, '/admin');
    opened.sockets.delete(admin);
    opened.managers.delete(admin.io);
  });
  after(async () => {
    closeAll();
    admin?.disconnect();
    await server?.stop();
  });
  afterEach(closeAll);

  it('a client that stops answering pings → server "ping timeout", client "transport close"', async () => {
    const m = manager(server);
    const main = await connected(socketOf(m, '/'));
    const any = await connected(socketOf(m, '/any'));
    const ids = [main.id, any.id];
    const gone = next(main, 'disconnect', 3000);
    m.engine._sendPacket = () => {};  // no more pongs (nor anything else)
    const records = await Promise.all(ids.map((id) => recordOf(id, 3000)));
    assert.deepEqual(records.map((r) => r.reason), ['ping timeout', 'ping timeout']);
    assert.equal((await gone)[0], 'transport close');
  });

  it('connectTimeout: an Engine.IO client that never sends CONNECT is closed; a connected one stays', async () => {
    const connectedClient = await connect(server, '/');
    const raw = new WebSocket(server.wsUrl('/socket.io/?EIO=4&transport=websocket'));
    const messages = [];
    raw.on('message', (d) => {
      const text = d.toString();
      messages.push(text);
      if (text === '2') raw.send('3');  // answers pings: only the missing CONNECT counts
    });
    await next(raw, 'open');
    const opened = Date.now();
    const [code] = await next(raw, 'close', 5000);
    const elapsed = Date.now() - opened;
    assert.ok(messages[0]?.startsWith('0{'), `no Engine.IO open packet: ${messages[0]}`);
    assert.ok(elapsed >= 400, `closed after ${elapsed} ms, before the 500 ms connectTimeout`);
    assert.ok(elapsed < 3000, `closed only after ${elapsed} ms`);
    assert.ok(!messages.some((t) => t.startsWith('4')), `got Socket.IO packets: ${messages}`);
    assert.ok(code === 1000 || code === 1005 || code === 1006, `close code ${code}`);
    // The client that joined a namespace in time is still there.
    assert.ok(connectedClient.connected);
    assert.equal(await call(connectedClient, 'echo-ack', 'still'), 'still');
  });
});

// --- shutdown ----------------------------------------------------------------------------------

describe('connection state recovery (--recovery 1500) and a trusted proxy', () => {
  let server;
  before(async () => {
    server = await startBinary('SIO_FEATURE_SERVER', ['--threads', '2', '--recovery', '1500', '--trust-proxy']);
  });
  after(async () => {
    closeAll();
    await server?.stop();
  });
  afterEach(closeAll);

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  // With recovery on, an event's last argument is its offset, and the client passes it
  // on to the listeners (as with a Node server): the arguments without it, offsets checked.
  const news = (inbox) => {
    const events = inbox.events.filter((e) => e.event === 'news');
    const offsets = events.map((e) => e.args.at(-1));
    for (const offset of offsets) assert.equal(typeof offset, 'string');
    assert.equal(new Set(offsets).size, offsets.length, `offsets repeat: ${offsets}`);
    return events.map((e) => norm(e.args.slice(0, -1)));
  };

  /** A receiver in room "r" with data, that has had one live "news" (so the client holds an offset). */
  async function member(opts = {}) {
    const socket = await connect(server, '/', opts);
    const inbox = new Inbox(socket);
    await call(socket, 'join', ['r']);
    await call(socket, 'set-data', { user: 'ann' });
    return { socket, inbox };
  }

  for (const transport of ['websocket', 'polling']) {
    it(`a dropped connection comes back with its id, rooms and data, and the events it missed, in order (${transport})`, async () => {
      const sender = await connect(server);
      const { socket, inbox } = await member({
        transports: [transport], reconnection: true, reconnectionDelay: 300, reconnectionDelayMax: 300,
      });
      const id = socket.id;
      assert.equal(socket.recovered, false);
      await call(sender, 'bcast', { via: 'nsp', to: ['r'], event: 'news', args: [0] });
      await inbox.waitFor((e) => e.event === 'news', 'the live news');

      const dropped = next(socket, 'disconnect');
      socket.io.engine.close();  // as a network drop: no DISCONNECT packet
      await dropped;
      for (const i of [1, 2, 3]) await call(sender, 'bcast', { via: 'nsp', to: ['r'], event: 'news', args: [i] });
      await call(sender, 'bcast', { via: 'nsp', to: ['r'], event: 'news', args: [4, bytes(3)] });
      await call(sender, 'bcast', { via: 'nsp', to: ['elsewhere'], event: 'news', args: ['not for r'] });
      await next(socket, 'connect');

      assert.equal(socket.recovered, true);
      assert.equal(socket.id, id);
      assert.equal(await call(socket, 'recovered'), true);
      assert.deepEqual((await call(socket, 'rooms')).sort(), [id, 'r'].sort());
      assert.deepEqual(await call(socket, 'get-data'), { user: 'ann' });
      await inbox.waitFor((e) => e.event === 'news' && e.args[0] === 4, 'the last missed news');
      assert.deepEqual(news(inbox), [[0], [1], [2], [3], [4, norm(bytes(3))]]);
      // And it is a member again: live broadcasts reach it, once.
      await call(sender, 'bcast', { via: 'nsp', to: ['r'], event: 'news', args: [5] });
      await inbox.waitFor((e) => e.event === 'news' && e.args[0] === 5, 'a live news after recovery');
      assert.equal(news(inbox).length, 6);
    });
  }

  it('past maxDisconnectionDuration the client gets a new session', async () => {
    const { socket } = await member();
    const id = socket.id;
    await call(socket, 'bcast', { via: 'nsp', to: ['r'], event: 'news', args: [0] });
    const dropped = next(socket, 'disconnect');
    socket.io.engine.close();
    await dropped;
    await sleep(2000);
    socket.connect();
    await connected(socket);
    assert.equal(socket.recovered, false);
    assert.notEqual(socket.id, id);
    assert.deepEqual(await call(socket, 'rooms'), [socket.id]);
    assert.equal(await call(socket, 'get-data'), null);
  });

  it('a client that disconnects on purpose is not recovered', async () => {
    const { socket } = await member();
    const id = socket.id;
    await call(socket, 'bcast', { via: 'nsp', to: ['r'], event: 'news', args: [0] });
    socket.disconnect();
    socket.connect();
    await connected(socket);
    assert.equal(socket.recovered, false);
    assert.notEqual(socket.id, id);
  });

  for (const transport of ['websocket', 'polling']) {
    it(`the address is the first of X-Forwarded-For when the proxy is trusted (${transport})`, async () => {
      const socket = await connect(server, '/', {
        transports: [transport], extraHeaders: { 'X-Forwarded-For': '203.0.113.7, 10.0.0.1' },
      });
      assert.equal((await call(socket, 'handshake')).address, '203.0.113.7');
      const direct = await connect(server, '/', { transports: [transport] });
      assert.match((await call(direct, 'handshake')).address, /^(::ffff:)?127\.0\.0\.1$/);
    });
  }
});

describe('the msgpack parser (--parser msgpack) with socket.io-msgpack-parser', () => {
  let server;
  before(async () => {
    server = await startBinary('SIO_FEATURE_SERVER', ['--threads', '2', '--parser', 'msgpack']);
  });
  after(async () => {
    closeAll();
    await server?.stop();
  });
  afterEach(closeAll);

  const args = ['text', 0, -1, 2 ** 40, 1.5, null, true, { nested: { list: [1, 'two', Buffer.from([0, 255])] } },
    Buffer.from(Array.from({ length: 300 }, (_, i) => i & 255)), 'é€😀'];

  for (const transport of ['websocket', 'polling']) {
    it(`events, binary at any depth and acks both ways (${transport})`, async () => {
      const socket = await connect(server, '/', { parser: msgpackParser, transports: [transport], auth: { who: 'm' } });
      assert.deepEqual((await call(socket, 'handshake')).auth, { who: 'm' });
      const echoed = await new Promise((resolve) => socket.emit('echo-ack', ...args, (...r) => resolve(r)));
      assert.deepStrictEqual(norm(echoed), norm(args));
      const event = next(socket, 'echo');
      socket.emit('echo', ...args);
      assert.deepStrictEqual(norm(await event), norm(args));

      socket.on('question', (q, n, cb) => cb(`re: ${q}`, { n: n + 1 }, Buffer.from([9, 8, 7])));
      const result = await call(socket, 'ask', { timeout: 2000, args: ['why', 41] });
      assert.equal(result.answered, true);
      assert.deepStrictEqual(norm(result.args), norm(['re: why', { n: 42 }, Buffer.from([9, 8, 7])]));

      const made = next(socket, 'made-binary');
      await new Promise((resolve) => socket.emit('make-binary', resolve));
      const [all] = await made;
      assert.equal(Buffer.from(all).length, 256);
    });
  }

  it('broadcasts reach room members on both loops, encoded once as msgpack', async () => {
    const sockets = await Promise.all([0, 1, 2, 3].map((i) => connect(server, '/', {
      parser: msgpackParser, transports: [i % 2 ? 'polling' : 'websocket'],
    })));
    await Promise.all(sockets.slice(0, 3).map((s) => call(s, 'join', ['m'])));
    const got = sockets.slice(0, 3).map((s) => next(s, 'news'));
    let outsider = 0;
    sockets[3].on('news', () => { outsider += 1; });
    await call(sockets[3], 'bcast', { via: 'nsp', to: ['m'], event: 'news', args: ['hi', Buffer.from([1, 2])] });
    for (const args of await Promise.all(got)) assert.deepStrictEqual(norm(args), norm(['hi', Buffer.from([1, 2])]));
    await call(sockets[3], 'whoami');
    assert.equal(outsider, 0);
  });

  it('a middleware refusal reaches connect_error with message and data', async () => {
    const err = await refused(client(server, '/guarded', { parser: msgpackParser, auth: { token: 'wrong' } }));
    assert.equal(err.message, 'not authorized');
    assert.deepEqual(err.data, { code: 401, detail: 'bad token', list: [1, 'two', null] });
  });

  it('a client speaking the default parser is closed, and the server goes on', async () => {
    const wrong = client(server, '/', { transports: ['websocket'] });
    const closed = next(wrong.io, 'close');
    await closed;
    assert.equal(wrong.connected, false);
    const socket = await connect(server, '/', { parser: msgpackParser });
    assert.ok(await call(socket, 'whoami'));
  });
});

describe('server shutdown (SIGTERM)', () => {
  it('every socket gets "server shutting down" server-side, the clients "transport close" (or error, polling)', async () => {
    const server = await startBinary('SIO_FEATURE_SERVER', ['--threads', '2']);
    try {
      const mWs = manager(server, { transports: ['websocket'] });
      const mPoll = manager(server, { transports: ['polling'] });
      const sockets = await Promise.all([
        connected(socketOf(mWs, '/')), connected(socketOf(mWs, '/any')),
        connected(socketOf(mPoll, '/')), connected(socketOf(mPoll, '/dyn-3')),
      ]);
      const ids = sockets.map((s) => [s.nsp, s.id]);
      const gone = sockets.map((s) => next(s, 'disconnect', 8000));
      process.kill(server.pid, 'SIGTERM');
      const details = await Promise.all(gone);
      const reasons = details.map(([r]) => r);
      const { code } = await withTimeout(server.exited, 10_000, 'the server to exit');
      assert.equal(code, 0, server.log());
      const lines = server.log().split('\n').filter((l) => l.startsWith('disconnect '));
      for (const [nsp, id] of ids) {
        const line = lines.find((l) => l.startsWith(`disconnect ${nsp} ${id} `));
        assert.ok(line, `no disconnect line for ${nsp} ${id} in:\n${server.log()}`);
        assert.equal(line.slice(`disconnect ${nsp} ${id} `.length), 'server shutting down');
      }
      const why = details.map(([r, d]) => `${r}: ${d?.description?.message ?? d?.description}`).join('; ');
      assert.deepEqual(reasons.slice(0, 2), ['transport close', 'transport close'], why);
      // Polling: "transport close" when a GET was waiting (it gets the close packet), else
      // the next request fails: "transport error" — Node's server does the same.
      for (const r of reasons.slice(2)) assert.ok(r === 'transport close' || r === 'transport error', why);
    } finally {
      closeAll();
      await server.stop();
    }
  });
});

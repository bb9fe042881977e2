// The switchboard binary's configuration: a TOML file (--config), a flag per key, env for
// secrets, --print-config, --help; a bad key or value exits 2 naming the key and what is
// allowed. And its graceful shutdown with chat clients connected.

import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { startServer, chatClient, connected, tempDir, withTimeout } from './helpers.mjs';

const dir = tempDir('sb-chat-config-');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let files = 0;
function configFile(text) {
  const file = path.join(dir, `config-${++files}.toml`);
  fs.writeFileSync(file, text);
  return file;
}

/** Runs the binary to completion (for options that exit): { status, stdout, stderr }. */
function run(args, env = {}) {
  const bin = process.env.SWITCHBOARD_BIN;
  assert.ok(bin, 'SWITCHBOARD_BIN is not set');
  const clean = { ...process.env };
  delete clean.JWT_SECRET;
  delete clean.SWITCHBOARD_API_KEY;
  const result = spawnSync(bin, args, { env: { ...clean, ...env }, encoding: 'utf8', timeout: 10_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('--print-config and --help', () => {
  it('prints the defaults, which are the chat server on port 3000', () => {
    const r = run(['--print-config']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^port = 3000$/m);
    assert.match(r.stdout, /^host = "0\.0\.0\.0"$/m);
    assert.match(r.stdout, /^rate-limit-burst = 100$/m);
    assert.match(r.stdout, /^rate-limit-per-second = 100\.0$/m);
    assert.match(r.stdout, /^ws-max-message = "16M"$/m);
  });

  it('file < environment < flags; secrets are never printed', () => {
    const file = configFile('port = 4000\nthreads = 3\n[ws]\nmax-message = "64K"\n[rate-limit]\nburst = 7\n' +
      'per-second = 2.5\n[api]\nkey = "from-file"\n');
    const r = run(['--config', file, '--threads', '2', '--print-config'], { SWITCHBOARD_API_KEY: 'from-env', JWT_SECRET: 's3cr3t' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^port = 4000$/m);
    assert.match(r.stdout, /^threads = 2$/m, 'the flag wins over the file');
    assert.match(r.stdout, /^ws-max-message = "64K"$/m);
    assert.match(r.stdout, /^rate-limit-burst = 7$/m);
    assert.match(r.stdout, /^rate-limit-per-second = 2\.5$/m);
    assert.match(r.stdout, /^# jwt-secret is set/m);
    assert.match(r.stdout, /^# api-key is set/m);
    assert.doesNotMatch(r.stdout, /s3cr3t|from-env|from-file/);
  });

  it('what --print-config prints is a config file that gives the same settings', () => {
    const first = run(['--port', '4567', '--ws-echo', '/echo', '--ws-deflate', '--print-config']);
    assert.equal(first.status, 0, first.stderr);
    const again = run(['--config', configFile(first.stdout), '--print-config']);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, first.stdout);
  });

  it('per-event rate limits: from the file and the flags (repeatable), printed as a table that reads back', () => {
    const file = configFile('[rate-limit.events]\ntyping = { per-second = 1, burst = 1 }\n' +
      '"my:event" = { per-second = 0.5, burst = 3 }\n');
    const r = run(['--config', file, '--rate-limit-event', 'send-message=5/10', '--rate-limit-event', 'typing=2/4',
      '--log-format', 'json', '--print-config']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^log-format = "json"$/m);
    const line = r.stdout.split('\n').find((l) => l.startsWith('rate-limit-events = '));
    assert.equal(line, 'rate-limit-events = { "my:event" = { per-second = 0.5, burst = 3 }, ' +
      '"send-message" = { per-second = 5.0, burst = 10 }, "typing" = { per-second = 2.0, burst = 4 } }');
    const again = run(['--config', configFile(r.stdout), '--print-config']);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, r.stdout);
    assert.match(run(['--print-config']).stdout, /^rate-limit-events = \{\}$/m);
  });

  it('--help teaches: every key, the file, the environment, examples', () => {
    const r = run(['--help']);
    assert.equal(r.status, 0);
    for (const flag of ['--host', '--port', '--threads', '--max-connections', '--ws-echo', '--ws-deflate',
      '--ws-max-message', '--ws-idle-timeout', '--static', '--protocol-test-mode', '--ping-interval',
      '--ping-timeout', '--log-level', '--config', '--print-config', '--jwt-secret', '--jwt-public-key',
      '--api-key', '--rate-limit-burst', '--rate-limit-event', '--log-format']) {
      assert.ok(r.stdout.includes(flag), `--help lacks ${flag}`);
    }
    assert.match(r.stdout, /JWT_SECRET/);
    assert.match(r.stdout, /SWITCHBOARD_API_KEY/);
    assert.match(r.stdout, /TOML/);
    assert.match(r.stdout, /Examples/);
  });
});

describe('bad keys and values exit 2 with the key and what is allowed', () => {
  const cases = [
    ['an unknown key', 'prot = 3000\n', [/prot/, /did you mean "port"/]],
    ['an unknown key in a table', '[ws]\nechoo = "/e"\n', [/ws\.echoo/, /ws-echo/]],
    ['a value of the wrong type', 'port = "3000"\n', [/port/, /integer/]],
    ['a value out of range', 'port = 70000\n', [/port/, /0 to 65535/]],
    ['a negative value', 'threads = -1\n', [/threads/, /0 to 1024/]],
    ['a bad size', '[ws]\nmax-message = "lots"\n', [/ws\.max-message/, /size/]],
    ['a bad level', 'log-level = "loud"\n', [/log-level/, /trace, debug, info, warn, error, off/]],
    ['a bad algorithm', 'jwt-secret = "x"\njwt-algorithm = "none"\n', [/jwt-algorithm/, /HS256/]],
    ['a rate of zero', '[rate-limit]\nper-second = 0\n', [/rate-limit\.per-second/, /above 0/]],
    ['a key set twice', 'ws-echo = "/a"\n[ws]\necho = "/b"\n', [/ws-echo/, /twice/]],
    ['TOML that does not parse', 'port = = 3\n', [/line 1|:1:/, /TOML/]],
    ['a missing static directory', 'static = "/no/such/dir"\n', [/static/, /directory/]],
    ['a bad log format', 'log-format = "xml"\n', [/log-format/, /text or json/]],
    ['a per-event rate of zero', '[rate-limit.events]\ntyping = { per-second = 0, burst = 4 }\n',
      [/:2:/, /rate-limit\.events\."typing"/, /per-second = RATE, burst = BURST/, /above 0/]],
    ['a per-event limit without its burst', '[rate-limit.events]\ntyping = { per-second = 2 }\n',
      [/rate-limit\.events\."typing"/, /burst/]],
    ['a per-event limit that is not a table', '[rate-limit.events]\ntyping = 5\n',
      [/rate-limit\.events\."typing"/, /per-second/]],
  ];
  for (const [what, text, patterns] of cases) {
    it(`in the file: ${what}`, () => {
      const r = run(['--config', configFile(text)]);
      assert.equal(r.status, 2, `${r.stdout}${r.stderr}`);
      for (const p of patterns) assert.match(r.stderr, p);
    });
  }

  it('on the command line', () => {
    for (const [args, pattern] of [
      [['--port', 'abc'], /--port 'abc'.*0 to 65535/],
      [['--rate-limit-burst', '-3'], /--rate-limit-burst/],
      [['--no-such-flag'], /no-such-flag/],
      [['--ws-deflate'], /ws-deflate.*ws-echo/],
      [['--jwt-secret', 'x', '--jwt-public-key', '/tmp/k.pem'], /jwt-secret and jwt-public-key/],
      [['--jwt-public-key', '/no/such/key.pem'], /jwt-public-key.*cannot read/],
      [['--jwt-public-key', configFile('not a key')], /jwt-public-key.*PEM/],
      [['--config', '/no/such/file.toml'], /--config.*cannot read/],
      [['--log-format', 'xml'], /--log-format 'xml'.*text or json/],
      [['--rate-limit-event', 'typing=2'], /--rate-limit-event 'typing=2'.*EVENT=RATE\/BURST/],
      [['--rate-limit-event', 'typing=2/0'], /--rate-limit-event 'typing=2\/0'.*BURST an integer from 1/],
      [['--rate-limit-event', '=2/4'], /--rate-limit-event '=2\/4'.*EVENT=RATE\/BURST/],
    ]) {
      const r = run(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, pattern, args.join(' '));
    }
  });

  it('in the environment', () => {
    const r = run(['--jwt-public-key', '/tmp/x.pem'], { JWT_SECRET: 'both' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /jwt-secret and jwt-public-key/);
  });
});

describe('a config file that runs', () => {
  let server;
  after(async () => { await server?.stop(); });

  it('serves the chat with the settings of the file', async () => {
    const file = configFile('[rate-limit]\nburst = 3\nper-second = 1\n');
    server = await startServer(['--config', file, '--threads', '1']);
    const socket = chatClient(server.url('/'));
    await connected(socket);
    for (let i = 0; i < 5; i++) socket.emit('typing', { roomId: 'r' });
    assert.equal((await socket.next('rate-limited'))[0].event, 'typing');
    socket.disconnect();
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM: chat clients are disconnected ("transport close"), the process exits 0 within 6 s', async () => {
    const server = await startServer(['--threads', '2']);
    const clients = [];
    for (const transports of [['websocket'], ['polling'], ['websocket'], ['polling', 'websocket']]) {
      const socket = chatClient(server.url('/chat'), { transports });
      clients.push(socket);
      await connected(socket);
      await socket.request('user-online', `u${clients.length}`);
    }
    const reasons = clients.map((s) => new Promise((resolve) => s.once('disconnect', resolve)));
    const t0 = Date.now();
    process.kill(server.pid, 'SIGTERM');
    const got = await withTimeout(Promise.all(reasons), 6000, 'the clients to be disconnected');
    for (const reason of got) assert.match(reason, /transport close|transport error/);
    const { code, signal } = await withTimeout(server.exited, Math.max(0, 6000 - (Date.now() - t0)), 'the exit');
    assert.equal(signal, null);
    assert.equal(code, 0, server.log());
    assert.match(server.log(), /SIGTERM received: shutting down/);
    await server.stop();  // checks for sanitizer reports and removes its directory
  });
});

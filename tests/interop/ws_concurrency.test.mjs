// Many `ws` clients at once on two worker threads: every echo reaches its own sender,
// complete and in order.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { startServer, openWs, withTimeout } from './helpers.mjs';

const CLIENTS = 500;
const MESSAGES = 20;

describe(`${CLIENTS} concurrent ws clients (--threads 2)`, () => {
  let server;
  const clients = [];

  before(async () => {
    server = await startServer(['--ws-echo', '/echo', '--threads', '2']);
  });
  after(async () => {
    for (const ws of clients) ws.terminate();
    await server?.stop();
  });

  test(`${CLIENTS} clients connected at once each echo ${MESSAGES} messages of their own`, async () => {
    const opened = await Promise.allSettled(Array.from({ length: CLIENTS }, () => openWs(server.wsUrl())));
    for (const r of opened) if (r.status === 'fulfilled') clients.push(r.value);
    const failures = opened.filter((r) => r.status === 'rejected').map((r) => r.reason.message);
    assert.equal(failures.length, 0, `${failures.length} clients failed to connect: ${failures.slice(0, 3)}`);
    // Every client is open at the same time before anyone sends.
    assert.equal(clients.filter((ws) => ws.readyState === ws.OPEN).length, CLIENTS);

    const results = await withTimeout(Promise.all(clients.map(async (ws, i) => {
      const tag = crypto.randomBytes(6).toString('hex');
      const sent = [];
      for (let j = 0; j < MESSAGES; j++) {
        // Text and binary alternate; the content names the client and the message.
        const text = `client ${i} ${tag} message ${j} ${'·'.repeat(j)}`;
        const msg = j % 2 ? { data: Buffer.from(text), binary: true } : { data: text, binary: false };
        sent.push(msg);
        ws.send(msg.data, { binary: msg.binary });
      }
      const got = [];
      for (let j = 0; j < MESSAGES; j++) got.push(await ws.nextMessage(20_000));
      return { i, sent, got };
    })), 40_000, 'every client to receive its echoes');

    let wrong = 0;
    const examples = [];
    for (const { i, sent, got } of results) {
      for (let j = 0; j < MESSAGES; j++) {
        const expected = Buffer.from(sent[j].data);
        if (!got[j].data.equals(expected) || got[j].isBinary !== sent[j].binary) {
          wrong++;
          if (examples.length < 3) {
            examples.push(`client ${i} message ${j}: got ${JSON.stringify(got[j].data.toString())} ` +
              `(binary ${got[j].isBinary})`);
          }
        }
      }
    }
    assert.equal(wrong, 0, `${wrong} echoes wrong or out of order, e.g. ${examples.join('; ')}`);
    assert.equal(clients.filter((ws) => ws.readyState === ws.OPEN).length, CLIENTS, 'some clients were closed');
  });
});

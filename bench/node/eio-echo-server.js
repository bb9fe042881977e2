#!/usr/bin/env node
// The Node peer of Switchboard's Engine.IO benchmarks: the `engine.io` package (npm)
// echoing every message back, text as text and binary as binary, on /engine.io/ —
// what `switchboard --protocol-test-mode --ping-interval 25000 --ping-timeout 20000`
// serves, with the same settings: engine.io's default heartbeat, maxHttpBufferSize 1,000,000, polling and websocket,
// upgrades allowed. Everything else is engine.io's default (no permessage-deflate; HTTP
// compression only for clients that send Accept-Encoding, which sb-loadgen does not).
//
//   node bench/node/eio-echo-server.js --port 8080 [--host 127.0.0.1]
//
// Prints "listening on PORT" to stdout once the port is open.
'use strict';

const http = require('node:http');
const engine = require('engine.io');
const { parseArgs, serve } = require('./serve.js');

const options = parseArgs(process.argv.slice(2), { port: 8080 }, 'eio-echo-server.js [--port N] [--host 127.0.0.1]');

// A plain HTTP server in front: engine.io's attach() takes its path and hands every
// other request to this listener, so other paths get a 404, as in a typical deployment.
const server = http.createServer((req, res) => {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});
const eio = engine.attach(server, {
  path: '/engine.io',
  pingInterval: 25000,  // engine.io's defaults, as a deployment runs
  pingTimeout: 20000,
  maxHttpBufferSize: 1e6,
  transports: ['polling', 'websocket'],
  allowUpgrades: true,
  perMessageDeflate: false,
});

eio.on('connection', (socket) => {
  socket.on('message', (data) => {
    // A Buffer for a binary message, a string for a text one: sent back as it came.
    socket.send(data);
  });
  socket.on('error', () => {});  // a reset by the peer: nothing to do but forget it
});

serve(server, options, () => eio.close());

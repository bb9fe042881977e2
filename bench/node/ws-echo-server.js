#!/usr/bin/env node
// The Node peer that Switchboard's WebSocket benchmarks compare against: the `ws`
// package (npm) echoing every message back, text as text and binary as binary.
// Default settings of ws, except permessage-deflate, which is off here (it is off
// in sb-loadgen's handshake too, so no extension would be negotiated anyway).
//
//   node bench/node/ws-echo-server.js --port 8080 [--path /echo] [--host 127.0.0.1]
//
// Prints "listening on PORT" to stdout once the port is open.
'use strict';

const http = require('node:http');
const { WebSocketServer } = require('ws');
const { parseArgs, serve } = require('./serve.js');

const options = parseArgs(process.argv.slice(2), { port: 8080, path: '/echo' }, 'ws-echo-server.js [--port N] [--path /echo] [--host 127.0.0.1]');

// A plain HTTP server in front, so other paths get a 404 and the backlog is Node's
// default (511), as in a typical deployment.
const server = http.createServer((req, res) => {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});
const wss = new WebSocketServer({
  server,
  path: options.path,
  perMessageDeflate: false,
  clientTracking: false,
});

wss.on('connection', (socket) => {
  socket.on('message', (data, isBinary) => {
    socket.send(data, { binary: isBinary });
  });
  socket.on('error', () => {});  // a reset by the peer: nothing to do but forget it
});

serve(server, options);

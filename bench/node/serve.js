// Shared by the Node peers of the benchmarks (ws-, eio- and sio-echo-server.js): their
// command line, and listening / stopping the HTTP server in front of them.
'use strict';

/**
 * Parses --port N, --host H and the `defaults`' other string options (as --name V);
 * --help prints `usage` and exits.
 */
function parseArgs(argv, defaults, usage) {
  const options = { host: '127.0.0.1', ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(`usage: ${usage}`);
      process.exit(0);
    }
    const name = arg.startsWith('--') ? arg.slice(2) : '';
    if (!(name in options)) throw new Error(`unknown argument ${arg}`);
    if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
    options[name] = name === 'port' ? Number(argv[++i]) : argv[++i];
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new Error('--port must be 0..65535');
  }
  return options;
}

/**
 * Listens, prints "listening on PORT" (what bench/lib.sh waits for), and on SIGINT or
 * SIGTERM runs `close` (the library's own shutdown, if any) then exits within 0.5 s.
 */
function serve(server, options, close = () => {}) {
  server.listen(options.port, options.host, () => {
    console.log(`listening on ${server.address().port}`);
  });
  const stop = () => {
    close();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 500).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

module.exports = { parseArgs, serve };

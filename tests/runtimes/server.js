// A small node (libuv) server for tests/integration/t_runtimes.sh.
//
// Three listeners on 127.0.0.1, ephemeral ports, written to the ready file:
//   serve     line protocol: "ping N\n" -> "pong N\n", the connection stays up
//   bp        back-pressure: writes 8 MiB at once (the write stays queued,
//             libuv watches the fd for POLLOUT) and pauses the stream; the
//             client half-closes without reading, so the socket sits in
//             CLOSE_WAIT with the 'end' deferred until the stream resumes
//   halfopen  allowHalfOpen: the client's FIN is read ('end'), the socket is
//             kept (CLOSE_WAIT) until the idle sweep destroys it
// Commands on stdin, one per line, each answered "ack CMD ..." on stdout:
//   sweep   arm the idle timer: it destroys every half-open socket that got
//           'end' (what an idle timeout does), then global.gc()
//   resume  resume every paused back-pressured stream
//   gc      global.gc() (run with --expose-gc)
'use strict';
const net = require('net');
const fs = require('fs');

const args = process.argv.slice(2);
const ready = args[args.indexOf('--ready') + 1];
const log = (...a) => console.log(new Date().toISOString(), ...a);
const fdOf = (s) => (s._handle && s._handle.fd !== undefined ? s._handle.fd : -1);

function lineServer(sock) {
  let buf = '';
  sock.setEncoding('latin1');
  sock.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const m = /^ping (\d+)$/.exec(line);
      sock.write(m ? 'pong ' + m[1] + '\n' : 'error\n');
    }
  });
  sock.on('error', (e) => log('serve socket error', e.code));
}

const serve = net.createServer(lineServer);

const paused = new Set();
const bp = net.createServer((sock) => {
  const fd = fdOf(sock);
  sock.on('error', (e) => log('bp socket fd', fd, 'error', e.code));
  sock.on('end', () => log('bp socket fd', fd, 'end'));
  sock.on('close', () => { paused.delete(sock); log('bp socket fd', fd, 'closed'); });
  sock.write(Buffer.alloc(8 << 20, 'x'));
  sock.pause();
  paused.add(sock);
  log('bp paused fd', fd, 'count', paused.size);
});

const halfopen = new Set();
let ended = 0;
const ho = net.createServer({ allowHalfOpen: true }, (sock) => {
  const fd = fdOf(sock);
  sock.on('data', () => {});
  sock.on('error', (e) => log('halfopen socket fd', fd, 'error', e.code));
  sock.on('end', () => { sock.endedAt = Date.now(); ended++; log('halfopen ended fd', fd, 'count', ended); });
  sock.on('close', () => halfopen.delete(sock));
  halfopen.add(sock);
});

let sweepArmed = false;
setInterval(() => {
  if (!sweepArmed) return;
  sweepArmed = false;
  let n = 0;
  for (const s of halfopen) {
    if (s.endedAt !== undefined) { s.destroy(); n++; }
  }
  if (global.gc) global.gc();
  log('ack sweep destroyed', n);
}, 20);

let cmdbuf = '';
process.stdin.setEncoding('latin1');
process.stdin.on('data', (d) => {
  cmdbuf += d;
  let i;
  while ((i = cmdbuf.indexOf('\n')) >= 0) {
    const cmd = cmdbuf.slice(0, i).trim();
    cmdbuf = cmdbuf.slice(i + 1);
    if (cmd === 'sweep') {
      sweepArmed = true;
    } else if (cmd === 'resume') {
      const n = paused.size;
      for (const s of paused) s.resume();
      log('ack resume', n);
    } else if (cmd === 'gc') {
      if (global.gc) global.gc();
      log('ack gc');
    } else if (cmd) {
      log('unknown command', cmd);
    }
  }
});

let listening = 0;
for (const srv of [serve, bp, ho]) {
  srv.listen(0, '127.0.0.1', () => {
    if (++listening < 3) return;
    const tmp = ready + '.tmp';
    fs.writeFileSync(tmp, JSON.stringify({
      pid: process.pid, serve: serve.address().port, bp: bp.address().port,
      halfopen: ho.address().port,
    }) + '\n');
    fs.renameSync(tmp, ready);
    log('ready');
  });
}

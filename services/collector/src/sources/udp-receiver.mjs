// The syslog UDP socket, drained on its own thread. The main thread parses and writes to the
// bus synchronously (SQLite) and runs the detector and indexer too: while it is busy a socket
// read by it overflows the kernel buffer. Here nothing else runs, so datagrams move from the
// kernel into memory at once and reach the main thread in batches (one message per batch).
// Plain JavaScript because Node 20 workers do not load TypeScript through tsx's hooks.
import { createSocket } from 'node:dgram';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';

/** @type {{ host: string, port: number, recvBufferSize: number, maxMessageBytes: number, batchSize: number, lingerMs: number, maxQueuedBytes: number, priority: number }} */
const o = workerData;
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);

// Under CPU contention this thread must win over the parsing and bus writes: what it takes from
// the kernel waits in memory, what it leaves in the kernel is dropped when the buffer fills.
// Linux nice values are per thread, so this changes this thread only; raising priority needs
// CAP_SYS_NICE, and without it the thread keeps the process's priority.
let priority;
try {
  setPriority(0, o.priority);
} catch {
  /* not permitted: keep the inherited priority */
}
try {
  priority = getPriority(0);
} catch {
  priority = undefined;
}

let raws = [];
let ips = [];
/** Original byte length of oversize datagrams (0 = fits), parallel to raws. */
let sizes = [];
let batchBytes = 0;
/** Bytes posted to the main thread and not yet acknowledged (on the bus, or given up). */
let queuedBytes = 0;
let dropped = 0;
let timer;

const post = () => {
  clearTimeout(timer);
  timer = undefined;
  if (raws.length === 0 && dropped === 0) return;
  port.postMessage({ type: 'batch', raws, ips, sizes, bytes: batchBytes, dropped });
  queuedBytes += batchBytes;
  raws = [];
  ips = [];
  sizes = [];
  batchBytes = 0;
  dropped = 0;
};

const socket = createSocket({ type: o.host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: o.recvBufferSize });
socket.on('message', (msg, rinfo) => {
  let end = msg.length;
  while (end > 0 && (msg[end - 1] === 0x0a || msg[end - 1] === 0x0d || msg[end - 1] === 0x00)) end--;
  if (end === 0) return;
  if (queuedBytes + batchBytes + end > o.maxQueuedBytes) {
    dropped++;
    timer ??= setTimeout(post, o.lingerMs);
    return;
  }
  const keep = Math.min(end, o.maxMessageBytes);
  raws.push(msg.toString('utf8', 0, keep));
  ips.push(rinfo.address.startsWith('::ffff:') ? rinfo.address.slice(7) : rinfo.address);
  sizes.push(end > o.maxMessageBytes ? end : 0);
  batchBytes += keep;
  if (raws.length >= o.batchSize) post();
  else timer ??= setTimeout(post, o.lingerMs);
});
socket.on('error', (err) => port.postMessage({ type: 'error', message: err.message, code: err.code }));

port.on('message', (m) => {
  if (m.type === 'ack') queuedBytes -= m.bytes;
  else if (m.type === 'close') {
    socket.close(() => {
      post();
      port.postMessage({ type: 'closed' });
    });
  }
});

socket.bind(o.port, o.host, () => {
  port.postMessage({ type: 'ready', port: socket.address().port, recvBufferSize: socket.getRecvBufferSize(), priority });
});

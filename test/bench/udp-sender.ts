import { createSocket } from 'node:dgram';

/**
 * Sends COUNT RFC 3164 sshd lines to 127.0.0.1:PORT, as fast as the socket takes them (RATE 0)
 * or paced at RATE datagrams per second; prints `{"sent":N,"seconds":S}`. Runs as its own
 * process so sending does not compete with the receiver being measured for one event loop.
 */
const [port, count, rate] = process.argv.slice(2).map(Number) as [number, number, number];
const socket = createSocket('udp4');
const line = (i: number) => `<38>Nov  1 10:00:00 bastion sshd[${4000 + (i % 900)}]: Failed password for invalid user admin from 198.51.100.${i % 250} port ${20000 + i} ssh2 seq=${i}`;
const t0 = process.hrtime.bigint();
let sent = 0;
const done = () => {
  socket.close();
  process.stdout.write(JSON.stringify({ sent, seconds: Number(process.hrtime.bigint() - t0) / 1e9 }) + '\n');
};
/** Queues n datagrams; `then` runs once the socket has sent them all. */
const send = (n: number, then: () => void) => {
  if (n === 0) return then();
  for (let k = 1; k < n; k++) socket.send(line(sent++), port, '127.0.0.1');
  socket.send(line(sent++), port, '127.0.0.1', then);
};
if (!rate) send(count, done);
else {
  // 100 ticks a second, each sending what is due by then.
  const tick = () => {
    const due = Math.min(count, Math.round((Number(process.hrtime.bigint() - t0) / 1e9) * rate));
    send(Math.max(0, due - sent), () => (sent >= count ? done() : setTimeout(tick, 10)));
  };
  tick();
}

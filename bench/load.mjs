// Load generator: N concurrent keep-alive clients POSTing a fixed body for a fixed time.
// Usage: load.mjs URL SECONDS CONCURRENCY BODY_BYTES [TOKEN]; prints one JSON line.
import http from 'node:http';
import { randomBytes } from 'node:crypto';

const [url, seconds = '8', concurrency = '32', bodyBytes = '1024', token] = process.argv.slice(2);
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(concurrency) });
const body = randomBytes(Number(bodyBytes));
const headers = { 'content-type': 'application/octet-stream', 'content-length': String(body.length) };
if (token) headers.authorization = `Bearer ${token}`;

const warmupMs = 1000;
const durationMs = Number(seconds) * 1000;
const start = performance.now();
const latencies = [];
let errors = 0;
let counted = 0;

function once() {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request(target, { method: 'POST', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => {
        const t1 = performance.now();
        if (t0 - start >= warmupMs) {
          if (res.statusCode === 200) {
            latencies.push(t1 - t0);
            counted++;
          } else errors++;
        }
        resolve();
      });
    });
    req.on('error', () => {
      errors++;
      resolve();
    });
    req.end(body);
  });
}

async function worker() {
  while (performance.now() - start < warmupMs + durationMs) await once();
}

await Promise.all(Array.from({ length: Number(concurrency) }, worker));
const measured = (performance.now() - start - warmupMs) / 1000;
latencies.sort((a, b) => a - b);
const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
process.stdout.write(
  `${JSON.stringify({ requests: counted, errors, rps: counted / measured, p50_ms: q(0.5), p99_ms: q(0.99) })}\n`,
);
agent.destroy();

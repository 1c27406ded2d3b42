// Prometheus metrics (prom-client), one registry per server instance: no global mutable state.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

type CounterChild = ReturnType<Counter['labels']>;
type HistogramChild = ReturnType<Histogram['labels']>;

export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly signLatency: Histogram<'key' | 'kind'>;
  readonly signatures: Counter<'key' | 'kind'>;
  // Label children by their values (a handful of routes, statuses, keys and kinds): prom-client
  // hashes the labels on every inc/observe otherwise, on the path of every request.
  readonly #requestChildren = new Map<string, CounterChild>();
  readonly #signChildren = new Map<string, { latency: HistogramChild; count: CounterChild }>();

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'signet_' });
    this.requests = new Counter({
      name: 'signet_http_requests_total',
      help: 'HTTP requests by route pattern, method and status code.',
      labelNames: ['route', 'method', 'status'],
      registers: [this.registry],
    });
    this.signLatency = new Histogram({
      name: 'signet_sign_duration_seconds',
      help: 'Time from receiving a signing request to having the signature, by key and artifact kind.',
      labelNames: ['key', 'kind'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    this.signatures = new Counter({
      name: 'signet_signatures_total',
      help: 'Signatures made, by key and artifact kind.',
      labelNames: ['key', 'kind'],
      registers: [this.registry],
    });
  }

  /** One HTTP request answered. */
  countRequest(route: string, method: string, status: number): void {
    const id = `${route}\0${method}\0${status}`;
    let child = this.#requestChildren.get(id);
    if (child === undefined) {
      child = this.requests.labels(route, method, String(status));
      this.#requestChildren.set(id, child);
    }
    child.inc();
  }

  /** `count` signatures made with `key` for `kind`, the request having taken `seconds`. */
  recordSigning(key: string, kind: string, seconds: number, count = 1): void {
    const id = `${key}\0${kind}`;
    let child = this.#signChildren.get(id);
    if (child === undefined) {
      child = { latency: this.signLatency.labels(key, kind), count: this.signatures.labels(key, kind) };
      this.#signChildren.set(id, child);
    }
    child.latency.observe(seconds);
    child.count.inc(count);
  }
}

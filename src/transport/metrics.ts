import { readFileSync } from 'node:fs';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { EventBus } from '../log/bus.js';
import type { SharedExecutionStats } from '../graphql/shared-execution.js';

/** What the metrics read from, each at scrape time. */
export interface MetricsSources {
  /** The bus's counters (with socket workers, theirs added). */
  readonly bus: Pick<EventBus, 'stats' | 'subscriberCount'>;
  readonly sharedExecution: () => SharedExecutionStats;
  /** Results the shared-execution member queues conflated for their age, by event type. */
  readonly sharedExecutionExpired?: () => ReadonlyMap<string, number>;
  /** Open connections by transport (graphql-ws, graphql-sse, yoga-sse). */
  readonly connections: () => Readonly<Record<string, number>>;
  /** Subscription streams open now, by transport (each holds a place in its token's quota). */
  readonly streams?: () => Readonly<Record<string, number>>;
  /** The store writer, when there is one. */
  readonly store?: () => { readonly written: number; readonly backlog: number; readonly lost: number; readonly failures: number; readonly healthy: boolean } | null;
  /** The Redis reader/appender health and losses, when REDIS_URL is set. */
  readonly redis?: () => { readonly readerHealthy: boolean; readonly appenderHealthy: boolean | null; readonly missed?: number; readonly appendLost?: number } | null;
}

// The same relative path from src/transport and dist/transport.
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * A Prometheus registry (prom-client) whose gauges and counters are read from the live
 * objects at scrape time, so the hot path pays nothing beyond the counters it keeps anyway.
 */
export function createMetrics(sources: MetricsSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tickwire_' });
  // In this order on /metrics: the labelled series first, then the single numbers.
  registerLabelled(registry, sources);
  registerScalars(registry, sources);
  return registry;
}

/** The series with labels (version, event type, transport, queue). */
function registerLabelled(registry: Registry, sources: MetricsSources): void {
  new Gauge({
    name: 'tickwire_info',
    help: 'Always 1: the version and the NODE_ENV the process runs with (graphql-js skips its development checks only under production).',
    labelNames: ['node_env', 'version'],
    registers: [registry],
    collect() {
      this.reset();
      this.set({ node_env: process.env['NODE_ENV'] ?? '', version: VERSION }, 1);
    },
  });
  new Counter({
    name: 'tickwire_events_published_total',
    help: 'Events published into the bus, by type.',
    labelNames: ['type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [type, count] of sources.bus.stats().publishedByType) this.inc({ type }, count);
    },
  });
  new Counter({
    name: 'tickwire_events_delivered_total',
    help: 'Events handed to subscriber queues after filtering (one per matching subscriber), by type.',
    labelNames: ['type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [type, count] of sources.bus.stats().deliveredByType) this.inc({ type }, count);
    },
  });
  new Gauge({
    name: 'tickwire_connections',
    help: 'Open client connections by transport.',
    labelNames: ['transport'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [transport, count] of Object.entries(sources.connections())) this.set({ transport }, count);
    },
  });
  new Gauge({
    name: 'tickwire_subscription_streams',
    help: 'Subscription streams open now, by transport: every one has a client that can read it and a place in its token\'s quota.',
    labelNames: ['transport'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [transport, count] of Object.entries(sources.streams?.() ?? {})) this.set({ transport }, count);
    },
  });
  new Counter({
    name: 'tickwire_events_dropped_total',
    help: 'Events dropped by subscriber queues because the subscriber did not keep up, by type.',
    labelNames: ['type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [type, count] of sources.bus.stats().droppedByType) this.inc({ type }, count);
    },
  });
  new Counter({
    name: 'tickwire_events_conflated_by_age_total',
    help: 'High-frequency events skipped because they waited in a subscriber queue longer than MAX_EVENT_AGE_MS (only the latest per runner and type was sent, after a StreamGap), by type and queue: subscription (the bus) or execution (a shared-execution member).',
    labelNames: ['type', 'queue'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [type, count] of sources.bus.stats().expiredByType) this.inc({ type, queue: 'subscription' }, count);
      for (const [type, count] of sources.sharedExecutionExpired?.() ?? []) this.inc({ type, queue: 'execution' }, count);
    },
  });
}

/** The single-number series: queues, shared execution, the store and the Redis log. */
function registerScalars(registry: Registry, sources: MetricsSources): void {
  const counterFrom = (name: string, help: string, read: () => number) => {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  };
  const gaugeFrom = (name: string, help: string, read: () => number) => {
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  };
  gaugeFrom('tickwire_subscriber_queue_depth', 'Events waiting in subscriber queues now.', () => sources.bus.stats().queued);
  gaugeFrom('tickwire_bus_subscribers', 'Subscriptions attached to the bus.', () => sources.bus.subscriberCount);
  gaugeFrom('tickwire_shared_execution_cohorts', 'Groups of subscribers sharing one execution.', () => sources.sharedExecution().cohorts);
  gaugeFrom('tickwire_shared_execution_members', 'Subscribers in those groups.', () => sources.sharedExecution().members);
  counterFrom('tickwire_executions_total', 'Subscription executions (one per event per cohort, less those shared across variables).', () => sources.sharedExecution().executions);
  counterFrom('tickwire_executions_saved_total', 'Subscription executions not run: the result of another cohort of the same document was reused.', () => sources.sharedExecution().executionsSaved);

  gaugeFrom('tickwire_store_backlog', 'Events waiting to be written to the store.', () => sources.store?.()?.backlog ?? 0);
  counterFrom('tickwire_store_written_total', 'Events written to the store.', () => sources.store?.()?.written ?? 0);
  counterFrom('tickwire_store_lost_total', 'Events that could not be stored (buffer overflow).', () => sources.store?.()?.lost ?? 0);
  counterFrom('tickwire_store_failures_total', 'Failed store writes (retried).', () => sources.store?.()?.failures ?? 0);
  gaugeFrom('tickwire_store_up', '1 when store writes work, 0 during an outage.', () => (sources.store?.()?.healthy === false ? 0 : 1));
  counterFrom('tickwire_log_missed_total', 'Ids of the shared Redis log that never reached this process (dropped before Redis, or trimmed before read); each reached subscribers as a StreamGap.', () => sources.redis?.()?.missed ?? 0);
  counterFrom('tickwire_log_append_lost_total', "Events this process's runners produced that were dropped before they reached the shared Redis log (its append buffer overflowed).", () => sources.redis?.()?.appendLost ?? 0);
  gaugeFrom('tickwire_redis_up', '1 when the Redis log is read (and appended to) without errors; 0 during an outage.', () => {
    const redis = sources.redis?.();
    if (redis === null || redis === undefined) return 1;
    return redis.readerHealthy && redis.appenderHealthy !== false ? 1 : 0;
  });
}

import type { EventSink } from '../../src/engine/engine.js';
import type { RunnerEvent } from '../../src/events/types.js';

/** A sink that keeps every event an engine publishes, for tests to read. */
export class Collect implements EventSink {
  readonly events: { event: RunnerEvent; symbol: string }[] = [];
  publish(event: RunnerEvent, symbol: string): void {
    this.events.push({ event, symbol });
  }
  of(runnerId: string): RunnerEvent[] {
    return this.events.filter((e) => e.event.runnerId === runnerId).map((e) => e.event);
  }
  ticks(runnerId: string): number {
    let n = 0;
    for (const e of this.events) if (e.event.runnerId === runnerId && e.event.type === 'TickReceived') n++;
    return n;
  }
}

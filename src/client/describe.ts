import type { ClientEvent } from './client.js';
import { formatMoney, formatPrice } from './prices.js';

/**
 * How an event should stand out, whatever shows it: the CLI maps tones to terminal
 * colours, the dashboard to CSS classes.
 */
export type Tone = 'plain' | 'lifecycle' | 'action' | 'profit' | 'loss' | 'warning' | 'error' | 'critical' | 'gap';

/** One event in words: a short label (its kind) and the rest of the line. */
export interface EventDescription {
  readonly label: string;
  readonly text: string;
  readonly tone: Tone;
}


/**
 * A time as every reader shows it, the event log, the runners table, the chart's axis and
 * crosshair and the command line alike: UTC, `HH:MM:SS.mmm`, or `HH:MM:SS` with
 * precision `s` (an axis label, where milliseconds are noise). UTC because the server,
 * its logs and the charts' time scale count in it: two screens never show one event at
 * two hours. A time that is not a valid date reads `–` rather than throwing mid-render.
 */
export function formatTime(ms: number, precision: 'ms' | 's' = 'ms'): string {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return '–';
  return date.toISOString().slice(11, precision === 'ms' ? 23 : 19);
}

const p = (price: number): string => formatPrice(price);
const money = formatMoney;

/**
 * Describes an event for people. One function for every reader, so a terminal and a
 * browser never disagree on what an event says.
 */
export function describeEvent(event: ClientEvent): EventDescription {
  switch (event.__typename) {
    case 'StreamGap':
      return { label: 'gap', text: `${event.missed ?? 'some'} events missed (${event.reason})`, tone: 'gap' };
    case 'TickReceived':
      return { label: 'tick', text: `${p(event.data.close)} (bid ${p(event.data.bid)} ask ${p(event.data.ask)})`, tone: 'plain' };
    case 'StateTransition':
      return { label: 'state', text: `${event.from} → ${event.to}: ${event.reason}`, tone: 'plain' };
    case 'ActionExecuted':
      return { label: 'action', text: `${event.action.kind} ${event.action.quantity} @ ${p(event.action.price)}: ${event.action.reason}`, tone: 'action' };
    case 'PositionOpened':
      return { label: 'opened', text: `${event.position.side} ${event.position.quantity} @ ${p(event.position.entryPrice)}`, tone: 'profit' };
    case 'PositionUpdated':
      return { label: 'mark', text: `${p(event.currentPrice)} (unrealized ${money(event.unrealizedPnl)})`, tone: 'plain' };
    case 'PositionClosed':
      return {
        label: 'closed',
        text: `@ ${p(event.exitPrice)}, P&L ${money(event.realizedPnl)}: ${event.reason}`,
        tone: event.realizedPnl >= 0 ? 'profit' : 'loss',
      };
    case 'RunnerError':
      return {
        label: event.severity,
        text: event.error,
        tone: event.severity === 'CRITICAL' ? 'critical' : event.severity === 'ERROR' ? 'error' : 'warning',
      };
    case 'RunnerStarted':
      return { label: 'started', text: event.symbol, tone: 'lifecycle' };
    case 'RunnerStopped':
      return { label: 'stopped', text: event.reason, tone: 'lifecycle' };
    case 'StatsUpdate':
      return {
        label: 'stats',
        text: `${event.ticksProcessed} ticks, ${event.actionsExecuted} actions, P&L ${money(event.realizedPnl)}, ${event.ticksPerSecond.toFixed(1)}/s`,
        tone: 'plain',
      };
  }
}

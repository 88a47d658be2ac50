/**
 * An engine thread: a {@link TradingEngine} of its own whose runners publish into a
 * {@link HandOff} that posts their events to the main thread. Started by
 * `ThreadedEngine` (see `thread.ts` for how it is loaded from dist or from sources).
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { EngineError } from '../config.js';
import { snapshotRunner, TradingEngine } from '../engine.js';
import { HandOff } from './hand-off.js';
import type { EngineThreadReply, EngineThreadSettings, RunnerUpdate, ToEngineThread } from './protocol.js';

const { port, settings } = workerData as { readonly port: MessagePort; readonly settings: EngineThreadSettings };

let engine: TradingEngine | null = null;

function update(id: string): RunnerUpdate | undefined {
  const info = engine?.getRunner(id);
  if (info === undefined) return undefined;
  return {
    id,
    symbol: info.symbol,
    state: info.state,
    position: info.position,
    unrealizedPnl: info.unrealizedPnl,
    stats: info.stats,
    stoppedAt: info.stoppedAt,
    stopReason: info.stopReason,
  };
}

const handOff = new HandOff((batch, transfer) => port.postMessage(batch, transfer), update, { bound: settings.handOffBound });
engine = new TradingEngine(handOff, { maxRunners: settings.maxRunners, maxTotalTicksPerSecond: settings.maxTotalTicksPerSecond });
const local = engine;

function failure(requestId: number, err: unknown): EngineThreadReply {
  if (err instanceof EngineError) return { requestId, ok: false, code: err.code, message: err.message };
  return { requestId, ok: false, code: 'ENGINE_FAILED', message: (err as Error).message };
}

async function handle(message: ToEngineThread): Promise<void> {
  switch (message.op) {
    case 'ack':
      handOff.acknowledge(message.count);
      return;
    case 'start': {
      let reply: EngineThreadReply;
      try {
        reply = { requestId: message.requestId, ok: true, runner: snapshotRunner(local.addRunner(message.config, message.reason)) };
      } catch (err) {
        reply = failure(message.requestId, err);
      }
      handOff.reply(reply);
      return;
    }
    case 'stop': {
      let reply: EngineThreadReply;
      try {
        reply = { requestId: message.requestId, ok: true, runner: snapshotRunner(await local.stopRunner(message.id, message.reason)) };
      } catch (err) {
        reply = failure(message.requestId, err);
      }
      handOff.touch(message.id);
      handOff.reply(reply);
      return;
    }
    case 'stopAll':
      await local.stopAll(message.reason);
      handOff.reply({ requestId: message.requestId, ok: true, runner: null });
      return;
    case 'ready':
      handOff.reply({ requestId: message.requestId, ok: true, runner: null });
      return;
    case 'crash':
      setImmediate(() => {
        throw new Error(message.message);
      });
      return;
  }
}

port.on('message', (message: ToEngineThread) => void handle(message));

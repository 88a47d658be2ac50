import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { describe, expect, it, onTestFinished } from 'vitest';
import { Channel, ChannelClosedError, ChannelDeadlineError, type Answer } from '../../src/runtime/channel.js';
import { startProcess, startWorker, workerModule } from '../../src/runtime/thread.js';

/** The calls test/fixtures/channel-peer.ts answers. */
type PeerCall =
  | { readonly op: 'echo'; readonly value: unknown }
  | { readonly op: 'fail'; readonly code: string; readonly message: string }
  | { readonly op: 'hang' }
  | { readonly op: 'die'; readonly code: number };

interface PeerAnswers {
  readonly echo: unknown;
  readonly fail: never;
  readonly hang: never;
  readonly die: never;
}

interface WireError {
  readonly code: string;
  readonly message: string;
}

/** What the peer's answers are rebuilt as. */
class PeerError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly op: string,
  ) {
    super(message);
  }
}

type PeerChannel = Channel<PeerCall, PeerAnswers, WireError>;

const fromWire = (error: WireError, call: PeerCall): Error => new PeerError(error.code, error.message, call.op);

/** A channel without a peer: what it posts is recorded, answers are given by the test. */
function loopback(options: { deadlineMs?: number; throwOnPost?: boolean } = {}) {
  const posted: { id: number; call: PeerCall; signal: AbortSignal }[] = [];
  const refs: ('ref' | 'unref')[] = [];
  const channel: PeerChannel = new Channel({
    name: 'the loopback',
    post: (id, call, signal) => {
      if (options.throwOnPost === true) throw new Error('cannot be cloned');
      posted.push({ id, call, signal });
    },
    fromWire,
    ...(options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs }),
    ref: () => refs.push('ref'),
    unref: () => refs.push('unref'),
  });
  return { channel, posted, refs };
}

describe('Channel', () => {
  it('numbers calls, resolves each with its answer, and rebuilds an error answer with fromWire', async () => {
    const { channel, posted } = loopback();
    const first = channel.call({ op: 'echo', value: 1 });
    const second = channel.call({ op: 'fail', code: 'NOPE', message: 'refused' });
    expect(posted.map((p) => p.id)).toEqual([1, 2]);
    expect(channel.size).toBe(2);
    // Answered out of order: each finds its own call.
    expect(channel.settle(2, { ok: false, error: { code: 'NOPE', message: 'refused' } })).toBe(true);
    expect(channel.settle(1, { ok: true, value: 'one' })).toBe(true);
    await expect(first).resolves.toBe('one');
    const error = await second.catch((err: unknown) => err);
    expect(error).toBeInstanceOf(PeerError);
    expect(error).toMatchObject({ code: 'NOPE', message: 'refused', op: 'fail' });
    expect(channel.size).toBe(0);
    // An answer for a call no longer waiting is ignored.
    expect(channel.settle(1, { ok: true, value: 'again' })).toBe(false);
  });

  it('fails a call at its deadline, aborts its signal, and ignores its late answer', async () => {
    const { channel, posted } = loopback({ deadlineMs: 30 });
    const late = channel.call({ op: 'hang' });
    const error = await late.catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ChannelDeadlineError);
    expect((error as Error).message).toBe('the loopback did not answer within 30 ms');
    expect(posted[0]!.signal.aborted).toBe(true);
    expect(channel.size).toBe(0);
    expect(channel.settle(posted[0]!.id, { ok: true, value: 'too late' })).toBe(false);
    // The channel is still open: the next call is answered.
    const next = channel.call({ op: 'echo', value: 2 });
    channel.settle(posted[1]!.id, { ok: true, value: 2 });
    await expect(next).resolves.toBe(2);
    expect(posted[1]!.signal.aborted).toBe(false);
  });

  it("takes a call's own deadline over the channel's, and builds the deadline error with `expired`", async () => {
    const channel: PeerChannel = new Channel({
      name: 'the peer',
      post: () => undefined,
      fromWire,
      deadlineMs: 60_000,
      expired: (call, ms) => new PeerError('TIMEOUT', `${call.op} waited ${ms} ms`, call.op),
    });
    await expect(channel.call({ op: 'hang' }, { deadlineMs: 20 })).rejects.toMatchObject({ code: 'TIMEOUT', message: 'hang waited 20 ms' });
  });

  it('fails every waiting call when it closes, and every later call without posting it', async () => {
    const { channel, posted } = loopback();
    const a = channel.call({ op: 'hang' });
    const b = channel.call({ op: 'echo', value: 1 });
    const gone = new Error('the peer is gone');
    channel.close(gone);
    await expect(a).rejects.toBe(gone);
    await expect(b).rejects.toBe(gone);
    expect(posted.every((p) => p.signal.aborted)).toBe(true);
    expect(channel.closed).toBe(gone);
    await expect(channel.call({ op: 'echo', value: 2 })).rejects.toBe(gone);
    expect(posted).toHaveLength(2);
    // The first close says why; a later one changes nothing.
    channel.close(new Error('again'));
    await expect(channel.call({ op: 'hang' })).rejects.toBe(gone);
    expect(channel.size).toBe(0);
  });

  it('closes with a ChannelClosedError naming the peer unless told why', async () => {
    const { channel } = loopback();
    const waiting = channel.call({ op: 'hang' });
    channel.close();
    await expect(waiting).rejects.toBeInstanceOf(ChannelClosedError);
    await expect(waiting).rejects.toThrow('the channel to the loopback is closed');
  });

  it('rejects a call its post cannot send with what post threw, and does not keep it waiting', async () => {
    const { channel, refs } = loopback({ throwOnPost: true });
    await expect(channel.call({ op: 'echo', value: () => 1 })).rejects.toThrow('cannot be cloned');
    expect(channel.size).toBe(0);
    expect(refs).toEqual([]);
  });

  it('refs the peer while calls wait and unrefs it when none does, once per change', async () => {
    const { channel, posted, refs } = loopback({ deadlineMs: 20 });
    const a = channel.call({ op: 'echo', value: 'a' });
    const b = channel.call({ op: 'echo', value: 'b' });
    expect(refs).toEqual(['ref']);
    channel.settle(posted[0]!.id, { ok: true, value: 'a' });
    expect(refs).toEqual(['ref']);
    channel.settle(posted[1]!.id, { ok: true, value: 'b' });
    expect(refs).toEqual(['ref', 'unref']);
    await Promise.all([a, b]);
    // A deadline and a close let the peer go too.
    await expect(channel.call({ op: 'hang' })).rejects.toBeInstanceOf(ChannelDeadlineError);
    expect(refs).toEqual(['ref', 'unref', 'ref', 'unref']);
    const c = channel.call({ op: 'hang' }, { deadlineMs: 60_000 });
    channel.close();
    await expect(c).rejects.toBeInstanceOf(ChannelClosedError);
    expect(refs).toEqual(['ref', 'unref', 'ref', 'unref', 'ref', 'unref']);
  });

  it('lets a taken call settle later: its deadline no longer applies and closing does not fail it', async () => {
    const { channel, posted } = loopback({ deadlineMs: 20 });
    const answer = channel.call({ op: 'echo', value: 'x' });
    const taken = channel.take(posted[0]!.id)!;
    expect(taken.call).toEqual({ op: 'echo', value: 'x' });
    expect(channel.size).toBe(0);
    // Past the deadline a call waiting would have had.
    await expect(channel.call({ op: 'hang' })).rejects.toBeInstanceOf(ChannelDeadlineError);
    channel.close();
    taken.settle({ ok: true, value: 'x' });
    await expect(answer).resolves.toBe('x');
  });

  it('takes every waiting call at once, oldest first, for a boundary whose calls end differently', async () => {
    const { channel } = loopback();
    const a = channel.call({ op: 'hang' });
    const b = channel.call({ op: 'echo', value: 'b' });
    const all = channel.takeAll();
    expect(all.map((w) => w.call.op)).toEqual(['hang', 'echo']);
    expect(channel.size).toBe(0);
    all[0]!.fail(new Error('ended'));
    all[1]!.settle({ ok: false, error: { code: 'LATE', message: 'late' } });
    await expect(a).rejects.toThrow('ended');
    await expect(b).rejects.toMatchObject({ code: 'LATE' });
  });
});

/** A real peer behind the channel, and how to end it. */
interface Peer {
  readonly channel: PeerChannel;
  /** Resolves once the peer ended (and the channel heard of it). */
  readonly ended: Promise<unknown>;
  readonly kill: () => void;
}

const PEER = workerModule('../fixtures/channel-peer.js', import.meta.url);

type Answered = { readonly id: number; readonly answer: Answer<WireError> };

/** The peer as a worker thread: posted to by `postMessage`, closed by its `exit`. */
function threadPeer(): Peer {
  const worker: Worker = startWorker(PEER);
  const channel: PeerChannel = new Channel({ name: 'the peer thread', post: (id, call) => worker.postMessage({ id, call }), fromWire });
  worker.on('message', (message: Answered) => channel.settle(message.id, message.answer));
  const ended = once(worker, 'exit');
  worker.on('exit', (code) => channel.close(new Error(`the peer thread exited (code ${code})`)));
  onTestFinished(() => void worker.terminate());
  return { channel, ended, kill: () => void worker.terminate() };
}

/** The peer as a child process with an IPC channel: posted to by `send`, closed by its `exit`. */
function processPeer(): Peer {
  const child: ChildProcess = startProcess(PEER, { serialization: 'advanced' });
  const channel: PeerChannel = new Channel({ name: 'the peer process', post: (id, call) => child.send({ id, call }), fromWire });
  child.on('message', (message: Answered) => channel.settle(message.id, message.answer));
  const ended = once(child, 'exit');
  child.on('exit', (code, signal) => channel.close(new Error(`the peer process exited (${signal ?? `code ${code}`})`)));
  onTestFinished(() => void child.kill());
  return { channel, ended, kill: () => void child.kill('SIGKILL') };
}

describe.each([
  ['worker thread', threadPeer, 'the peer thread exited (code 3)', /^the peer thread exited \(code 1\)$/],
  ['child process', processPeer, 'the peer process exited (code 3)', /^the peer process exited \(SIGKILL\)$/],
] as const)('Channel to a real %s', (_, start, diedMidCall, killed) => {
  it('carries calls and answers, errors rebuilt by fromWire', async () => {
    const { channel } = start();
    await expect(channel.call({ op: 'echo', value: { n: 1, big: 2n } })).resolves.toEqual({ n: 1, big: 2n });
    await expect(channel.call({ op: 'fail', code: 'BAD', message: 'no' })).rejects.toMatchObject({ code: 'BAD', message: 'no', op: 'fail' });
  }, 30_000);

  it('fails the calls waiting when the peer dies mid-call, and every later call', async () => {
    const { channel, ended } = start();
    // Answered first: the peer runs before it is asked to die.
    await channel.call({ op: 'echo', value: 0 });
    const hanging = channel.call({ op: 'hang' });
    const dying = channel.call({ op: 'die', code: 3 });
    await expect(hanging).rejects.toThrow(diedMidCall);
    await expect(dying).rejects.toThrow(diedMidCall);
    await ended;
    await expect(channel.call({ op: 'echo', value: 1 })).rejects.toThrow(diedMidCall);
    expect(channel.size).toBe(0);
  }, 30_000);

  it('fails the calls waiting when the peer is killed', async () => {
    const { channel, kill } = start();
    await channel.call({ op: 'echo', value: 0 });
    const hanging = channel.call({ op: 'hang' });
    kill();
    await expect(hanging).rejects.toThrow(killed);
  }, 30_000);

  it('fails a call the peer never answers at its deadline, and goes on answering the next', async () => {
    const { channel } = start();
    await channel.call({ op: 'echo', value: 0 });
    await expect(channel.call({ op: 'hang' }, { deadlineMs: 50 })).rejects.toBeInstanceOf(ChannelDeadlineError);
    await expect(channel.call({ op: 'echo', value: 'next' })).resolves.toBe('next');
  }, 30_000);

  it('fails the calls waiting when closed by its owner, while the peer still runs', async () => {
    const { channel } = start();
    await channel.call({ op: 'echo', value: 0 });
    const hanging = channel.call({ op: 'hang' });
    channel.close(new Error('closed by the owner'));
    await expect(hanging).rejects.toThrow('closed by the owner');
    await expect(channel.call({ op: 'echo', value: 1 })).rejects.toThrow('closed by the owner');
  }, 30_000);
});

describe('Channel ref/unref, in a process of its own', () => {
  it('keeps the process alive for a waiting call to a thread, and lets it end after the answer', async () => {
    const child = startProcess(workerModule('../fixtures/channel-ref-main.js', import.meta.url), { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    onTestFinished(() => void child.kill('SIGKILL'));
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    // Without the ref the process ends before the answer (code 13: unsettled top-level
    // await); without the unref it never ends and the test times out.
    const [code] = (await once(child, 'exit')) as [number | null];
    expect({ code, out }).toEqual({ code: 0, out: 'answered\n' });
  }, 30_000);
});

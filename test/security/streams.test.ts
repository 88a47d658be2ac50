import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOUNDS, startTarget, TOKENS, underAttack, waitFor, type Target } from './harness.js';

let target: Target;
beforeAll(async () => {
  target = await startTarget();
});
afterAll(async () => {
  await target.close();
});

const REPLAY_QUERY = 'subscription { events(replay: 1) { __typename } }';

/** Subscribers on the bus besides the bystander's. */
const attackers = () => target.bus.subscriberCount - 1;

describe('1. a subscription whose response is refused leaves nothing behind', () => {
  it.each(['application/json', 'image/png', 'multipart/mixed', 'application/graphql-response+json', 'text/html;q=0.1, application/xml'])(
    'GET with Accept: %s',
    async (accept) => {
      const report = await underAttack(target, `1 GET subscription ×200, Accept: ${accept}`, 'no stream: 406 or an error, and no subscriber left', async () => {
        for (let i = 0; i < 200; i++) {
          const res = await fetch(`${target.server.urls.http}?query=${encodeURIComponent(REPLAY_QUERY)}`, {
            headers: { accept, authorization: `Bearer ${TOKENS.btcViewer}` },
          });
          await res.arrayBuffer();
          expect(res.headers.get('content-type') ?? '').not.toContain('text/event-stream');
          await waitFor(() => attackers() === 0, `the subscriber of request ${i} (Accept: ${accept}) to be closed`);
        }
      });
      expect(attackers()).toBe(0);
      expect(target.server.tickwire.sharedExecution.stats().cohorts).toBe(1);
      // Every stream counted is one a client reads: none left for Yoga's transport.
      expect(target.server.tickwire.admission.open['yoga-sse']).toBe(0);
      expect(report.bystanderMaxGapMs).toBeLessThan(BOUNDS.bystanderMaxGapMs);
      expect(report.peakRssGrowthMb).toBeLessThan(BOUNDS.peakRssGrowthMb);
    },
    // 200 requests; with text/html each is answered with the whole offline GraphiQL page
    // (about 9 MB), which a busy machine takes over 20 s to send 200 times.
    90_000,
  );
});

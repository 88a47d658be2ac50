/**
 * The subscribers of `bench/overload.ts`, in their own process: `count` graphql-ws
 * connections, one subscription each, every one with distinct variables (so each is a
 * cohort of its own, as in issue 15). Every message is counted; the ticks of every
 * `sampleEvery`-th connection are parsed for their age (receive time − publish time).
 */
import WebSocket from 'ws';

const [url, countText, sampleText] = process.argv.slice(2);
const count = Number(countText);
const sampleEvery = Number(sampleText ?? 20);
const QUERY = 'subscription ($ids: [ID!]) { events(runnerIds: $ids) { __typename ... on TickReceived { id data { timestamp close } } ... on StreamGap { missed reason } } }';

let messages = 0;
let gaps = 0;
let missed = 0;
let closedAbnormally = 0;
const codes = new Map<number, number>();
let ages: number[] = [];
let measuring = false;

function open(i: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url!, 'graphql-transport-ws', { perMessageDeflate: false });
    const sampled = i % sampleEvery === 0;
    socket.once('error', reject);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
    socket.on('close', (code) => {
      codes.set(code, (codes.get(code) ?? 0) + 1);
      if (code !== 1000) closedAbnormally++;
    });
    socket.on('message', (data) => {
      messages++;
      if (messages < 0) return;
      const text = String(data);
      if (text.includes('"connection_ack"')) {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: QUERY, variables: { ids: ['r0', `nobody${i}`] } } }));
        resolve();
        return;
      }
      if (text.includes('"StreamGap"')) {
        gaps++;
        const m = /"missed":(\d+)/.exec(text);
        missed += m ? Number(m[1]) : 0;
        return;
      }
      if (sampled && measuring) {
        const m = /"timestamp":(\d+)/.exec(text);
        if (m) ages.push(Date.now() - Number(m[1]));
      }
    });
  });
}

for (let i = 0; i < count; i += 50) {
  await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, k) => open(i + k)));
}

process.on('message', (message: { cmd: 'measure' | 'report' | 'exit' }) => {
  if (message.cmd === 'measure') {
    measuring = true;
    ages = [];
    messages = 0;
    gaps = 0;
    missed = 0;
  } else if (message.cmd === 'report') {
    process.send?.({ cmd: 'report', messages, gaps, missed, ages, closedAbnormally, codes: Object.fromEntries(codes) });
  } else {
    process.exit(0);
  }
});
process.send?.({ cmd: 'ready' });

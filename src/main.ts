// The server process's entry point (`npm start`, `node dist/main.js`). The configuration is
// checked before the server's code is loaded: a bad setting is refused at once, with
// nothing opened. Then the store begins to open and the engine's threads to load, on the
// other core, while this thread loads the server. The composition root is src/app/main.ts.
import { loadServerConfigOrExit } from './app/config.js';

const config = loadServerConfigOrExit('tickwire');
const { startEarly } = await import('./app/early.js');
const early = startEarly(config);
const { runServer } = await import('./app/main.js');
await runServer(config, early);

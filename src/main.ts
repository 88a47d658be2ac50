// The server process's entry point (`npm start`, `node dist/main.js`); its composition root is src/app/main.ts.
import './app/main.js';

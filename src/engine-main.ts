// The engine process's entry point (`npm run engine`); its composition root is src/app/engine-main.ts.
import './app/engine-main.js';

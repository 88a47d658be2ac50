#!/usr/bin/env node
// `npm run build`: the server, CLI and client compiled to dist/, the dashboard to dist/dashboard.
import { build } from './build-state.mjs';

process.exitCode = await build();

import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

/** The dashboard's build: `npm run build` writes it to dist/dashboard, which the server serves at /. */
export default defineConfig({
  root: here,
  // Relative asset URLs: the page also works behind a proxy that mounts it under a path.
  base: './',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../dist/dashboard', import.meta.url)),
    emptyOutDir: true,
    // lightweight-charts alone is ~150 kB; one chunk is what a dashboard wants.
    chunkSizeWarningLimit: 1024,
  },
});

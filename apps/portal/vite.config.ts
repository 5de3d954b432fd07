import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The tenant portal: Preact (a 4 KB runtime with React's API) compiled by Vite's own esbuild JSX transform, so no
 * Babel and no plugin. Built into dist/portal, which the api serves at /portal/.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/portal/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  resolve: {
    alias: {
      '@intelliauth/webhooks-client': fileURLToPath(new URL('../../packages/client/src/index.ts', import.meta.url)),
    },
  },
  build: {
    outDir: fileURLToPath(new URL('../../dist/portal', import.meta.url)),
    emptyOutDir: true,
    // No inline module-preload polyfill script: the CSP allows scripts from 'self' only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  logLevel: 'warn',
});

/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The build lands in ../webapp/dist, which the Go package embeds and serves at /, /appointment/<id>
// and /console. It must be deterministic: CI rebuilds and compares it with the committed one.
export default defineConfig({
  base: '/',
  plugins: [react()],
  build: {
    outDir: '../webapp/dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    modulePreload: { polyfill: false },
    rollupOptions: {
      output: {
        entryFileNames: 'assets/[name]-[hash].js',
        chunkFileNames: 'assets/[name]-[hash].js',
        assetFileNames: 'assets/[name]-[hash][extname]',
      },
    },
  },
  server: {
    proxy: {
      '/graphql': { target: 'http://localhost:8080', ws: true },
      '/demo': { target: 'http://localhost:8080' },
      '/config.json': { target: 'http://localhost:8080' },
      '/calendar': { target: 'http://localhost:8080' },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});

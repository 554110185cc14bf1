import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Tauri serves ui/dist from its own protocol; relative asset paths keep that working.
export default defineConfig({
  plugins: [svelte()],
  base: './',
  clearScreen: false,
  build: { target: 'es2021', outDir: 'dist', emptyOutDir: true },
  test: { environment: 'node', include: ['src/**/*.test.ts'] },
});

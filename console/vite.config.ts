import { fileURLToPath, URL } from 'node:url'

import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

// Served by Flask at /console/ (api/routes/console.py), same origin as /api/v1. `npm run dev`
// proxies the API to the backend that scripts/demo runs (DEMO_PORT, default 5000).
export default defineConfig({
  base: '/console/',
  plugins: [vue()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  server: {
    proxy: { '/api': `http://127.0.0.1:${process.env.DEMO_PORT ?? '5000'}` },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        // Element Plus and ECharts change less often than our own code: their own hashed files.
        manualChunks(id: string) {
          if (id.includes('node_modules/element-plus') || id.includes('node_modules/@element-plus')) {
            return 'element-plus'
          }
          if (id.includes('node_modules/echarts') || id.includes('node_modules/zrender')) {
            return 'echarts'
          }
          if (id.includes('node_modules/')) return 'vendor'
          return undefined
        },
      },
    },
  },
})

#!/usr/bin/env node
// Bundles the browser build of Tessera (src/browser/index.ts) with esbuild and copies the demo page
// (web/) next to it: dist/browser/{tessera.js, index.html, app.js, ...}. The bundle must not use
// Node APIs: the Node modules that shared code imports for file loading and scratch files (which the
// browser never calls) are replaced by stubs, and any other `node:` import fails the build.
// Usage: node scripts/build-browser.mjs [--out DIR] [--minify]
import { build } from 'esbuild';
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { out: { type: 'string' }, minify: { type: 'boolean' } } });
const out = values.out ?? join(root, 'dist', 'browser');

/** Node modules reachable from shared code, with what the browser gets instead. */
const STUBS = {
  'node:path': `export function join(...parts) { return parts.filter((p) => p !== '').join('/').replace(/\\/+/g, '/'); }`,
  'node:fs/promises': `export async function readFile(path) { throw new Error('no file system in the browser (reading ' + path + ')'); }`,
  // scratch files for tensors rebuilt at load time (GGUF kv_b), which only file-backed models use
  'node:fs': ['closeSync', 'mkdtempSync', 'openSync', 'readSync', 'rmSync', 'writeFileSync'].map((f) => `export function ${f}() { throw new Error('no file system in the browser (${f})'); }`).join('\n'),
  'node:os': `export function tmpdir() { throw new Error('no temporary directory in the browser'); }`,
  // tool-call ids (the chat encoder's module); Web Crypto gives the same bytes
  'node:crypto': `export function randomBytes(n) { return globalThis.crypto.getRandomValues(new Uint8Array(n)); }`,
};

const nodeApis = {
  name: 'no-node-apis',
  setup(b) {
    b.onResolve({ filter: /^node:|^(fs|path|os|crypto|child_process|url|util)$/ }, (args) => {
      if (args.path in STUBS) return { path: args.path, namespace: 'stub' };
      return { errors: [{ text: `${args.path} is a Node API, imported by ${relative(root, args.importer)}; the browser bundle cannot use it` }] };
    });
    b.onLoad({ filter: /.*/, namespace: 'stub' }, (args) => ({ contents: STUBS[args.path], loader: 'js' }));
  },
};

mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: [join(root, 'src', 'browser', 'index.ts')],
  outfile: join(out, 'tessera.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  minify: values.minify ?? false,
  metafile: true,
  logLevel: 'warning',
  plugins: [nodeApis],
});
for (const name of readdirSync(join(root, 'web'))) cpSync(join(root, 'web', name), join(out, name), { recursive: true });
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`browser build: ${relative(process.cwd(), out) || '.'} (${(bytes / 1024).toFixed(0)} KiB)`);

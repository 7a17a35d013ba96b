// One private instance of xgrammar (@mlc-ai/web-xgrammar: the C++ engine compiled to wasm, with
// the wasm embedded in its one UMD file). The bundle is evaluated here under a CommonJS-style
// wrapper instead of being imported, for three reasons:
// - imported as ESM it exports nothing (it writes `globalThis.xgrammar`) and reads `require` and
//   `__filename` as globals; the wrapper hands it its own instead, so no global is touched;
// - `process` is hidden from it, so it takes its browser path (the embedded wasm decoded with
//   atob) instead of `await import('module')`;
// - each call gives a fresh instance with its own wasm memory and its own `console`. xgrammar
//   reports a bad schema, regex or grammar by printing "[FATAL] ..." and aborting the wasm
//   instance, which leaves it unusable (later calls hang); so input is first checked on a
//   throw-away instance whose console output becomes the error message.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';
import type * as XGrammar from '@mlc-ai/web-xgrammar';

export type XGrammarModule = typeof XGrammar;

export interface XGrammarInstance {
  readonly xg: XGrammarModule;
  /** Lines the instance printed since the last call (its error messages), cleared by the call. */
  takeOutput(): string[];
}

type Factory = (exports: object, module: object, require: NodeRequire, filename: string, dirname: string, console: Pick<Console, 'log' | 'warn' | 'error' | 'info' | 'debug'>, process: undefined) => void;

let factory: Factory | null = null;
let entry = '';

function loadFactory(): Factory {
  if (factory === null) {
    entry = createRequire(import.meta.url).resolve('@mlc-ai/web-xgrammar');
    const source = readFileSync(entry, 'utf8');
    const wrapped = `(function (exports, module, require, __filename, __dirname, console, process) {${source}\n})`;
    factory = new Script(wrapped, { filename: entry }).runInThisContext() as Factory;
  }
  return factory;
}

export function createXGrammarInstance(): XGrammarInstance {
  const make = loadFactory();
  const lines: string[] = [];
  const sink = (...args: unknown[]): void => void lines.push(args.map(String).join(' '));
  const exports: Record<string, unknown> = {};
  make(exports, { exports }, createRequire(entry), entry, dirname(entry), { log: sink, warn: sink, error: sink, info: sink, debug: sink }, undefined);
  return {
    xg: exports as unknown as XGrammarModule,
    takeOutput: () => lines.splice(0),
  };
}

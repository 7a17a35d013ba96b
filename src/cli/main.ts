#!/usr/bin/env node
// The `tessera` command line.
import { ModelFormatError } from '../formats/errors.js';
import { GgufError } from '../formats/gguf-errors.js';
import { UsageError } from './cli-error.js';
import { engineFlagNames } from './common.js';
import { EngineConfigError } from '../engine/index.js';
import { BENCH_USAGE, benchCommand } from './bench.js';
import { BENCH_SERVE_USAGE, benchServeCommand } from './bench-serve.js';
import { CHAT_USAGE, chatCommand } from './chat.js';
import { RUN_USAGE, runCommand } from './run.js';
import { SERVE_USAGE, serveCommand } from './serve.js';
import { TOKENIZE_USAGE, tokenizeCommand } from './tokenize.js';
import { INSPECT_USAGE, inspectCommand } from './inspect.js';
import { LOGITS_USAGE, logitsCommand } from './logits.js';
import { PERPLEXITY_USAGE, perplexityCommand } from './perplexity.js';
import { CONFORMANCE_USAGE, conformanceCommand } from './conformance.js';

type Command = (argv: string[], out: (s: string) => void) => Promise<void>;

const COMMANDS: Record<string, { run: Command; usage: string }> = {
  bench: {
    run: (argv, out) => (argv[0] === 'serve' ? benchServeCommand(argv.slice(1), out) : benchCommand(argv, out)),
    usage: `${BENCH_USAGE}\n${BENCH_SERVE_USAGE}`,
  },
  conformance: { run: conformanceCommand, usage: CONFORMANCE_USAGE },
  inspect: { run: inspectCommand, usage: INSPECT_USAGE },
  logits: { run: logitsCommand, usage: LOGITS_USAGE },
  perplexity: { run: perplexityCommand, usage: PERPLEXITY_USAGE },
  run: { run: runCommand, usage: RUN_USAGE },
  chat: { run: chatCommand, usage: CHAT_USAGE },
  tokenize: { run: tokenizeCommand, usage: TOKENIZE_USAGE },
  serve: { run: serveCommand, usage: SERVE_USAGE },
};

function usage(): string {
  return ['usage: tessera <command> [flags]', '', ...Object.values(COMMANDS).map((c) => c.usage), ''].join('\n');
}

/** Runs the CLI; returns the exit code (0 ok, 1 failure, 2 bad usage). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`tessera: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(cmd.usage + '\n');
    return 0;
  }
  try {
    await cmd.run(rest, (s) => process.stdout.write(s));
    return 0;
  } catch (e) {
    return reportError(name, e, cmd.usage);
  }
}

function reportError(command: string, e: unknown, commandUsage: string): number {
  const code = (e as { code?: string }).code;
  if (e instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
    process.stderr.write(`tessera ${command}: ${(e as Error).message}\n\nusage: ${commandUsage}\n`);
    return 2;
  }
  if (e instanceof EngineConfigError && engineFlagNames(e.message) !== e.message) {
    // an engine limit the flags broke (checked once the model's sizes are known): name the flags
    process.stderr.write(`tessera ${command}: ${engineFlagNames(e.message).replace(/^engine option /, '')}\n\nusage: ${commandUsage}\n`);
    return 2;
  }
  if (e instanceof ModelFormatError || e instanceof GgufError) {
    process.stderr.write(`tessera ${command}: invalid model: ${e.message}\n`);
    return 1;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  process.stderr.write(`tessera ${command}: ${err.message}\n`);
  if (process.env['TESSERA_DEBUG']) process.stderr.write(`${err.stack}\n`);
  return 1;
}

const code = await main(process.argv.slice(2));
// Let stdout drain before exiting (large JSON outputs through pipes).
process.stdout.write('', () => process.exit(code));

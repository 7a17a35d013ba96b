// Test support: `tessera run --chat`, `tessera chat` and `tessera serve` as users run them, as child
// processes, on an R1-Distill-Qwen model given by path (a Hugging Face directory or a GGUF file).
// The expected answers come from the text layer in-process (greedy, the same pipeline), so the
// checks are exact although the random model writes gibberish. The distill template opens
// `<think>\n`, so every answer is reasoning until the model writes </think> (this one never does).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import OpenAI from 'openai';
import { normalizeSamplingParams } from '../../src/engine/index.js';
import { buildChatPrompt, generateText, loadTextModel } from '../../src/text/index.js';
import type { TextModel } from '../../src/text/index.js';
import type { ChatMessageInput, ToolDefinition } from '../../src/tokenizer/index.js';
import { cliPath, runCli } from './cli.js';
import { startServerProcess } from './server-process.js';
import type { ServerProcess } from './server-process.js';

export interface GreedyAnswer {
  readonly promptTokens: number;
  readonly reasoning: string;
  readonly content: string;
}

const STATS = /^(\d+) prompt tokens(?: \((\d+) cached\))?, (\d+) generated in/;

export const WEATHER: ToolDefinition = {
  type: 'function',
  function: { name: 'get_weather', description: 'Weather of a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

function statsLines(stderr: string): Array<{ prompt: number; cached: number; generated: number }> {
  return stderr.split('\n').flatMap((line) => {
    const m = STATS.exec(line);
    return m ? [{ prompt: Number(m[1]), cached: Number(m[2] ?? 0), generated: Number(m[3]) }] : [];
  });
}

/** The greedy answer to `messages`, through the text layer in-process. */
export async function greedyAnswer(tm: TextModel, messages: readonly ChatMessageInput[], maxTokens: number): Promise<GreedyAnswer> {
  const prompt = buildChatPrompt(tm, { messages });
  let reasoning = '';
  let content = '';
  const sampling = normalizeSamplingParams({ temperature: 0 });
  for await (const ev of generateText(tm, { promptIds: prompt.ids, sampling, maxTokens, ignoreEos: true, reasoning: { startsInReasoning: prompt.startsInReasoning } })) {
    if (ev.type === 'finish') ({ reasoning, content } = ev);
  }
  return { promptTokens: prompt.ids.length, reasoning, content };
}

/** What `run --chat` and `chat` print on a pipe for an answer (cli/text-output.ts). */
function printed(a: GreedyAnswer): string {
  const text = (a.reasoning === '' ? '' : `<think>\n${a.reasoning}${a.reasoning.endsWith('\n') ? '' : '\n'}</think>\n`) + a.content;
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}

/** Registers the run / chat / serve tests for the model at `path()` (set by the caller's before hook). */
export function describeDistillCli(label: string, path: () => string): void {
  describe(`${label}: tessera run --chat, chat, serve`, () => {
    let tm: TextModel;
    let first: GreedyAnswer;
    const QUESTION = 'Why is the sky blue?';
    before(async () => {
      tm = await loadTextModel(path(), { device: 'ref', warmup: false, engine: { kvCacheTokens: 1024 } });
      first = await greedyAnswer(tm, [{ role: 'user', content: QUESTION }], 24);
    });
    after(() => tm.close());

    it('run --chat streams the answer, reasoning in <think> on a pipe; stats on stderr', async () => {
      assert.ok(first.reasoning.length > 0, 'the prompt opens <think>, so the answer starts as reasoning');
      const child = spawn(process.execPath, [cliPath, 'run', '--model', path(), '--device', 'ref', '--chat', '--prompt', QUESTION, '--temperature', '0', '--max-tokens', '24', '--ignore-eos'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const chunks: string[] = [];
      let stderr = '';
      child.stdout.on('data', (b: Buffer) => chunks.push(b.toString()));
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      assert.equal(code, 0, stderr);
      assert.equal(chunks.join(''), printed(first));
      assert.ok(chunks.length >= 2, `streamed as it was generated, got ${chunks.length} chunk(s)`);
      assert.deepEqual(statsLines(stderr).map((s) => [s.prompt, s.generated]), [[first.promptTokens, 24]]);
    });

    it('chat keeps a two-turn conversation over stdin, the history from the prefix cache', async () => {
      // Long enough that the turns share a full 16-token block.
      const q1 = 'Why is the sky blue during the day, and why does it turn red and orange at sunset?';
      const r = runCli(['chat', '--model', path(), '--device', 'ref', '--temperature', '0', '--max-tokens', '6', '--ignore-eos', '--block-size', '16'], { input: `${q1}\nAnd at sunrise?\n/exit\n` });
      assert.equal(r.code, 0, r.stderr);
      const turn1 = await greedyAnswer(tm, [{ role: 'user', content: q1 }], 6);
      // The history holds the answer's content only (R1's template drops past reasoning).
      const turn2 = await greedyAnswer(tm, [{ role: 'user', content: q1 }, { role: 'assistant', content: turn1.content }, { role: 'user', content: 'And at sunrise?' }], 6);
      assert.equal(r.stdout, `${printed(turn1)}${printed(turn2)}`);
      const [a, b, ...rest] = statsLines(r.stderr);
      assert.ok(a && b && rest.length === 0, r.stderr);
      assert.equal(a.prompt, turn1.promptTokens);
      assert.equal(b.prompt, turn2.promptTokens);
      assert.ok(b.cached >= 16, 'the first turn came from the prefix cache');
    });

    describe('serve, through the openai client', () => {
      let server: ServerProcess;
      let client: OpenAI;
      const name = (): string => basename(path());
      const ask = { messages: [{ role: 'user' as const, content: QUESTION }], max_tokens: 24, temperature: 0, ignore_eos: true };
      before(async () => {
        server = await startServerProcess(['--model', path(), '--device', 'ref', '--reasoning-field', 'reasoning_content', '--kv-cache-tokens', '1024']);
        client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none', maxRetries: 0 });
      });
      after(() => server?.stop('SIGKILL'));

      it('serves the model under its file or directory name', async () => {
        assert.deepEqual((await client.models.list()).data.map((m) => m.id), [name()]);
      });

      it('returns reasoning_content, not streamed and streamed alike', async () => {
        const r = await client.chat.completions.create({ model: name(), ...ask } as OpenAI.ChatCompletionCreateParamsNonStreaming);
        const message = r.choices[0]!.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string };
        assert.equal(message.reasoning_content, first.reasoning);
        assert.equal(message.content, first.content);
        assert.equal(r.usage?.prompt_tokens, first.promptTokens);
        assert.equal(r.choices[0]!.finish_reason, 'length');

        const stream = await client.chat.completions.create({ model: name(), ...ask, stream: true } as OpenAI.ChatCompletionCreateParamsStreaming);
        let reasoning = '';
        let content = '';
        let reasoningChunks = 0;
        for await (const chunk of stream) {
          const delta = chunk.choices[0]?.delta as (OpenAI.ChatCompletionChunk.Choice.Delta & { reasoning_content?: string }) | undefined;
          if (delta?.reasoning_content) {
            reasoning += delta.reasoning_content;
            reasoningChunks++;
          }
          content += delta?.content ?? '';
        }
        assert.equal(reasoning, first.reasoning);
        assert.equal(content, first.content);
        assert.ok(reasoningChunks > 1, 'reasoning arrives as it is generated');
      });

      it('puts the tools into the prompt, which the template does not, and tokenizes like the text layer', async () => {
        const tokenize = async (tools?: ToolDefinition[]): Promise<number[]> => {
          const res = await fetch(`${server.url}/tokenize`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ messages: ask.messages, ...(tools ? { tools } : {}) }) });
          assert.equal(res.status, 200);
          return ((await res.json()) as { tokens: number[] }).tokens;
        };
        const withTools = await tokenize([WEATHER]);
        assert.deepEqual(withTools, buildChatPrompt(tm, { messages: ask.messages, tools: [WEATHER] }).ids);
        assert.ok(withTools.length > (await tokenize()).length + 50, 'the tool block is in the prompt');
        assert.ok(tm.tokenizer.decode(withTools).includes('### get_weather\nDescription: Weather of a city'));
      });
    });
  });
}

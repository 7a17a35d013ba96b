// `tessera chat`: an interactive multi-turn chat. Each line is a user turn; the history is kept and
// re-encoded every turn (the engine's prefix cache makes the repeated part cheap). Ctrl-C stops the
// answer being generated and returns to the prompt; at the prompt it quits, as does Ctrl-D or /exit.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { buildChatPrompt, generateText } from '../text/index.js';
import type { TextFinishEvent, TextStream } from '../text/index.js';
import type { ChatMessageInput } from '../tokenizer/index.js';
import { ENGINE_FLAG_OPTIONS, ENGINE_FLAGS_USAGE, modelDirFlag, textModelFlags } from './common.js';
import { checkPromptFits, loadWithProgress, parseSamplingFlags, SAMPLING_FLAG_OPTIONS, samplingFor } from './run.js';
import { statsLine, TextPrinter } from './text-output.js';

export const CHAT_USAGE = `tessera chat [--model DIR] [--system "..."] [--thinking] [--hide-reasoning] [--max-tokens 256]
    [--temperature T] [--top-p P] [--top-k K] [--seed S] [--stop STR ...] ${ENGINE_FLAGS_USAGE}
  Interactive chat: type a message, the answer streams back; reasoning is shown dimmed unless
  --hide-reasoning. Ctrl-C stops the current answer; /reset clears the history; /exit or Ctrl-D quits.`;

const HELP = 'commands: /reset clears the history, /exit quits; Ctrl-C stops an answer';

export async function chatCommand(argv: string[], out: (s: string) => void): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { ...SAMPLING_FLAG_OPTIONS, ...ENGINE_FLAG_OPTIONS }, strict: true });
  const sampling = parseSamplingFlags(values);
  const tm = await loadWithProgress(modelDirFlag(values.model), textModelFlags(values));
  const err = (s: string) => process.stderr.write(s + '\n');
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const params = samplingFor(tm, sampling);
  const initial: ChatMessageInput[] = values.system !== undefined ? [{ role: 'system', content: values.system }] : [];
  let history: ChatMessageInput[] = [...initial];
  let current: TextStream | null = null;

  const rl = createInterface({ input: process.stdin, ...(interactive ? { output: process.stdout, prompt: '> ' } : {}), terminal: interactive });
  const interrupt = () => {
    if (current) current.abort();
    else rl.close();
  };
  rl.on('SIGINT', interrupt); // a terminal in raw mode delivers Ctrl-C to readline
  process.on('SIGINT', interrupt); // a signal from elsewhere (kill -INT, a pipe's parent)
  if (interactive) err(`chatting with ${tm.name}; ${HELP}`);
  try {
    rl.prompt();
    for await (const line of rl) {
      const text = line.trim();
      if (text === '/exit' || text === '/quit') break;
      if (text === '/reset') {
        history = [...initial];
        err('[history cleared]');
      } else if (text === '/help') {
        err(HELP);
      } else if (text !== '') {
        history.push({ role: 'user', content: line });
        const prompt = buildChatPrompt(tm, { messages: history, thinking: values.thinking ?? false });
        let maxTokens: number;
        try {
          maxTokens = checkPromptFits(tm, prompt.ids.length, sampling.maxTokens);
        } catch (e) {
          history.pop();
          err(`${(e as Error).message.replace('shorten the prompt', 'type /reset to start over')}`);
          rl.prompt();
          continue;
        }
        const printer = new TextPrinter(out, { showReasoning: !values['hide-reasoning'], color: Boolean(process.stdout.isTTY) });
        const start = performance.now();
        let firstToken: number | null = null;
        let finish: TextFinishEvent | undefined;
        current = generateText(tm, {
          promptIds: prompt.ids,
          sampling: params,
          maxTokens,
          stop: values.stop ?? [],
          ignoreEos: values['ignore-eos'] ?? false,
          reasoning: { startsInReasoning: prompt.startsInReasoning },
        });
        try {
          for await (const ev of current) {
            if (ev.type === 'delta') {
              firstToken ??= performance.now();
              printer.delta(ev.delta);
            } else finish = ev;
          }
        } finally {
          current = null;
        }
        if (finish) {
          printer.finish(finish);
          // A stopped answer stays in the history as far as it got, so the next turn can refer to it.
          history.push({ role: 'assistant', content: finish.content });
          if (finish.finishReason === 'abort') err('[stopped]');
          err(statsLine(finish, { start, firstToken, end: performance.now() }));
        }
      }
      rl.prompt();
    }
  } finally {
    process.off('SIGINT', interrupt);
    rl.close();
    if (interactive) out('\n');
    await tm.close();
  }
}

// run --chat, chat, serve and tokenize as users run them on a GGUF file: the R1-Distill-Qwen test
// model converted with bench/llama-gguf.ts, its tokenizer.* metadata (chat template included) the
// distill's own as convert_hf_to_gguf.py writes it. No tokenizer files sit next to the file, so
// everything text-related comes from its metadata; the answers equal the directory's.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gv } from '../formats/gguf-types.js';
import { buildChatPrompt, loadTextTokenizer } from '../text/index.js';
import type { TextTokenizer } from '../text/index.js';
import { runCli } from '../../test/helpers/cli.js';
import { describeDistillCli, WEATHER } from '../../test/helpers/distill-cli-suite.js';
import { makeQwenDistillModel } from '../../test/helpers/distill-models.js';
import type { DistillModel } from '../../test/helpers/distill-models.js';
import { rewriteGgufMetadata } from '../../test/helpers/gguf-rewrite.js';

let model: DistillModel;
before(async () => (model = await makeQwenDistillModel()));
after(() => model?.dispose());

describeDistillCli('R1-Distill-Qwen GGUF', () => model.gguf);

describe('a GGUF file against the directory it was converted from', () => {
  const CHAT = [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'Weather in Paris? 谢谢' }];
  let fromGguf: TextTokenizer;
  let fromDir: TextTokenizer;
  before(async () => ([fromGguf, fromDir] = await Promise.all([loadTextTokenizer(model.gguf), loadTextTokenizer(model.dir)])));

  it('has no tokenizer files beside it and reads tokenizer.chat_template', () => {
    assert.equal(existsSync(join(dirname(model.gguf), 'tokenizer.json')), false);
    assert.equal(fromGguf.loaded.config.chatTemplates.get('default')?.origin, `${model.gguf}#tokenizer.chat_template`);
    assert.equal(fromGguf.chat?.kind, 'jinja');
    assert.equal(fromGguf.toolFormat?.name, 'deepseek-v3');
  });

  it('run --chat and tokenize give the same output and ids as the directory', async () => {
    const run = (path: string) => runCli(['run', '--model', path, '--device', 'ref', '--chat', '--prompt', 'Hello there!', '--temperature', '0', '--max-tokens', '12', '--ignore-eos']);
    const [a, b] = [run(model.gguf), run(model.dir)];
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);

    const messages = join(dirname(model.gguf), 'chat.json');
    await writeFile(messages, JSON.stringify({ messages: CHAT, tools: [WEATHER] }));
    const cli = runCli(['tokenize', '--model', model.gguf, '--messages', messages, '--thinking']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual(JSON.parse(cli.stdout), buildChatPrompt(fromDir, { messages: CHAT, tools: [WEATHER], thinking: true }).ids);
    for (const tools of [undefined, [WEATHER]]) {
      assert.deepEqual(buildChatPrompt(fromGguf, { messages: CHAT, tools: tools ?? null }).ids, buildChatPrompt(fromDir, { messages: CHAT, tools: tools ?? null }).ids);
    }
    const plain = 'Plain text, 3 numbers: 12345.';
    assert.deepEqual(fromGguf.tokenizer.encode(plain), fromDir.tokenizer.encode(plain));
  });

  it("renders the file's own template: editing tokenizer.chat_template changes the prompt", async () => {
    const edited = join(dirname(model.gguf), 'edited.gguf');
    await rewriteGgufMetadata(model.gguf, edited, (m) => void m.set('tokenizer.chat_template', gv.str('{{ bos_token }}[edited]{% for m in messages %}<｜User｜>{{ m.content }}{% endfor %}<｜Assistant｜>')));
    const messages = join(dirname(model.gguf), 'one.json');
    await writeFile(messages, JSON.stringify([{ role: 'user', content: 'hi' }]));
    const r = runCli(['tokenize', '--model', edited, '--messages', messages]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fromGguf.tokenizer.decode(JSON.parse(r.stdout) as number[]), '<｜begin▁of▁sentence｜>[edited]<｜User｜>hi<｜Assistant｜>');
  });
});

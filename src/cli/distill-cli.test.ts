// run --chat, chat and serve as users run them on an R1-Distill-Qwen Hugging Face directory
// (random tiny Qwen2 weights, the distill's real tokenizer files and chat template).
import { after, before } from 'node:test';
import { describeDistillCli } from '../../test/helpers/distill-cli-suite.js';
import { makeQwenDistillModel } from '../../test/helpers/distill-models.js';
import type { DistillModel } from '../../test/helpers/distill-models.js';

let model: DistillModel;
before(async () => (model = await makeQwenDistillModel()));
after(() => model?.dispose());

describeDistillCli('R1-Distill-Qwen directory', () => model.dir);

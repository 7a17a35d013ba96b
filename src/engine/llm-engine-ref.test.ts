// LLMEngine on real DeepSeek models, ref backend (the oracle backend: slow but simple).
import { RefBackend } from '../backends/ref/ref-backend.js';
import { runEngineModelSuite } from '../../test/helpers/engine-model-suite.js';

runEngineModelSuite('ref', () => new RefBackend());

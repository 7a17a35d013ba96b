import { RefBackend } from './ref-backend.js';
import { runGoldenSuite } from '../../../test/helpers/golden-suite.js';

runGoldenSuite('ref', () => new RefBackend());

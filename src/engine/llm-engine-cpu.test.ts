// LLMEngine on real DeepSeek models, cpu backend (C kernels, compiled on first use).
import { createCpuBackend } from '../backends/cpu/cpu-backend.js';
import { findCompiler } from '../backends/cpu/c-compiler.js';
import { runEngineModelSuite } from '../../test/helpers/engine-model-suite.js';

runEngineModelSuite('cpu', () => createCpuBackend(), findCompiler() ? false : 'no C compiler with OpenMP support (set $CC)');

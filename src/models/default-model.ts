// The model shipped inside the package (a tiny DeepSeek-V3.2-architecture model), used when a
// command is given no --model.
import { fileURLToPath } from 'node:url';

/** models/tessera-tiny at the package root (this file compiles to dist/src/models/). */
export const DEFAULT_MODEL_DIR = fileURLToPath(new URL('../../../models/tessera-tiny/', import.meta.url));

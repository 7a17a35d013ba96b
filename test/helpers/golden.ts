// The DeepSeek fixture goldens, as the product's conformance floor reads them.
export { loadGolden } from '../../src/conformance/golden-files.js';
export type { Golden } from '../../src/conformance/golden-files.js';

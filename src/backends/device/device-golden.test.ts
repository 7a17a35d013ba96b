import { DeviceBackend } from './device-backend.js';
import { JsDevice } from '../js/js-device.js';
import { createCpuBackend } from '../cpu/cpu-backend.js';
import { runGoldenSuite } from '../../../test/helpers/golden-suite.js';

runGoldenSuite('cpu', () => createCpuBackend());
runGoldenSuite('js', () => new DeviceBackend('js', new JsDevice()));

import { DeviceBackend } from './device-backend.js';
import { JsDevice } from '../js/js-device.js';
import { createCpuBackend } from '../cpu/cpu-backend.js';
import { runConformanceSuite } from '../../../test/helpers/conformance.js';

runConformanceSuite('cpu', () => createCpuBackend());
runConformanceSuite('js', () => new DeviceBackend('js', new JsDevice()));

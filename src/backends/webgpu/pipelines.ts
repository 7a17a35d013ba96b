// Compute pipelines of DSL kernels, created once per kernel and device: the WGSL source, an explicit
// bind group layout (the uniform block takes a dynamic offset, so one uniform buffer serves every
// dispatch of a submission) and the uniform block's field layout.
import type { Kernel } from '../../dsl/ir.js';
import { WgslRenderer, planBindings } from '../../dsl/render-wgsl.js';
import type { WgslBinding, WgslBindingPlan } from '../../dsl/render-wgsl.js';
import { SHADER_STAGE_COMPUTE, WebGpuError } from './gpu-context.js';
import type { WebGpuContext } from './gpu-context.js';

export interface UniformField {
  readonly name: string;
  readonly t: 'f32' | 'i32' | 'u32';
}

export interface KernelPipeline {
  readonly id: number;
  readonly kernel: Kernel;
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly bindings: readonly WgslBinding[];
  readonly plan: WgslBindingPlan;
  readonly fields: readonly UniformField[];
  /** size of the uniform block (a multiple of 16) */
  readonly uniformBytes: number;
}

export class PipelineCache {
  private readonly renderer = new WgslRenderer();
  private readonly byKernel = new WeakMap<Kernel, KernelPipeline>();
  /** kernels built again by another backend on the same device share the pipeline */
  private readonly bySource = new Map<string, KernelPipeline>();
  private nextId = 0;

  constructor(private readonly ctx: WebGpuContext) {}

  get(kernel: Kernel): KernelPipeline {
    const hit = this.byKernel.get(kernel);
    if (hit) return hit;
    const plan = planBindings(kernel, this.ctx.limits.maxStorageBuffersPerShaderStage);
    if (!plan) {
      const n = kernel.params.filter((p) => p.kind !== 'scalar').length;
      throw new WebGpuError(`kernel ${kernel.name} binds ${n} storage buffers; this adapter allows ${this.ctx.limits.maxStorageBuffersPerShaderStage} per shader stage`);
    }
    const code = this.renderer.renderWithPlan(kernel, plan);
    let p = this.bySource.get(code);
    if (!p) {
      p = this.create(kernel, plan, code);
      this.bySource.set(code, p);
    }
    this.byKernel.set(kernel, p);
    return p;
  }

  private create(kernel: Kernel, plan: WgslBindingPlan, code: string): KernelPipeline {
    const device = this.ctx.device;
    const bindings = this.renderer.bindingOrder(kernel, plan);
    const names = this.renderer.uniformFields(kernel, plan);
    const fields = names.map((name): UniformField => {
      const p = kernel.params.find((x) => x.name === name);
      return { name, t: p && p.kind === 'scalar' ? p.t : 'i32' };
    });
    const uniformBytes = 16 * Math.max(1, Math.ceil(fields.length / 4));
    const layout = device.createBindGroupLayout({
      label: kernel.name,
      entries: bindings.map((b, i): GPUBindGroupLayoutEntry => ({
        binding: i,
        visibility: SHADER_STAGE_COMPUTE,
        buffer: b.kind === 'uniform' ? { type: 'uniform', hasDynamicOffset: true, minBindingSize: uniformBytes } : { type: b.write ? 'storage' : 'read-only-storage' },
      })),
    });
    const module = device.createShaderModule({ label: kernel.name, code });
    const pipeline = device.createComputePipeline({
      label: kernel.name,
      layout: device.createPipelineLayout({ label: kernel.name, bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    });
    return { id: this.nextId++, kernel, pipeline, layout, bindings, plan, fields, uniformBytes };
  }
}

/// <reference types="@webgpu/types" />
/**
 * Our WGSL kernel that derives attention maps on a GPUDevice: softmax(scale · q·kᵀ [+ causal mask]) for
 * a block of query rows of every head, from the q and k an inspection kept (kernels/inspect/attentionMaps.ts
 * has the definition it is checked against). One workgroup per (head, query row): the row's query in
 * workgroup memory, the scores of its keys written to the output, then the row's max and sum reduced in
 * workgroup memory and the scores turned into probabilities in place. Keys after a causal row's own are
 * written as exactly 0, as the reference has them. The output is written in parts no larger than the
 * device's storage binding limit, so a whole layer at long context fits any device.
 */
import type { AttentionInputs, AttentionMapsDeriver, QueryRows } from '../inspect/attentionMaps.js';

const THREADS = 64;
/** Workgroups per dispatch dimension (WebGPU's guaranteed maxComputeWorkgroupsPerDimension). */
const MAX_GROUPS = 65_535;

export function attentionMapsWgsl(headDim: number): string {
  return /* wgsl */ `
struct Params { length: u32, first: u32, rows: u32, causal: u32, scale: f32, part: u32 }
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read_write> p: array<f32>;
@group(0) @binding(3) var<uniform> u: Params;
const DH = ${headDim}u;
const WG = ${THREADS}u;
var<workgroup> qRow: array<f32, DH>;
var<workgroup> red: array<f32, WG>;

fn reduce(t: u32, isMax: bool) -> f32 {
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (t < s) { red[t] = select(red[t] + red[t + s], max(red[t], red[t + s]), isMax); }
    workgroupBarrier();
  }
  let v = red[0];
  workgroupBarrier();
  return v;
}

@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  // Row g of this part: (head, query row) flattened, its output row local to the part.
  let local = wg.x;
  let g = u.part + local;
  let h = g / u.rows;
  let i = u.first + g % u.rows;
  for (var d = t; d < DH; d += WG) { qRow[d] = q[(h * u.length + i) * DH + d]; }
  workgroupBarrier();
  let keys = select(u.length, i + 1u, u.causal == 1u);
  let o = local * u.length;
  var m = bitcast<f32>(0xff7fffffu); // the lowest finite f32
  for (var j = t; j < keys; j += WG) {
    let kj = (h * u.length + j) * DH;
    var dot = 0.0;
    for (var d = 0u; d < DH; d++) { dot += qRow[d] * k[kj + d]; }
    let s = dot * u.scale;
    p[o + j] = s;
    m = max(m, s);
  }
  red[t] = m;
  let rowMax = reduce(t, true);
  var sum = 0.0;
  for (var j = t; j < keys; j += WG) {
    let e = exp(p[o + j] - rowMax);
    p[o + j] = e;
    sum += e;
  }
  red[t] = sum;
  let inv = 1.0 / reduce(t, false);
  for (var j = t; j < keys; j += WG) { p[o + j] *= inv; }
  for (var j = keys + t; j < u.length; j += WG) { p[o + j] = 0.0; }
}
`;
}

export class AttentionMapsKernel implements AttentionMapsDeriver {
  private readonly pipelines = new Map<number, Promise<GPUComputePipeline>>();

  /** `maxPartBytes` caps a part of the output below the device's binding limit (tests use it to make parts). */
  constructor(
    private readonly device: () => Promise<GPUDevice>,
    private readonly maxPartBytes = Infinity,
  ) {}

  private pipeline(device: GPUDevice, headDim: number): Promise<GPUComputePipeline> {
    let p = this.pipelines.get(headDim);
    if (!p) {
      const module = device.createShaderModule({ code: attentionMapsWgsl(headDim), label: 'attention-maps' });
      p = device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: 'attention-maps' }).catch(async (e: Error) => {
        const { messages } = await module.getCompilationInfo();
        throw new Error(`the attention-maps kernel did not compile: ${[e.message, ...messages.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`)].join('; ')}`);
      });
      p.catch(() => this.pipelines.delete(headDim));
      this.pipelines.set(headDim, p);
    }
    return p;
  }

  async derive(a: AttentionInputs, rows: QueryRows = { first: 0, count: a.length }): Promise<Float32Array> {
    const device = await this.device();
    const pipeline = await this.pipeline(device, a.headDim);
    const { heads: H, length: T } = a;
    const rowBytes = T * 4;
    const perPart = Math.max(1, Math.min(MAX_GROUPS, Math.floor(Math.min(device.limits.maxStorageBufferBindingSize, this.maxPartBytes) / rowBytes)));
    const total = H * rows.count;
    const out = new Float32Array(total * T);
    const storage = (data: Float32Array, label: string) => {
      const b = device.createBuffer({ size: Math.max(4, data.byteLength), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, label });
      device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
      return b;
    };
    // The device may be onnxruntime's: a refusal of ours is caught here, never reported as its error.
    device.pushErrorScope('validation');
    const q = storage(a.q, 'maps-q');
    const k = storage(a.k, 'maps-k');
    const params = device.createBuffer({ size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'maps-params' });
    const probs = device.createBuffer({ size: Math.min(total, perPart) * rowBytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, label: 'maps-p' });
    const staging = device.createBuffer({ size: probs.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'maps-read' });
    let failed: unknown;
    try {
      const bindGroup = device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [q, k, probs, params].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      for (let part = 0; part < total; part += perPart) {
        const n = Math.min(perPart, total - part);
        const u = new ArrayBuffer(32);
        new Uint32Array(u, 0, 4).set([T, rows.first, rows.count, a.causal ? 1 : 0]);
        new Float32Array(u, 16, 1)[0] = a.scale;
        new Uint32Array(u, 20, 1)[0] = part;
        device.queue.writeBuffer(params, 0, u);
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(n);
        pass.end();
        enc.copyBufferToBuffer(probs, 0, staging, 0, n * rowBytes);
        device.queue.submit([enc.finish()]);
        await staging.mapAsync(GPUMapMode.READ, 0, n * rowBytes);
        out.set(new Float32Array(staging.getMappedRange(0, n * rowBytes)), part * T);
        staging.unmap();
      }
    } catch (e) {
      failed = e;
    }
    const refused = await device.popErrorScope();
    for (const b of [q, k, params, probs, staging]) b.destroy();
    if (refused) throw new Error(`the attention-maps kernel was refused by WebGPU: ${refused.message}`);
    if (failed) throw failed;
    return out;
  }

  async release(): Promise<void> {
    this.pipelines.clear();
  }
}

/// <reference types="@webgpu/types" />
/** Our WGSL flash attention as a benchmark kernel; GPU timestamps where the device has them. */
import { FlashAttention, type FlashBuffers } from '../flash/flashAttention.js';
import type { FlashTiles } from '../flash/flashWgsl.js';
import { tilesLabel } from '../flash/tiles.js';
import { type AttentionInputs, type KernelRunner, now } from './runner.js';
import type { BenchCase } from './types.js';

/** `tiles` forces a configuration; by default the adapter's first fitting one. */
export async function oursRunner(device: GPUDevice, c: BenchCase, inputs: AttentionInputs, useTimestamps = true, tiles?: FlashTiles): Promise<KernelRunner> {
  const fa = await FlashAttention.create(device, c, c.precision, tiles);
  const b: FlashBuffers = { q: fa.upload(inputs.q, 'q'), k: fa.upload(inputs.k, 'k'), v: fa.upload(inputs.v, 'v'), o: fa.outputBuffer() };
  const provider = `WGSL flash ${tilesLabel(fa.tiles)}`;
  const stamps = useTimestamps && device.features.has('timestamp-query') ? timestamps(device) : undefined;

  return {
    provider,
    timing: stamps ? 'gpu-timestamp' : 'queue-completion',
    extraBytes: 0,
    async run() {
      const enc = device.createCommandEncoder();
      const start = now();
      fa.encode(enc, b, stamps?.writes);
      stamps?.resolve(enc);
      device.queue.submit([enc.finish()]);
      if (stamps) return stamps.read();
      await device.queue.onSubmittedWorkDone();
      return now() - start;
    },
    output: () => fa.readOutput(b.o),
    async dispose() {
      for (const buf of Object.values(b)) buf.destroy();
      stamps?.destroy();
      fa.destroy();
    },
  };
}

/** Two timestamps around the compute pass, resolved and read back after each run. */
function timestamps(device: GPUDevice) {
  const set = device.createQuerySet({ type: 'timestamp', count: 2 });
  const resolved = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const readback = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  return {
    writes: { querySet: set, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } satisfies GPUComputePassTimestampWrites,
    resolve(enc: GPUCommandEncoder) {
      enc.resolveQuerySet(set, 0, 2, resolved, 0);
      enc.copyBufferToBuffer(resolved, 0, readback, 0, 16);
    },
    async read(): Promise<number> {
      await readback.mapAsync(GPUMapMode.READ);
      const [t0, t1] = new BigInt64Array(readback.getMappedRange());
      readback.unmap();
      return Number(t1 - t0) / 1e6;
    },
    destroy() {
      set.destroy();
      resolved.destroy();
      readback.destroy();
    },
  };
}

import { llamaLike } from './llamaLike';

/** Qwen2 / Qwen2.5: biases on q, k and v (none on o_proj or the MLP). */
export const qwen2 = llamaLike({ family: 'qwen2', title: 'a Qwen2 model', qkvBias: 'always', qkNorm: false, mlpBias: false, slidingWindow: 'use_sliding_window' });

import { llamaLike } from './llamaLike';

/** Qwen3: per-head RMSNorm of q and k before RoPE, an explicit head_dim (H·dh may differ from hidden_size). */
export const qwen3 = llamaLike({ family: 'qwen3', title: 'a Qwen3 model', qkvBias: 'attention_bias', qkNorm: true, mlpBias: false, slidingWindow: 'use_sliding_window' });

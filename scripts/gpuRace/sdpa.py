#!/usr/bin/python3
"""PyTorch side of the GPU race (scripts/gpuRace/run.sh).

time:    times torch.nn.functional.scaled_dot_product_attention on one (B, H, T, dh) shape, fp32, on CUDA
         when present (else the CPU), with PyTorch's own choice of kernel, with each SDPA backend that
         accepts the inputs, and the unfused fp32 attention in plain PyTorch ops (the `manual` of
         PyTorch); every output is checked against a float64 softmax(QKᵀ/√dh + mask)·V.
compare: puts `attention-inspector bench --json` reports of `ours` beside those timings.
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F

TOLERANCE = 1e-4  # the benchmark's fp32 agreement tolerance (kernels/bench/accounting.ts)


def attention_flops(b, h, t, d, causal):
    full = 4 * b * h * t * t * d
    return full / 2 if causal else full


def unfused(q, k, v, causal):
    s = q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5
    if causal:
        t = q.shape[-2]
        s = s.masked_fill(torch.ones(t, t, dtype=torch.bool, device=q.device).triu(1), float('-inf'))
    return torch.softmax(s, dim=-1) @ v


def reference(q, k, v, causal):
    return unfused(q.double(), k.double(), v.double(), causal)


def timed_runs(fn, device, warmup, runs):
    """Milliseconds per call: CUDA events around each call on a GPU, the wall clock on a CPU."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        if device.type == 'cuda':
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return times


def variants(causal):
    """(name, function of q, k, v) for PyTorch's default SDPA, each SDPA backend this torch knows, and
    the unfused ops; a variant this torch lacks is a function that says so."""
    def missing(q, k, v):
        raise RuntimeError(f'torch {torch.__version__} has no scaled_dot_product_attention')

    def sdpa(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

    def with_backend(backend):
        def run(q, k, v):
            with sdpa_kernel(backend):
                return sdpa(q, k, v)
        return run

    out = [('default', sdpa if hasattr(F, 'scaled_dot_product_attention') else missing)]
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
        out += [(n.lower(), with_backend(getattr(SDPBackend, n)))
                for n in ('FLASH_ATTENTION', 'EFFICIENT_ATTENTION', 'CUDNN_ATTENTION', 'MATH') if hasattr(SDPBackend, n)]
    except ImportError:
        pass
    return out + [('unfused', lambda q, k, v: unfused(q, k, v, causal))]


def time_sdpa(a):
    device = torch.device('cuda' if torch.cuda.is_available() and a.device != 'cpu' else 'cpu')
    g = torch.Generator(device='cpu').manual_seed(0)
    shape = (a.batch, a.heads, a.T, a.head_dim)
    q, k, v = (torch.rand(shape, generator=g).mul(2).sub(1).to(device) for _ in range(3))
    ref = reference(q, k, v, a.causal)
    flops = attention_flops(a.batch, a.heads, a.T, a.head_dim, a.causal)
    rows = []
    for name, fn in variants(a.causal):
        row = {'backend': name}
        try:
            o = fn(q, k, v)
            times = timed_runs(lambda: fn(q, k, v), device, a.warmup, a.runs)
        except RuntimeError as e:
            row['note'] = str(e).splitlines()[0][:160]
            rows.append(row)
            continue
        median = statistics.median(times)
        row.update(medianMs=median, minMs=min(times), maxMs=max(times), runs=len(times),
                   tflops=flops / (median * 1e-3) / 1e12, maxAbsDiff=(o.double() - ref).abs().max().item())
        row['agrees'] = row['maxAbsDiff'] <= TOLERANCE
        rows.append(row)
        if device.type == 'cuda':
            torch.cuda.empty_cache()
    return {
        'torch': torch.__version__,
        'device': torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu',
        'allowTf32': torch.backends.cuda.matmul.allow_tf32,
        'shape': {'batch': a.batch, 'heads': a.heads, 'seqLen': a.T, 'headDim': a.head_dim, 'causal': a.causal},
        'rows': rows,
    }


def read_json(path):
    with open(path) as f:
        return json.load(f)


def write_json(path, value):
    with open(path, 'w') as f:
        json.dump(value, f, indent=1)


def ours_row(report):
    rows = [r for r in report['rows'] if r['kernel'] == 'ours']
    if not rows:
        sys.exit('compare: no ours row in the bench report')
    return rows[0]


def compare(a):
    """The race line: ours against PyTorch's default SDPA; a run that disagrees counts as lost."""
    ours = [(path, ours_row(read_json(path))) for path in a.ours]
    sdpa = [(path, read_json(path)) for path in a.sdpa]
    lines = []
    for path, r in ours:
        state = f"{r['medianMs']:.3f} ms, {r['tflops']:.3g} TFLOP/s" if r['status'] == 'ok' else r['status'].upper()
        lines.append(f"ours ({path}, {r.get('timing')}): {state}, max |ΔO| {r.get('maxAbsDiff', float('nan')):.1e}; {r['provider']}")
    for path, s in sdpa:
        for r in s['rows']:
            if 'medianMs' in r:
                lines.append(f"torch {s['torch']} {r['backend']} ({path}, {s['device']}): {r['medianMs']:.3f} ms, {r['tflops']:.3g} TFLOP/s, max |ΔO| {r['maxAbsDiff']:.1e}{'' if r['agrees'] else ' DISAGREES'}")
            else:
                lines.append(f"torch {r['backend']} ({path}): not run: {r['note']}")
    best_ours = min((r['medianMs'] for _, r in ours if r['status'] == 'ok'), default=None)
    defaults = [r['medianMs'] for _, s in sdpa for r in s['rows'] if r['backend'] == 'default' and r.get('agrees')]
    result = {'oursMs': best_ours, 'sdpaDefaultMs': min(defaults) if defaults else None}
    if best_ours and defaults:
        result['ratio'] = min(defaults) / best_ours
        lines.append(f"race: SDPA default / ours = {result['ratio']:.2f} ({'ours faster' if result['ratio'] > 1 else 'SDPA faster'})")
    else:
        lines.append('race: not decided (no agreeing run of ours or of the default SDPA)')
    print('\n'.join(lines))
    if a.json:
        write_json(a.json, {'lines': lines, **result})


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='command', required=True)
    t = sub.add_parser('time')
    t.add_argument('--T', type=int, default=4096)
    t.add_argument('--heads', type=int, default=12)
    t.add_argument('--head-dim', type=int, default=64)
    t.add_argument('--batch', type=int, default=1)
    t.add_argument('--no-causal', dest='causal', action='store_false')
    t.add_argument('--warmup', type=int, default=10)
    t.add_argument('--runs', type=int, default=50)
    t.add_argument('--device', choices=['auto', 'cpu'], default='auto')
    t.add_argument('--json')
    c = sub.add_parser('compare')
    c.add_argument('--ours', nargs='+', required=True)
    c.add_argument('--sdpa', nargs='+', required=True)
    c.add_argument('--json')
    a = p.parse_args()
    if a.command == 'compare':
        compare(a)
        return
    result = time_sdpa(a)
    for r in result['rows']:
        print(json.dumps(r))
    if a.json:
        write_json(a.json, result)


if __name__ == '__main__':
    main()

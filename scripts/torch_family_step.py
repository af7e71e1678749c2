"""PyTorch peer for the decoder families (spec §7): one LLaMA-Adapter training step on PyTorch (CPU).

The same step as `bench` runs on a family shape (llama3.2-1b, qwen2.5-0.5b): forward of the frozen model with
adaption prompts in the top L layers (../shared/parity/families_ref.py, transformers' math for each family),
masked cross-entropy over the second half of every sequence (the prompt half masked, as bench scores it),
backward into the adapter only. Base weights are loaded with requires_grad False, so autograd forms activation
gradients only. Like every PyTorch training loop it computes the logits of every position.

usage: torch_family_step.py --model-dir DIR --parity-dir ../shared/parity [--batch 1 --seq 256
       --adapter-len 10 --adapter-layers 14 --steps 3 --warmup 1 --threads 2 --dtype f32 --seed 0]
Prints one JSON line: {"peer", "ms_per_step_median", "tokens_per_s", "peak_rss_mb", "loss", ...}.
"""
import argparse, json, os, resource, statistics, struct, sys, time

import torch
import torch.nn.functional as F


def load_safetensors(path):
    """F32/BF16 tensors of a safetensors file, read one at a time (peak RSS ~ the weights)."""
    dtypes = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}
    out = {}
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        header.pop("__metadata__", None)
        for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
            a, b = info["data_offsets"]
            dt = dtypes[info["dtype"]]
            t = torch.empty(info["shape"], dtype=torch.int16 if dt != torch.float32 else dt)
            f.seek(base + a)
            f.readinto(memoryview(t.numpy()).cast("B"))
            if dt != torch.float32:
                t = t.view(dt)
            out[name] = t.requires_grad_(False)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True); ap.add_argument("--parity-dir", required=True)
    ap.add_argument("--batch", type=int, default=1); ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--adapter-len", type=int, default=10); ap.add_argument("--adapter-layers", type=int, default=14)
    ap.add_argument("--steps", type=int, default=3); ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2); ap.add_argument("--dtype", default="f32", choices=["f32"])
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    sys.path.insert(0, os.path.abspath(a.parity_dir))
    import families_ref as FR  # noqa: E402

    c = json.load(open(os.path.join(a.model_dir, "config.json")))
    W = load_safetensors(os.path.join(a.model_dir, "model.safetensors"))
    B, T, K, L = a.batch, a.seq, a.adapter_len, a.adapter_layers
    D, H, N, V = c["hidden_size"], c["num_attention_heads"], c["num_hidden_layers"], c["vocab_size"]
    g = torch.Generator().manual_seed(a.seed)
    A = {"adapter_query.weight": (torch.randn(L * K, D, generator=g) * 0.02).requires_grad_(True)}
    for i in range(N - L, N):
        A[f"layers.{i}.attention.gate"] = (torch.randn(1, H, 1, 1, generator=g) * 0.1).requires_grad_(True)
    ids = torch.randint(0, V, (B, T), generator=g)
    labels = torch.randint(0, V, (B, T), generator=g)
    labels[:, : T // 2] = -100  # the prompt half, as bench masks it
    times, loss = [], None
    for s in range(a.warmup + a.steps):
        for p in A.values():
            p.grad = None
        t0 = time.perf_counter()
        logits = FR.forward(c, W, A, ids, K, L, "tanh")
        loss = F.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), ignore_index=-100)
        loss.backward()
        dt = time.perf_counter() - t0
        del logits
        if s >= a.warmup:
            times.append(dt * 1000.0)
    med = statistics.median(times)
    print(json.dumps({"peer": "torch-" + torch.__version__ + "-python-families", "ms_per_step_median": round(med, 2),
                      "tokens_per_s": round(B * T / (med / 1000.0), 2),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
                      "threads": torch.get_num_threads(), "batch": B, "seq": T, "adapter_len": K, "adapter_layers": L,
                      "ms_per_step_all": [round(t, 2) for t in times], "loss": round(loss.item(), 6)}))


if __name__ == "__main__":
    main()

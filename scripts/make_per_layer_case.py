"""Write a parity case with per-layer gates (train --gates per-layer / --peft): one trainable gate per
adapted layer, shared by its heads, as PEFT's adaption_prompt holds it. The reference is
../shared/parity/llama_adapter_ref.py unchanged: each layer's gate is a leaf of shape [1, 1, 1, 1] that is
EXPANDED to [1, H, 1, 1] before the reference's per-head forward, so autograd itself sums the heads'
gradients into it (nothing here restates that rule).

usage: make_per_layer_case.py OUTDIR --seed S [--dim 64 --ffn 172 --layers 3 --heads 4 --kv 2 --vocab 97
        --adapter-len 4 --adapter-layers 2 --gate tanh|identity --batch 2 --seq 9]
run with Debian's python3-torch: /usr/bin/python3 scripts/make_per_layer_case.py ...

OUTDIR/model/               frozen base model (config.json, model.safetensors)
OUTDIR/adapter.safetensors  adapter_query.weight [L*K, D]; layers.{i}.attention.gate F32 [1,H,1,1] holding the
                            layer's one value in every head; __metadata__ adapter_len, adapter_layers,
                            gate_activation, gates = per-layer
OUTDIR/batch.safetensors    input_ids, labels I32 [B,T]
OUTDIR/expected.safetensors logits [B,T,V], loss [1], grad.adapter_query.weight [L*K,D],
                            grad.layers.{i}.attention.gate [1,1,1,1]: the gradient of the layer's one gate
"""
import argparse, json, os, sys
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "parity"))
import llama_adapter_ref as R

ap = argparse.ArgumentParser()
ap.add_argument("out"); ap.add_argument("--seed", type=int, required=True)
ap.add_argument("--dim", type=int, default=64); ap.add_argument("--ffn", type=int, default=172)
ap.add_argument("--layers", type=int, default=3); ap.add_argument("--heads", type=int, default=4)
ap.add_argument("--kv", type=int, default=2); ap.add_argument("--vocab", type=int, default=97)
ap.add_argument("--adapter-len", type=int, default=4); ap.add_argument("--adapter-layers", type=int, default=2)
ap.add_argument("--gate", default="tanh"); ap.add_argument("--batch", type=int, default=2); ap.add_argument("--seq", type=int, default=9)
a = ap.parse_args()
torch.manual_seed(a.seed)
cfgd, W = R.random_model(a.seed, a.dim, a.ffn, a.layers, a.heads, a.kv, a.vocab, False, torch.float32, 10000.0)
os.makedirs(os.path.join(a.out, "model"), exist_ok=True)
json.dump(cfgd, open(os.path.join(a.out, "model", "config.json"), "w"), indent=2)
R.save_safetensors(os.path.join(a.out, "model", "model.safetensors"), W, {"format": "pt"})

K, L, N, H = a.adapter_len, a.adapter_layers, a.layers, a.heads
prompt = torch.randn(L * K, a.dim)
layer_gate = {i: torch.randn(1, 1, 1, 1) * 0.7 for i in range(N - L, N)}  # one raw gate per adapted layer
A = {"adapter_query.weight": prompt}
for i, g in layer_gate.items():
    A[f"layers.{i}.attention.gate"] = g.expand(1, H, 1, 1).clone()  # the file holds it in every head
R.save_safetensors(os.path.join(a.out, "adapter.safetensors"), A,
                   {"adapter_len": str(K), "adapter_layers": str(L), "gate_activation": a.gate, "gates": "per-layer"})

B, T = a.batch, a.seq
ids = torch.randint(0, a.vocab, (B, T))
labels = torch.roll(ids, -1, 1).clone(); labels[:, -1] = -100
labels[0, : T // 3] = -100          # a masked prompt span
if B > 1: labels[1, T // 2:] = -100  # padding-like tail
R.save_safetensors(os.path.join(a.out, "batch.safetensors"), {"input_ids": ids.int(), "labels": labels.int()})

cfg = R.Cfg(cfgd)
q = prompt.clone().requires_grad_(True)
leaves = {i: g.clone().requires_grad_(True) for i, g in layer_gate.items()}
Ag = {"adapter_query.weight": q}
for i, g in leaves.items():
    Ag[f"layers.{i}.attention.gate"] = g.expand(1, H, 1, 1)  # the per-head reference sees the shared value in each head
logits = R.forward(cfg, W, Ag, ids, K, L, a.gate)
loss = R.loss_fn(logits, labels)
loss.backward()
E = {"logits": logits.detach().float(), "loss": loss.detach().reshape(1).float(), "grad.adapter_query.weight": q.grad.detach().float()}
for i, g in leaves.items():
    E[f"grad.layers.{i}.attention.gate"] = g.grad.detach().float()  # [1,1,1,1]: the sum over heads, by autograd
R.save_safetensors(os.path.join(a.out, "expected.safetensors"), E)
print(f"{a.out}: loss={loss.item():.6f} |g_prompt|={q.grad.norm():.3e} gate grads " + " ".join(f"{g.grad.item():.4e}" for g in leaves.values()))

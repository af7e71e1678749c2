"""Reference figures for QuantizeMixTest: llama-quantize's round-trip error on deterministic weights.
usage: make_roundtrip_reference.py GGUF_PY_DIR LLAMA_QUANTIZE WORKDIR OUT.txt
Writes a small llama model (D=256, F=512, 2 layers, V=512, separate head) as F32 GGUF whose weights come from
a generator the Java test repeats exactly (FNV-1a of the tensor name seeds xorshift64*; value = (2u-1)^3 times a
per-row scale, one value in ~1024 eight times larger; float64 arithmetic rounded once to float32), quantizes it
with llama-quantize to each target, dequantizes with gguf-py, and writes per target and tensor:
  TARGET NAME NE0 NE1 TYPE SOURCE_SUMSQ LLAMA_SUMSQ_ERROR
so the test can check it generated the same weights and compare its own error tensor by tensor."""
import os, subprocess, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import gguf

quantize, work, out = sys.argv[2], sys.argv[3], sys.argv[4]
M64 = (1 << 64) - 1

def weights(name, rows, cols):
    h = 0xcbf29ce484222325
    for b in name.encode():
        h = ((h ^ b) * 0x100000001b3) & M64
    x = h or 1
    a = np.empty(rows * cols, dtype=np.float64)
    for i in range(rows * cols):
        x ^= x >> 12; x ^= (x << 25) & M64; x ^= x >> 27
        o = (x * 0x2545F4914F6CDD1D) & M64
        u = (o >> 11) * (1.0 / (1 << 53))
        t = 2 * u - 1
        v = t * t * t * (0.02 * (1 + (i // cols) % 5))
        if o & 1023 == 0: v *= 8
        a[i] = v
    return a.astype(np.float32).reshape(rows, cols)

D, F, N, V, H, HKV = 256, 512, 2, 512, 4, 2
shapes = [("token_embd.weight", V, D)]
for i in range(N):
    p = f"blk.{i}."
    shapes += [(p + "attn_q.weight", D, D), (p + "attn_k.weight", D * HKV // H, D), (p + "attn_v.weight", D * HKV // H, D),
               (p + "attn_output.weight", D, D), (p + "ffn_gate.weight", F, D), (p + "ffn_up.weight", F, D), (p + "ffn_down.weight", D, F)]
shapes += [("output.weight", V, D)]
os.makedirs(work, exist_ok=True)
src_path = os.path.join(work, "det-f32.gguf")
w = gguf.GGUFWriter(src_path, "llama")
w.add_context_length(256); w.add_embedding_length(D); w.add_block_count(N); w.add_feed_forward_length(F)
w.add_head_count(H); w.add_head_count_kv(HKV); w.add_layer_norm_rms_eps(1e-5); w.add_rope_dimension_count(D // H)
w.add_vocab_size(V); w.add_file_type(0)
src = {}
for n, r, c in shapes:
    src[n] = weights(n, r, c); w.add_tensor(n, src[n])
for i in range(N):
    w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(D, np.float32)); w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(D, np.float32))
w.add_tensor("output_norm.weight", np.ones(D, np.float32))
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
lines = []
for target in ["Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "Q4_0"]:
    q = os.path.join(work, f"det-{target}.gguf")
    subprocess.run([quantize, src_path, q, target, "1"], check=True, capture_output=True)
    for t in gguf.GGUFReader(q).tensors:
        if t.name not in src: continue
        x = src[t.name].astype(np.float64)
        y = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float64).reshape(x.shape)
        lines.append(f"{target} {t.name} {x.shape[1]} {x.shape[0]} {t.tensor_type.name} {float((x * x).sum())!r} {float(((y - x) ** 2).sum())!r}")
with open(out, "w") as f:
    f.write("# llama-quantize (llama.cpp b4747) round-trip error on deterministic weights: scripts/quant/make_roundtrip_reference.py\n")
    f.write("# TARGET NAME NE0 NE1 TYPE SOURCE_SUMSQ LLAMA_SUMSQ_ERROR\n")
    f.write("\n".join(lines) + "\n")
print(out, len(lines), "lines")

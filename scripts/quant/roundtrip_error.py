"""Round-trip error of quantized GGUF files against their F32 source, ours beside llama-quantize's.
usage: roundtrip_error.py GGUF_PY_DIR SOURCE_F32.gguf OURS.gguf LLAMA.gguf
Both files are dequantized by llama.cpp's gguf-py. Prints each tensor's types (which must agree), the RMS
error per tensor type (pooled over the tensors of that type) and overall, and the ratio ours / llama-quantize's."""
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import gguf

def load(path):
    return {t.name: (t.tensor_type.name, gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float64).reshape(-1))
            for t in gguf.GGUFReader(path).tensors}

src, ours, ref = (load(p) for p in sys.argv[2:5])
mismatch = [n for n in ref if n not in ours or ours[n][0] != ref[n][0]]
per_type = {}  # type -> [ours sq err, llama sq err, count]
for n, (t, w) in ref.items():
    if t == "F32": continue
    x = src[n][1]
    e = per_type.setdefault(t, [0.0, 0.0, 0])
    e[0] += float(((ours[n][1] - x) ** 2).sum()); e[1] += float(((w - x) ** 2).sum()); e[2] += x.size
tot = [sum(v[i] for v in per_type.values()) for i in range(3)]
diffs = ["%s ours %s llama %s" % (n, ours[n][0] if n in ours else "-", ref[n][0]) for n in mismatch]
print("types:", "same" if not mismatch else "DIFFER: " + ", ".join(diffs))
for t, (a, b, c) in sorted(per_type.items()) + [("all", tot)]:
    print(f"{t:6s} n={c:9d}  rms ours {np.sqrt(a / c):.6e}  llama-quantize {np.sqrt(b / c):.6e}  ratio {np.sqrt(a / b):.4f}")

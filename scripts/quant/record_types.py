"""Tensor types of llama-quantize's files, for QuantizeMixTest.
usage: record_types.py GGUF_PY_DIR MODEL_LABEL LAYERS HEAD(separate|tied) TARGET=FILE.gguf ...
prints: MODEL LAYERS HEAD TARGET NAME NE0 NE1 TYPE for every 2-D tensor."""
import sys
sys.path.insert(0, sys.argv[1])
import gguf
label, layers, head = sys.argv[2:5]
for arg in sys.argv[5:]:
    target, path = arg.split("=", 1)
    for t in gguf.GGUFReader(path).tensors:
        if len(t.shape) == 2:
            print(label, layers, head, target, t.name, int(t.shape[0]), int(t.shape[1]), t.tensor_type.name)

#!/usr/bin/env bash
# Regenerates the GGUF parity cases of the block formats under src/test/resources/parity/gguf/<TYPE>/:
# a small random llama model in Hugging Face layout, converted to an f32 GGUF by llama.cpp's converter,
# quantised by llama-quantize (b4747) to one type, then given an adapter, a batch and the expected numbers
# by ../shared/parity/make_gguf_case.py (the reference runs on the weights as gguf-py dequantises them).
#
# usage: scripts/make_quant_cases.sh [LLAMA_CPP_DIR]   (default ~/.cache/llama-adapter/llama.cpp-b4747,
#        built with llama-quantize in build/bin; see ../shared/peers/llamacpp/README.md)
#
# Sizes keep each case small (a few hundred KB): 2 layers (the adapter needs 2), vocabulary 512 (the
# stories260K tokenizer), one KV head, the output head tied to the embedding (as Llama 3.2 and Gemma ship). The K-quant and IQ4_XS cases need rows that are multiples of 256
# (dim 256, ffn 256); the 32-element formats need multiples of 32 (dim 128, ffn 256).
# Each case is --pure (every 2-D weight of the one type), except where a realistic mix holds only types
# the engine reads (see MIX below): the Q2_K and Q3_K_M mixes bring Q4_K/Q6_K in beside the type.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
LCPP=${1:-$HOME/.cache/llama-adapter/llama.cpp-b4747}
shared=$here/../shared
out=$here/src/test/resources/parity/gguf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

model() { # name dim ffn seed
    /usr/bin/python3 "$shared/parity/make_family_model.py" "$work/$1" llama --seed "$4" --dim "$2" --ffn "$3" \
        --layers 2 --heads 4 --kv 1 --tie --tokenizer "$shared/assets/stories260K/hf/tokenizer.model" >/dev/null
    /usr/bin/python3 "$shared/peers/llamacpp/convert_wrap.py" "$LCPP/convert_hf_to_gguf.py" "$work/$1" \
        --outtype f32 --outfile "$work/$1.f32.gguf" >/dev/null 2>&1
}

case_of() { # TYPE model seed llama-quantize-type [llama-quantize options...]
    local type=$1 m=$2 seed=$3 qtype=$4; shift 4
    "$LCPP/build/bin/llama-quantize" "$@" "$work/$m.f32.gguf" "$work/$type.gguf" "$qtype" 2 >"$work/$type.log" 2>&1 \
        || { cat "$work/$type.log"; exit 1; }
    rm -rf "${out:?}/$type" && mkdir -p "$out/$type"
    cp "$work/$type.gguf" "$out/$type/model.gguf"
    /usr/bin/python3 "$shared/parity/make_gguf_case.py" "$out/$type" "$out/$type/model.gguf" "$work/$m/config.json" \
        "$LCPP/gguf-py" --seed "$seed"
}

model k256 256 256 16
model k32 128 256 17
case_of Q2_K   k256 21 Q2_K            # the Q2_K mix: Q2_K, with Q3_K/Q4_K/Q6_K where llama-quantize spends more bits
case_of Q3_K   k256 22 Q3_K_M --pure   # --pure: the Q3_K_M mix puts Q5_K in (not read yet)
case_of IQ4_XS k256 23 IQ4_XS --pure
case_of IQ4_NL k32  24 IQ4_NL --pure
case_of Q4_1   k32  25 Q4_1 --pure
case_of Q5_0   k32  26 Q5_0 --pure
case_of Q5_1   k32  27 Q5_1 --pure
du -sh "$out"/*

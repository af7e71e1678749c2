#!/usr/bin/env bash
# Makes the family GGUF fixtures of src/test/resources/families-gguf (FamiliesGgufTest): for each family a tiny
# random model in Hugging Face layout (../shared/parity/make_family_model.py, stories260K's 512-token
# SentencePiece vocabulary) and the GGUF llama.cpp's converter (b4747, under ../shared/peers/llamacpp/convert_wrap.py)
# makes of it, F32. b4747's converter predates Qwen3, so qwen3 has the Hugging Face directory only (the test
# writes its GGUF with our own quantize). Run from the repository root:
#   scripts/make_family_gguf_fixtures.sh [LLAMA_CPP_DIR]
set -euo pipefail
LLAMACPP=${1:-$HOME/.cache/llama-adapter/llama.cpp-b4747}
SHARED=../shared
OUT=src/test/resources/families-gguf
TOK=$SHARED/assets/stories260K/hf/tokenizer.model
PY=/usr/bin/python3
SHAPE="--dim 32 --ffn 64 --layers 2 --heads 4 --kv 2"
rm -rf "$OUT"
mkdir -p "$OUT"
make() { # family, seed, extra config json
    local fam=$1 seed=$2 json=$3 dir=$OUT/$1
    $PY $SHARED/parity/make_family_model.py "$dir/hf" "$fam" --seed "$seed" $SHAPE --tokenizer "$TOK" --json "$json" >/dev/null
    if [ "$fam" != qwen3 ]; then
        $PY $SHARED/peers/llamacpp/convert_wrap.py "$LLAMACPP/convert_hf_to_gguf.py" "$dir/hf" --outtype f32 \
            --outfile "$dir/model.gguf" >"$dir/convert.log" 2>&1 || { cat "$dir/convert.log"; exit 1; }
        rm "$dir/convert.log"
    fi
}
# llama: Llama 3 RoPE (the converter writes rope_freqs.weight; it reads original_max_position_embeddings from the
# top level, 8192 when absent, so rope_scaling says 8192 too) and attention biases (q/k biases are permuted as q/k are)
make llama 11 '{"rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}, "attention_bias": true}'
# mistral: converted as llama; b4747's converter writes no sliding window, so the model has none
make mistral 12 '{}'
make qwen2 13 '{}'
make qwen3 14 '{}'
# phi3: the converter requires original_max_position_embeddings
make phi3 15 '{"original_max_position_embeddings": 512}'
make gemma2 16 '{}'
du -ab "$OUT" | sort -n | tail -20

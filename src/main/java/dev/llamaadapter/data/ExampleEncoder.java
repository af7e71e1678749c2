package dev.llamaadapter.data;

import dev.llamaadapter.tokenizer.Tokenizer;

import java.util.Arrays;

/**
 * Turns records into examples as the official recipe does (spec §3): the whole text prompt + output
 * is tokenized at once with BOS and EOS, cut at maxSeqLen, and the first len(BOS + prompt) tokens are
 * not scored as targets (unless scorePrompt). Tokenizing the prompt alone only finds that boundary.
 */
public final class ExampleEncoder {
    private final Tokenizer tokenizer;
    private final int maxSeqLen;
    private final boolean scorePrompt;

    public ExampleEncoder(Tokenizer tokenizer, int maxSeqLen, boolean scorePrompt) {
        if (maxSeqLen < 2) throw new IllegalArgumentException("--max-seq-len must be at least 2, got " + maxSeqLen);
        if (tokenizer.bosId() < 0 || tokenizer.eosId() < 0)
            throw new IllegalArgumentException("the tokenizer defines no BOS/EOS ids; training examples need both");
        this.tokenizer = tokenizer;
        this.maxSeqLen = maxSeqLen;
        this.scorePrompt = scorePrompt;
    }

    public Example encode(Instruction r) {
        String prompt = PromptTemplate.prompt(r);
        int[] promptIds = tokenizer.encode(prompt);
        int[] body = tokenizer.encode(prompt + r.output());
        int n = body.length + 2;
        int[] full = new int[n];
        full[0] = tokenizer.bosId();
        System.arraycopy(body, 0, full, 1, body.length);
        full[n - 1] = tokenizer.eosId();
        boolean truncated = n > maxSeqLen;
        int[] ids = truncated ? Arrays.copyOf(full, maxSeqLen) : full;
        int firstScored = scorePrompt ? 1 : 1 + promptIds.length; // index of the first scored target token
        int[] labels = new int[ids.length];
        for (int t = 0; t < ids.length; t++) {
            int target = t + 1;
            labels[t] = target < ids.length && target >= firstScored ? ids[target] : -100;
        }
        return new Example(ids, labels, truncated, r.where());
    }
}

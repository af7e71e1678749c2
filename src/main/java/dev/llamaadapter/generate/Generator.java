package dev.llamaadapter.generate;

import dev.llamaadapter.model.KvCache;
import dev.llamaadapter.model.PreparedPrompts;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.tokenizer.StreamDecoder;
import dev.llamaadapter.tokenizer.EndOfTurn;
import dev.llamaadapter.tokenizer.Tokenizer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Generation with a KV cache and continuous batching: every step() runs ONE cached forward over all
 * active sequences: whole prompts of newly admitted ones (processed in one pass) and the last token of
 * the others, each row through its own adapter or none. Sequences join when a cache slot is free and
 * leave when they stop, so one base model serves many adapters at once.
 *
 * <p>submit() may be called from any thread; step() from one thread at a time (the serving loop, or
 * generate() for a single caller).
 */
public final class Generator {

    /** Receives a sequence's output as it is produced. */
    public interface Sink {
        /** A new token; text is the printable text it completes (may be empty, e.g. inside a UTF-8 character). */
        void token(int id, String text);

        default void done(Result r) {}
    }

    /** A finished sequence. finishReason: "eos", "stop", "length" (max tokens or context), "error". */
    public record Result(String text, int[] tokenIds, int promptTokens, String finishReason, long promptNanos, long decodeNanos) {
        public double promptTokensPerS() {
            return promptNanos == 0 ? 0 : promptTokens / (promptNanos / 1e9);
        }

        public double decodeTokensPerS() {
            return decodeNanos == 0 ? 0 : tokenIds.length / (decodeNanos / 1e9);
        }
    }

    private final Transformer model;
    private final Tokenizer tokenizer; // may be null: ids only
    private final KvCache cache;
    private final Set<Integer> eos = new HashSet<>();
    private final int V;
    private final ArrayDeque<Sequence> pending = new ArrayDeque<>();
    private final List<Sequence> active = new ArrayList<>();
    private final boolean[] slotBusy;
    private final Transformer.Scratch scratch = new Transformer.Scratch();
    private float[] logits = new float[0]; // [rows, V]
    private final int sampledV;            // ids sampled from: [0, sampledV)

    public Generator(Transformer model, Tokenizer tokenizer, int slots, int maxSeq) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.cache = new KvCache(model.config, slots, maxSeq);
        this.slotBusy = new boolean[slots];
        this.V = model.config.vocabSize();
        // a model's vocabulary is often padded past its tokenizer's (Qwen2.5: 151,936 rows for 151,665 tokens):
        // ids the tokenizer cannot decode are never sampled
        this.sampledV = tokenizer != null && tokenizer.vocabSize() > 0 ? Math.min(V, tokenizer.vocabSize()) : V;
        // every end of turn the model declares or its vocabulary marks (eos_token_id lists, <|eot_id|>, <|im_end|>, <end_of_turn>)
        eos.addAll(EndOfTurn.ids(tokenizer, model.config.eosTokenIds()));
    }

    public int contextLength() {
        return cache.maxSeq;
    }

    public KvCache cache() {
        return cache;
    }

    /** One sequence being generated. */
    public final class Sequence {
        final int[] tokens;  // [maxSeq] prompt then generated
        int len;
        final int promptLen;
        final PreparedPrompts adapter;
        final SamplingParams params;
        final Sampler sampler;
        final Sink sink;
        final StreamDecoder decoder;
        final StringBuilder text = new StringBuilder();
        int emitted;         // chars of text already given to the sink
        int slot = -1;
        boolean prefilled;
        long promptNanos, decodeNanos;
        final List<Integer> generated = new ArrayList<>();
        public final CompletableFuture<Result> result = new CompletableFuture<>();
        volatile boolean cancelled;

        /** Stops the sequence at the next step (a client went away); its result ends with "cancelled". */
        public void cancel() {
            cancelled = true;
        }

        Sequence(int[] prompt, PreparedPrompts adapter, SamplingParams params, Sink sink) {
            this.tokens = Arrays.copyOf(prompt, cache.maxSeq);
            this.len = prompt.length;
            this.promptLen = prompt.length;
            this.adapter = adapter;
            this.params = params;
            this.sampler = new Sampler(params);
            this.sink = sink;
            this.decoder = tokenizer == null ? null : tokenizer.newStreamDecoder();
            // the generated text continues the prompt: a word-initial piece right after it keeps its
            // space (only the very first piece of a sequence loses SentencePiece's dummy prefix)
            if (decoder != null) for (int id : prompt) decoder.next(id);
        }
    }

    /** Queues a sequence; it joins the batch at the next step with a free slot. */
    public Sequence submit(int[] prompt, PreparedPrompts adapter, SamplingParams params, Sink sink) {
        if (prompt.length == 0) throw new IllegalArgumentException("the prompt is empty (give at least BOS)");
        if (prompt.length >= cache.maxSeq)
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens but the context holds " + cache.maxSeq
                    + " (prompt plus at least one generated token)");
        for (int id : prompt)
            if (id < 0 || id >= V) throw new IllegalArgumentException("prompt token id " + id + " is outside the vocabulary [0, " + V + ")");
        Sequence s = new Sequence(prompt, adapter, params, sink == null ? (id, t) -> {} : sink);
        if (params.maxTokens() == 0) {
            done(s, "length");
            return s;
        }
        synchronized (pending) {
            pending.add(s);
        }
        return s;
    }

    /** Sequences waiting for a slot plus those running. */
    public int load() {
        synchronized (pending) {
            return pending.size() + active.size();
        }
    }

    /** Runs one batched forward and samples one token for every active sequence. Returns whether work remains. */
    public boolean step() {
        synchronized (pending) {
            for (int s = 0; s < slotBusy.length && !pending.isEmpty(); s++) {
                if (slotBusy[s]) continue;
                Sequence q = pending.poll();
                q.slot = s;
                slotBusy[s] = true;
                active.add(q);
            }
        }
        for (Sequence q : List.copyOf(active))
            if (q.cancelled) {
                done(q, "cancelled");
                finish(q);
            }
        if (active.isEmpty()) {
            synchronized (pending) {
                return !pending.isEmpty();
            }
        }
        // rows: the whole prompt of new sequences, the last token of the others
        int M = 0;
        for (Sequence q : active) M += q.prefilled ? 1 : q.promptLen;
        int[] tok = new int[M], slot = new int[M], pos = new int[M], row = new int[M];
        PreparedPrompts[] who = new PreparedPrompts[M];
        int m = 0, r = 0;
        for (Sequence q : active) {
            int from = q.prefilled ? q.len - 1 : 0;
            for (int p = from; p < q.len; p++, m++) {
                tok[m] = q.tokens[p];
                slot[m] = q.slot;
                pos[m] = p;
                who[m] = q.adapter;
                row[m] = p == q.len - 1 ? r++ : -1;
            }
        }
        if (logits.length < r * V) logits = new float[r * V];
        long t0 = System.nanoTime();
        model.forwardCached(cache, M, tok, slot, pos, who, row, logits, scratch);
        long dt = System.nanoTime() - t0;
        List<Sequence> finished = new ArrayList<>();
        int i = 0;
        for (Sequence q : active) {
            if (q.prefilled) q.decodeNanos += dt;
            else {
                q.promptNanos = dt;
                q.prefilled = true;
            }
            int id = q.sampler.next(logits, (i++) * V, sampledV, q.tokens, q.len);
            if (advance(q, id)) finished.add(q);
        }
        for (Sequence q : finished) finish(q);
        synchronized (pending) {
            return !active.isEmpty() || !pending.isEmpty();
        }
    }

    /** Takes token id into q; true when q is done. */
    private boolean advance(Sequence q, int id) {
        SamplingParams p = q.params;
        if (p.stopAtEos() && eos.contains(id)) return done(q, "eos");
        q.tokens[q.len++] = id;
        q.generated.add(id);
        if (q.decoder != null) q.text.append(q.decoder.next(id));
        String stopped = null;
        if (!p.stop().isEmpty()) {
            int best = -1;
            for (String s : p.stop()) {
                int at = q.text.indexOf(s, Math.max(0, q.emitted - s.length()));
                if (at >= 0 && (best < 0 || at < best)) best = at;
            }
            if (best >= 0) {
                q.text.setLength(best);
                stopped = "stop";
            }
        }
        String reason = stopped != null ? stopped
                : q.generated.size() >= p.maxTokens() || q.len >= cache.maxSeq ? "length" : null;
        // hold back text that could still turn into a stop string
        int hold = 0;
        if (reason == null) for (String s : p.stop()) hold = Math.max(hold, s.length() - 1);
        int upto = Math.max(q.emitted, q.text.length() - hold);
        emit(q, id, q.text.substring(q.emitted, upto));
        q.emitted = upto;
        return reason != null && done(q, reason);
    }

    private boolean done(Sequence q, String reason) {
        if (q.decoder != null && !"stop".equals(reason)) q.text.append(q.decoder.finish());
        if (q.emitted < q.text.length()) {
            emit(q, -1, q.text.substring(q.emitted));
            q.emitted = q.text.length();
        }
        int[] ids = q.generated.stream().mapToInt(Integer::intValue).toArray();
        Result res = new Result(q.text.toString(), ids, q.promptLen, reason, q.promptNanos, q.decodeNanos);
        try {
            q.sink.done(res);
        } catch (RuntimeException e) {
            // a sink that fails (a closed connection) must not stop the other sequences
        }
        q.result.complete(res);
        return true;
    }

    /** Hands text to the sink; a sink that throws cancels its own sequence only. */
    private static void emit(Sequence q, int id, String text) {
        try {
            q.sink.token(id, text);
        } catch (RuntimeException e) {
            q.cancelled = true;
        }
    }

    private void finish(Sequence q) {
        active.remove(q);
        synchronized (pending) {
            slotBusy[q.slot] = false;
        }
    }

    /** Generates one sequence to the end on the calling thread. */
    public Result generate(int[] prompt, PreparedPrompts adapter, SamplingParams params, Sink sink) {
        Sequence s = submit(prompt, adapter, params, sink);
        while (!s.result.isDone()) step();
        return s.result.join();
    }
}

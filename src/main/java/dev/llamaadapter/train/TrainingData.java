package dev.llamaadapter.train;

import dev.llamaadapter.data.Example;
import dev.llamaadapter.data.ExampleEncoder;
import dev.llamaadapter.data.Instruction;
import dev.llamaadapter.data.InstructionFile;
import dev.llamaadapter.data.InstructionReader;
import dev.llamaadapter.data.chat.ChatExampleEncoder;
import dev.llamaadapter.data.chat.ChatTemplate;
import dev.llamaadapter.data.chat.Conversation;
import dev.llamaadapter.data.chat.ConversationFile;
import dev.llamaadapter.tokenizer.EndOfTurn;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.tokenizer.Tokenizer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A training run's data over an open base model: the records read (Alpaca-style instructions, or conversations
 * through the model's chat template for --format chat), the train/validation split, tokenization with what is
 * scored, and the configuration resolved from the options.
 */
public final class TrainingData {
    private TrainingData() {}

    /** Data, split, tokenization and the resolved configuration of a run over an open base model. */
    public record Prepared(TrainConfig cfg, List<Example> train, List<Example> val, List<String> empty, List<String> truncated,
                           List<String> unscored, int stepsPerEpoch, List<Instruction> trainRecords, List<Instruction> valRecords,
                           ChatTemplate chatTemplate) {}

    public static Prepared prepare(TrainingJob.Options o, BaseModel base) throws IOException {
        LlamaConfig c = base.config();
        Tokenizer tok = o.tokenizer() != null ? Tokenizer.load(o.tokenizer()) : base.tokenizer(); // HF dir, GGUF metadata or llama2.c tokenizer.bin
        if (tok.vocabSize() > c.vocabSize())
            throw new IOException("the tokenizer (" + (o.tokenizer() != null ? o.tokenizer() : o.model()) + ") has " + tok.vocabSize()
                    + " tokens but the model's vocab_size is " + c.vocabSize() + ": they do not belong together");

        List<Example> train = new ArrayList<>(), val = new ArrayList<>();
        List<String> empty = new ArrayList<>(), truncated = new ArrayList<>(), unscored = new ArrayList<>();
        List<Instruction> trainKept = new ArrayList<>(), valKept = new ArrayList<>();
        ChatTemplate template = null;
        if (o.chatTemplate() != null) { // --format chat: conversations through the model's own template
            template = ChatTemplate.load(o.chatTemplate());
            ConversationFile.Contents all = ConversationFile.read(o.data());
            empty.addAll(all.withoutAssistant());
            List<List<Conversation>> parts = split(all.records(), o);
            List<Conversation> valConvs = parts.get(1);
            if (o.valData() != null) {
                ConversationFile.Contents v = ConversationFile.read(o.valData());
                valConvs = v.records();
                empty.addAll(v.withoutAssistant());
            }
            ChatExampleEncoder enc = new ChatExampleEncoder(template, tok, EndOfTurn.ids(tok, c.eosTokenIds()), o.maxSeqLen(), o.scorePrompt());
            for (Conversation r : parts.get(0)) keep(enc.encode(r), train, truncated, unscored);
            for (Conversation r : valConvs) keep(enc.encode(r), val, truncated, unscored);
        } else {
            InstructionFile.Contents all = (o.reader() != null ? o.reader() : InstructionReader.ALPACA).read(o.data());
            empty.addAll(all.emptyOutputs());
            List<List<Instruction>> parts = split(all.records(), o);
            List<Instruction> valRecs = parts.get(1);
            if (o.valData() != null) {
                InstructionFile.Contents v = (o.valReader() != null ? o.valReader() : InstructionReader.ALPACA).read(o.valData());
                valRecs = v.records();
                empty.addAll(v.emptyOutputs());
            }
            ExampleEncoder enc = new ExampleEncoder(tok, o.maxSeqLen(), o.scorePrompt());
            for (Instruction r : parts.get(0)) if (keep(enc.encode(r), train, truncated, unscored)) trainKept.add(r);
            for (Instruction r : valRecs) if (keep(enc.encode(r), val, truncated, unscored)) valKept.add(r);
        }
        if (train.isEmpty()) throw new IOException(o.data() + ": no training example keeps a response token within --max-seq-len " + o.maxSeqLen());

        int N = c.numHiddenLayers();
        int L = o.adapterLayers() != null ? o.adapterLayers() : Math.max(1, N - 2);
        if (L > N) throw new IllegalArgumentException("--adapter-layers " + L + " exceeds the model's " + N + " layers");
        double lr = o.lr() != null ? o.lr() : LrSchedule.scaled(o.blr(), o.batchSize());
        TrainConfig cfg = new TrainConfig(o.epochs(), o.warmupEpochs(), o.batchSize(), o.microBatchSize(), lr, o.minLr(),
                o.weightDecay(), 0.9, 0.95, 1e-8, o.clipGrad(), o.adapterLen(), L, o.gateActivation(), o.maxSeqLen(), o.seed(),
                o.scorePrompt(), o.bucket(), 0, 0, o.lossNorm() != null ? o.lossNorm() : LossNorm.TOKENS, o.gates());
        int spe = Trainer.stepsPerEpoch(train, cfg);
        cfg = cfg.withIntervals(o.evalEvery() != null ? o.evalEvery() : spe, o.saveEvery() != null ? o.saveEvery() : spe);

        return new Prepared(cfg, train, val, empty, truncated, unscored, spe, trainKept, valKept, template);
    }

    /**
     * [train, validation]: without --val-data, a seeded choice of --val-split records is held out (training keeps
     * the file's order); with it, every record trains.
     */
    static <R> List<List<R>> split(List<R> records, TrainingJob.Options o) {
        if (o.valData() != null) return List.of(records, List.of());
        int n = records.size(), nVal = valCount(o.valSplit(), n);
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < n; i++) idx.add(i);
        java.util.Collections.shuffle(idx, new Random(o.seed() ^ 0x5eed));
        boolean[] isVal = new boolean[n];
        for (int i = 0; i < nVal; i++) isVal[idx.get(i)] = true;
        List<R> kept = new ArrayList<>(), held = new ArrayList<>();
        for (int i = 0; i < n; i++) (isVal[i] ? held : kept).add(records.get(i));
        return List.of(kept, held);
    }

    /** Adds an example that scores something; notes one that was cut or scores nothing. Whether it was kept. */
    private static boolean keep(Example e, List<Example> out, List<String> truncated, List<String> unscored) {
        if (e.truncated()) truncated.add(e.where());
        if (e.scored() == 0) {
            unscored.add(e.where());
            return false;
        }
        out.add(e);
        return true;
    }

    /** "200" = that many records; "0.05" = that share (a decimal point makes a fraction, below 1); "0" = none. */
    static int valCount(String split, int n) {
        if (split == null || split.isBlank()) return Math.min(200, (int) Math.round(n * 0.05));
        String s = split.strip();
        boolean fraction = s.contains(".") || s.contains("e") || s.contains("E");
        int k;
        try {
            if (fraction) {
                double v = Double.parseDouble(s);
                if (!(v >= 0 && v < 1))
                    throw new IllegalArgumentException("--val-split " + split + ": a fraction must be at least 0 and below 1 (0.05 = 5%); "
                            + "a count of records is a whole number (200)");
                k = (int) Math.round(n * v);
            } else {
                long c = Long.parseLong(s);
                if (c < 0) throw new IllegalArgumentException("--val-split " + split + " is negative: give a count of records (200), a fraction (0.05) or 0 for none");
                k = (int) Math.min(c, Integer.MAX_VALUE);
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--val-split '" + split + "': a count (200) or a fraction (0.05)");
        }
        if (k >= n) throw new IllegalArgumentException("--val-split " + split + " holds out " + k + " of the " + n + " records: that leaves no training data");
        return k;
    }
}

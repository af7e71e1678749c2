package dev.llamaadapter.tokenizer;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face {@code tokenizer.json} with a BPE model, run as the tokenizers library runs it: added tokens
 * are split out of the text first, then each remaining span is normalized, pre-tokenized into words, and
 * each word encoded by {@link HfBpe}. Covers both LLaMA styles: byte-level (Llama 3: a regex Split then
 * ByteLevel) and SentencePiece-style (Llama 2: ▁ via Prepend/Replace normalizers or a Metaspace
 * pre-tokenizer, with byte_fallback). Decoding follows the file's "decoder" section.
 *
 * <p>BOS/EOS come from {@code tokenizer_config.json} beside the file when it names them, otherwise from the
 * usual LLaMA token names.
 */
final class HfTokenizer extends AbstractTokenizer {

    private final AddedTokens added;
    private final UnaryOperator<String> normalizer;
    private final HfPipeline.PreTokenizer preTokenizer;
    private final HfBpe model;
    /** For {@link #minTokens}: the longest span of one symbol, or 0 when the pipeline allows no length bound. */
    private final int longestSymbol;
    /** The tokenizer.json tree it was built from (for writing the vocabulary into another format). */
    private JsonNode tree;

    private HfTokenizer(TokenTable table, Map<String, Integer> specials, int bos, int eos, int eot, AddedTokens added,
                        UnaryOperator<String> normalizer, HfPipeline.PreTokenizer preTokenizer, HfBpe model, boolean boundHolds) {
        super(table, specials, bos, eos, eot);
        this.added = added;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.model = model;
        this.longestSymbol = boundHolds ? model.longestSymbol() : 0;
    }

    static HfTokenizer load(Path file) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (JacksonException e) {
            throw new TokenizerException(file, "not valid JSON: " + e.getOriginalMessage(), e);
        }
        return build(root, file, readConfig(file.resolveSibling("tokenizer_config.json")));
    }

    /**
     * The tokenizer a tokenizer.json tree describes ({@code file} names the source in messages; {@code config},
     * the tokenizer_config.json tree or null, may name BOS and EOS). Other formats that carry the same
     * information (a GGUF "gpt2" vocabulary) are translated into such a tree and built here.
     */
    static HfTokenizer build(JsonNode root, Path file, JsonNode config) throws TokenizerException {
        if (root == null || !root.isObject()) throw new TokenizerException(file, "not a tokenizer.json (no top-level object)");
        JsonNode modelNode = root.path("model");
        if (!modelNode.isObject()) throw new TokenizerException(file, "tokenizer.json has no \"model\" section");
        // Older files leave out the model type; a BPE model is the one with merges.
        String type = modelNode.hasNonNull("type") ? modelNode.get("type").asText() : modelNode.has("merges") ? "BPE" : "(none)";
        if (!type.equals("BPE"))
            throw new TokenizerException(file, "tokenizer.json model type '" + type + "' is not supported (only BPE, which LLaMA models use)");
        HfBpe model = HfBpe.parse(modelNode, file);

        List<AddedTokens.Token> addedTokens = new ArrayList<>();
        int size = 0;
        for (int id : model.vocab.values()) size = Math.max(size, id + 1);
        for (JsonNode t : root.path("added_tokens")) {
            if (!t.path("id").canConvertToInt() || !t.path("content").isTextual())
                throw new TokenizerException(file, "added token " + t + " lacks an id or content");
            AddedTokens.Token token = new AddedTokens.Token(t.get("id").asInt(), t.get("content").asText(), t.path("special").asBoolean(false),
                    t.path("lstrip").asBoolean(false), t.path("rstrip").asBoolean(false), t.path("single_word").asBoolean(false));
            addedTokens.add(token);
            size = Math.max(size, token.id() + 1);
        }

        TokenTable table = decodingTable(root.path("decoder"), model, addedTokens, size, file);
        Map<String, Integer> specials = new HashMap<>();
        for (AddedTokens.Token t : addedTokens) if (t.special()) specials.put(t.content(), t.id());

        Map<String, Integer> byText = new HashMap<>(model.vocab);
        for (AddedTokens.Token t : addedTokens) byText.put(t.content(), t.id());
        int bos = namedToken(config, "bos_token", byText, "<s>", "<|begin_of_text|>", "<bos>");
        int eos = namedToken(config, "eos_token", byText, "</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>");
        Integer eot = byText.get("<|eot_id|>");
        JsonNode pre = root.get("pre_tokenizer");
        boolean boundHolds = HfPipeline.keepsAllText(pre) && model.givesEveryCharacterASymbol(HfPipeline.byteLevel(pre));
        HfTokenizer t = new HfTokenizer(table, specials, bos, eos, eot != null ? eot : eos, new AddedTokens(addedTokens),
                HfPipeline.normalizer(root.get("normalizer"), file), HfPipeline.preTokenizer(pre, file), model, boundHolds);
        t.tree = root;
        return t;
    }

    /** The tokenizer.json tree this tokenizer was built from. */
    JsonNode tree() {
        return tree;
    }

    @Override
    public int[] encode(String text) {
        IntList out = new IntList();
        for (AddedTokens.Segment seg : added.split(text)) {
            if (seg.tokenId() >= 0) {
                out.add(seg.tokenId());
                continue;
            }
            String norm = normalizer.apply(seg.text());
            if (norm.isEmpty()) continue;
            for (HfPipeline.Word w : preTokenizer.apply(List.of(new HfPipeline.Word(norm, seg.offset() == 0))))
                if (!w.text().isEmpty()) model.encodeWord(w.text(), out);
        }
        return out.toArray();
    }

    /**
     * An added token is one token; other text is normalized (which may shorten it, so the bound is taken
     * after), and when the pre-tokenizer keeps every character and the model gives each one a symbol, the
     * words' tokens are at least the normalized length over the longest symbol. Normalizing is linear; the
     * pre-tokenizer and BPE, the costly steps, do not run.
     */
    @Override
    public int minTokens(String text) {
        if (longestSymbol == 0) return 0;
        long tokens = 0;
        for (AddedTokens.Segment seg : added.split(text)) {
            if (seg.tokenId() >= 0) tokens++;
            else tokens += (normalizer.apply(seg.text()).length() + longestSymbol - 1) / longestSymbol;
        }
        return (int) Math.min(Integer.MAX_VALUE, tokens);
    }

    /**
     * What each id decodes to, from the "decoder" section: ByteLevel means tokens are bytes in GPT-2's table;
     * otherwise tokens are text where Replace/Metaspace turn ▁ into a space, ByteFallback turns {@code <0xNN>}
     * into a byte, and Strip (or Metaspace's prepend scheme) takes off the leading space.
     */
    private static TokenTable decodingTable(JsonNode decoder, HfBpe model, List<AddedTokens.Token> addedTokens, int size, Path file)
            throws TokenizerException {
        DecoderSteps steps = new DecoderSteps();
        steps.read(decoder, file);
        TokenTable table = new TokenTable(size, steps.byteLevel ? TokenTable.LeadingSpace.KEEP
                : steps.stripLeadingSpace ? TokenTable.LeadingSpace.STRIP_FIRST : TokenTable.LeadingSpace.KEEP, !steps.byteLevel);
        for (Map.Entry<String, Integer> e : model.vocab.entrySet()) setDecoded(table, e.getValue(), e.getKey(), steps, false);
        for (AddedTokens.Token t : addedTokens) {
            if (t.special()) table.setControl(t.id());
            else if (steps.byteLevel) table.setRaw(t.id(), t.content().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            // The decoder runs over added tokens as over any other: Gemma's whitespace-run tokens "▁▁", "▁▁▁"...
            // are added tokens, and must come back as spaces. Verbatim only keeps the leading-space rule off them.
            else setDecoded(table, t.id(), t.content(), steps, true);
        }
        return table;
    }

    /** Puts one token's decoded form in the table: its bytes (byte-level, or a byte-fallback {@code <0xNN>}) or its text after the replacements. */
    private static void setDecoded(TokenTable table, int id, String token, DecoderSteps steps, boolean verbatim) {
        if (steps.byteLevel) {
            table.setRaw(id, ByteLevel.decode(token));
        } else if (steps.byteFallback && isByteToken(token)) {
            table.setRaw(id, new byte[] {(byte) Integer.parseInt(token.substring(3, 5), 16)});
        } else {
            String text = token;
            for (int k = 0; k < steps.replacements.size(); k++)
                text = steps.replacements.get(k).matcher(text).replaceAll(Matcher.quoteReplacement(steps.replacementContents.get(k)));
            table.setText(id, text, verbatim);
        }
    }

    private static boolean isByteToken(String t) {
        return t.length() == 6 && t.startsWith("<0x") && t.charAt(5) == '>'
                && Character.digit(t.charAt(3), 16) >= 0 && Character.digit(t.charAt(4), 16) >= 0;
    }

    /** The decoder section, reduced to the few effects that matter for LLaMA files. */
    private static final class DecoderSteps {
        boolean byteLevel, byteFallback, stripLeadingSpace;
        final List<Pattern> replacements = new ArrayList<>();
        final List<String> replacementContents = new ArrayList<>();

        void read(JsonNode d, Path file) throws TokenizerException {
            if (d == null || d.isNull() || d.isMissingNode()) return;
            String type = d.path("type").asText();
            switch (type) {
                case "Sequence" -> { for (JsonNode child : d.path("decoders")) read(child, file); }
                case "ByteLevel" -> byteLevel = true;
                case "ByteFallback" -> byteFallback = true;
                case "Fuse" -> { } // joining the tokens' strings: what decoding does anyway
                case "Replace" -> {
                    replacements.add(HfPipeline.pattern(d.path("pattern"), file));
                    replacementContents.add(d.path("content").asText());
                }
                case "Strip" -> {
                    if (d.path("start").asInt(0) > 0 && d.path("content").asText(" ").equals(" ")) stripLeadingSpace = true;
                    if (d.path("stop").asInt(0) > 0) throw new TokenizerException(file, "Strip decoder with stop > 0 is not supported");
                }
                case "Metaspace" -> {
                    replacements.add(Pattern.compile(Pattern.quote(d.path("replacement").asText("\u2581"))));
                    replacementContents.add(" ");
                    String scheme = d.hasNonNull("prepend_scheme") ? d.get("prepend_scheme").asText()
                            : d.path("add_prefix_space").asBoolean(true) ? "always" : "never";
                    if (!scheme.equals("never")) stripLeadingSpace = true;
                }
                default -> throw new TokenizerException(file, "decoder type '" + type + "' is not supported");
            }
        }
    }

    private static JsonNode readConfig(Path config) {
        if (!Files.isRegularFile(config)) return null;
        try {
            return new ObjectMapper().readTree(config.toFile());
        } catch (IOException e) {
            return null; // the config only refines BOS/EOS; without it the usual names still work
        }
    }

    /** The id of the token that tokenizer_config.json names under {@code key} (a string or {"content": ...}), else of the first known name. */
    private static int namedToken(JsonNode config, String key, Map<String, Integer> byText, String... fallbacks) {
        if (config != null && config.hasNonNull(key)) {
            JsonNode v = config.get(key);
            String name = v.isTextual() ? v.asText() : v.path("content").asText(null);
            if (name != null && byText.containsKey(name)) return byText.get(name);
        }
        for (String name : fallbacks) if (byText.containsKey(name)) return byText.get(name);
        return -1;
    }
}

package dev.llamaadapter.cli;

import dev.llamaadapter.generate.ContextLength;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llamaadapter.adapter.AdapterFile;
import dev.llamaadapter.adapter.AdapterFormats;
import dev.llamaadapter.data.chat.ChatTemplate;
import dev.llamaadapter.data.PromptTemplate;
import dev.llamaadapter.generate.Generator;
import dev.llamaadapter.generate.SamplingParams;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.vision.ClipVision;
import dev.llamaadapter.vision.MultimodalCompleter;
import dev.llamaadapter.vision.VisualAdapter;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.tokenizer.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** Generates text from a prompt, streaming it, with or without an adapter. */
@Command(name = "generate", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Generate text with the base model or an adapter (KV cache, streamed).")
public final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "base model: a Hugging Face directory, a .gguf file or a llama2.c .bin checkpoint") Path model;
    @Option(names = "--adapter", description = "adapter: native .safetensors, official .pth or a PEFT adaption_prompt directory") Path adapter;
    @Option(names = "--gate-activation", converter = TrainCommand.GateConverter.class,
            description = "tanh | identity: overrides the adapter's") dev.llamaadapter.model.GateActivation gateActivation;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--prompt", description = "raw prompt text (BOS is added)") String prompt;
        @Option(names = "--prompt-ids", split = ",", description = "prompt token ids, e.g. 1,403,407 (no tokenizer needed)") int[] ids;
        @Option(names = "--instruction", description = "an instruction, wrapped in the training template (BOS added)") String instruction;
        @Option(names = "--chat", paramLabel = "MESSAGE", description = "a user message, rendered as the adapter was trained: with the chat "
                + "template it records (train --format chat), else in the Alpaca template as --instruction") String chat;
    }

    @Option(names = "--input", description = "the instruction's input (with --instruction)") String instructionInput;
    @Option(names = "--max-tokens", defaultValue = "256", description = "default ${DEFAULT-VALUE}") int maxTokens;
    @Option(names = "--greedy", description = "always the most likely token") boolean greedy;
    @Option(names = "--temperature", defaultValue = "0.8", description = "default ${DEFAULT-VALUE}") double temperature;
    @Option(names = "--top-k", defaultValue = "0", description = "0 = off (default)") int topK;
    @Option(names = "--top-p", defaultValue = "0.95", description = "default ${DEFAULT-VALUE}") double topP;
    @Option(names = "--repetition-penalty", defaultValue = "1.0", description = "1 = off (default)") double repetitionPenalty;
    @Option(names = "--seed", defaultValue = "0", description = "sampling seed (default ${DEFAULT-VALUE})") long seed;
    @Option(names = "--stop", description = "stop when this text appears (repeatable)") List<String> stop;
    @Option(names = "--ignore-eos", description = "keep going past end-of-sequence") boolean ignoreEos;
    @Option(names = "--context", description = "positions: prompt plus generated tokens (default: the model's max_position_embeddings, else 2048)") Integer context;
    @Option(names = "--image", description = "an image (PNG, JPEG, BMP) the answer is about: needs a multimodal adapter and --vision") Path image;
    @Option(names = "--vision", description = "the CLIP vision tower of the multimodal adapter (Hugging Face CLIPVisionModel or CLIP directory)") Path vision;
    @Option(names = "--no-image", description = "use a multimodal adapter without an image (its text-only prompts)") boolean noImage;
    @Option(names = "--json", description = "print one JSON object: text, token_ids, prompt_tokens, finish_reason, timing") boolean json;

    /** Where output goes: stdout, or a buffer in tests. */
    PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);

    /** Runs the command with these arguments and returns what it printed (tests). */
    static String runForTest(String... args) {
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        GenerateCommand c = new GenerateCommand();
        c.out = new PrintStream(buf, true, StandardCharsets.UTF_8);
        int rc = new picocli.CommandLine(c).execute(args);
        if (rc != 0) throw new IllegalStateException("generate exited with " + rc);
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Override
    public Integer call() throws Exception {
        try (BaseModel base = BaseModel.open(model)) {
            Tokenizer tok = Cli.tokenizerOrNull(base);
            AdapterFile.Adapter trained = adapter == null ? null : AdapterFormats.read(adapter, base, gateActivation);
            // the adapter's recorded template; without an adapter, the base model's own (an instruct model's)
            ChatTemplate template = trained == null ? ChatTemplate.ofModel(base.dir()) : ChatTemplate.fromMetadata(trained.metadata(), adapter);
            int[] prompt;
            if (input.ids != null) prompt = input.ids;
            else if (input.chat != null && template != null) {
                if (tok == null) throw new IllegalArgumentException(model + ": no tokenizer found; --chat needs one");
                prompt = template.promptIds(tok, List.of(Map.of("role", "user", "content", input.chat))); // BOS as the template writes it
            } else {
                if (tok == null) throw new IllegalArgumentException(model + ": no tokenizer found; give --prompt-ids instead");
                String text = input.prompt != null ? input.prompt
                        : PromptTemplate.prompt(input.chat != null ? input.chat : input.instruction, instructionInput);
                int[] body = tok.encode(text);
                prompt = new int[body.length + 1];
                prompt[0] = tok.bosId() >= 0 ? tok.bosId() : 1;
                System.arraycopy(body, 0, prompt, 1, body.length);
            }
            if (instructionInput != null && input.instruction == null) throw new IllegalArgumentException("--input goes with --instruction");
            Transformer t = base.transformer();
            AdaptionPrompts ap = trained == null ? null : trained.prompts();
            if (image != null && (ap == null || ap.visual == null))
                throw new IllegalArgumentException("--image needs a multimodal adapter (with visual_proj)" + (adapter == null ? "" : ": " + adapter + " is text-only"));
            if (image != null && noImage) throw new IllegalArgumentException("--image and --no-image exclude each other");
            if (ap != null && ap.visual != null && image == null && !noImage)
                throw new IllegalArgumentException(adapter + ": a multimodal adapter (visual_layers " + ap.visual.layersString()
                        + "): give --image FILE and --vision DIR, or --no-image to answer without one");
            if (image != null && vision == null)
                throw new IllegalArgumentException(adapter + ": a multimodal adapter (visual_layers " + ap.visual.layersString()
                        + "): --image needs its CLIP vision tower, --vision DIR");
            if (vision != null && image == null) throw new IllegalArgumentException("--vision goes with --image");
            SamplingParams sp = new SamplingParams(greedy ? 0 : temperature, topK, topP, repetitionPenalty, seed, maxTokens, stop, !ignoreEos);
            int window = ContextLength.resolve(context, "--context", base.config(), System.err::println);
            ContextLength.checkPrompt(prompt.length, window, context != null ? "--context" : "the model's context");
            int ctx = Math.min(window, Math.max(prompt.length + maxTokens, 16)); // the cache holds what this run can use, not the whole window
            Generator.Result r;
            try (ClipVision tower = vision == null ? null : ClipVision.open(vision)) {
                if (tower != null) VisualAdapter.check(ap, adapter, tower);
                MultimodalCompleter mc = new MultimodalCompleter(t, tok, ap, tower, Math.max(ctx, prompt.length + 1));
                r = mc.complete(prompt, image, sp, json ? null : (id, text) -> {
                    out.print(text);
                    out.flush();
                });
            }
            if (json) {
                ObjectMapper m = new ObjectMapper();
                ObjectNode n = m.createObjectNode().put("text", r.text());
                var arr = n.putArray("token_ids");
                for (int id : r.tokenIds()) arr.add(id);
                n.put("prompt_tokens", r.promptTokens()).put("completion_tokens", r.tokenIds().length).put("finish_reason", r.finishReason())
                        .put("prompt_ms", r.promptNanos() / 1e6).put("decode_ms", r.decodeNanos() / 1e6)
                        .put("prompt_tokens_per_s", r.promptTokensPerS()).put("decode_tokens_per_s", r.decodeTokensPerS());
                out.println(m.writeValueAsString(n));
            } else {
                out.println();
                System.err.printf(Locale.ROOT, "[%d prompt tokens at %.1f tok/s, %d generated at %.1f tok/s, %s]%n", r.promptTokens(),
                        r.promptTokensPerS(), r.tokenIds().length, r.decodeTokensPerS(), r.finishReason());
            }
            return 0;
        }
    }
}

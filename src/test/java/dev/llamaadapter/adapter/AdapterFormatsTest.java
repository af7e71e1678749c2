package dev.llamaadapter.adapter;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llamaadapter.adapter.AdapterFormats.Format;
import dev.llamaadapter.io.SafeTensors;
import dev.llamaadapter.io.SafeTensorsWriter;
import dev.llamaadapter.io.torch.TorchUnpickler;
import dev.llamaadapter.io.torch.TorchZip;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The interop formats (spec §4): official .pth and PEFT adaption_prompt read into the same engine tensors
 * as the native file of the interop-identity case; PEFT and official files written here have the other
 * tools' exact layout and round-trip; and every way they can be broken gives an error naming the file.
 */
class AdapterFormatsTest {
    static final Path CASE = Path.of("src/test/resources/parity/interop-identity");
    static final Path NATIVE = CASE.resolve("adapter.safetensors");
    static final Path OFFICIAL = CASE.resolve("formats/official.pth");
    static final Path PEFT = CASE.resolve("formats/peft");

    static BaseModel base;

    @TempDir
    Path tmp;

    @BeforeAll
    static void open() throws Exception {
        base = BaseModel.open(CASE.resolve("model"));
    }

    @AfterAll
    static void close() {
        base.close();
    }

    static AdaptionPrompts nativePrompts() throws Exception {
        return AdapterFile.read(NATIVE, base).prompts();
    }

    static void assertSame(AdaptionPrompts got, AdaptionPrompts want) {
        assertThat(got.adapterLen).isEqualTo(want.adapterLen);
        assertThat(got.adapterLayers).isEqualTo(want.adapterLayers);
        assertThat(got.dim).isEqualTo(want.dim);
        assertThat(got.heads).isEqualTo(want.heads);
        assertThat(got.gateActivation).isEqualTo(want.gateActivation);
        assertThat(got.prompt).containsExactly(want.prompt);
        assertThat(got.gate).containsExactly(want.gate);
    }

    @Test
    void detectTellsTheFormatsApart() throws Exception {
        assertThat(AdapterFormats.detect(NATIVE)).isEqualTo(Format.NATIVE);
        assertThat(AdapterFormats.detect(OFFICIAL)).isEqualTo(Format.OFFICIAL);
        assertThat(AdapterFormats.detect(PEFT)).isEqualTo(Format.PEFT);
        assertThat(AdapterFormats.detect(PEFT.resolve("adapter_model.safetensors"))).isEqualTo(Format.PEFT);
        assertThatThrownBy(() -> AdapterFormats.detect(CASE.resolve("model"))).hasMessageContaining("model directory");
        assertThatThrownBy(() -> AdapterFormats.detect(tmp)).hasMessageContaining(tmp.toString()).hasMessageContaining("adapter_config.json");
    }

    @Test
    void officialPthGivesTheNativeAdapterWithIdentityGates() throws Exception {
        AdapterFormats.Loaded l = AdapterFormats.load(OFFICIAL, base, null);
        assertThat(l.format()).isEqualTo(Format.OFFICIAL);
        assertSame(l.prompts(), nativePrompts());
        assertThat(l.prompts().adapterLen).isEqualTo(3);
        assertThat(l.prompts().adapterLayers).isEqualTo(2);
        assertThat(l.adapter().metadata()).containsEntry("format", "official").containsEntry("gate_activation", "identity");
    }

    @Test
    void peftDirectoryGivesTheNativeAdapter() throws Exception {
        AdapterFormats.Loaded l = AdapterFormats.load(PEFT, base, null);
        assertThat(l.format()).isEqualTo(Format.PEFT);
        assertSame(l.prompts(), nativePrompts());
        assertThat(l.adapter().metadata()).containsEntry("peft_type", "ADAPTION_PROMPT").containsEntry("format", "peft");
        // the weights file itself names the PEFT adapter too
        assertSame(AdapterFormats.read(PEFT.resolve("adapter_model.safetensors"), base, null).prompts(), nativePrompts());
    }

    @Test
    void peftBinWeightsAreReadThroughTheRestrictedUnpickler() throws Exception {
        AdaptionPrompts p = nativePrompts();
        Path d = Files.createDirectories(tmp.resolve("peft-bin"));
        Files.copy(PEFT.resolve("adapter_config.json"), d.resolve("adapter_config.json"));
        Map<String, dev.llamaadapter.io.torch.TorchZipWriter.FloatTensor> t = new java.util.LinkedHashMap<>();
        for (int j = 0; j < 2; j++) {
            float[] rows = Arrays.copyOfRange(p.prompt, j * 3 * 64, (j + 1) * 3 * 64);
            t.put(PeftAdapter.promptKey(1 + j), new dev.llamaadapter.io.torch.TorchZipWriter.FloatTensor(new long[]{1, 3, 64}, rows));
            t.put(PeftAdapter.gateKey(1 + j), new dev.llamaadapter.io.torch.TorchZipWriter.FloatTensor(new long[]{1}, new float[]{p.gate[j * 4]}));
        }
        dev.llamaadapter.io.torch.TorchZipWriter.write(d.resolve("adapter_model.bin"), t);
        assertThat(AdapterFormats.detect(d.resolve("adapter_model.bin"))).isEqualTo(Format.PEFT);
        assertSame(AdapterFormats.read(d, base, null).prompts(), p);
        assertThat(AdapterFormats.describe(d).container()).startsWith("torch.save zip");
    }

    @Test
    void gateActivationIsOverridable() throws Exception {
        assertThat(AdapterFormats.read(OFFICIAL, base, GateActivation.TANH).prompts().gateActivation).isEqualTo(GateActivation.TANH);
        assertThat(AdapterFormats.read(PEFT, base, GateActivation.TANH).prompts().gateActivation).isEqualTo(GateActivation.TANH);
        AdapterFile.Adapter a = AdapterFormats.read(NATIVE, base, GateActivation.TANH);
        assertThat(a.prompts().gateActivation).isEqualTo(GateActivation.TANH);
        assertThat(a.prompts().gate).containsExactly(nativePrompts().gate);
        assertThat(a.metadata().get(AdapterFormats.GATE_ACTIVATION_SOURCE)).contains("override");
    }

    @Test
    void withoutABaseOfficialAndNativeInferTheirShapeButPeftNeedsTheHeads() throws Exception {
        AdapterFormats.Loaded o = AdapterFormats.load(OFFICIAL, null, null);
        assertThat(o.nLayers()).isEqualTo(3);
        assertSame(o.prompts(), nativePrompts());
        AdapterFormats.Loaded n = AdapterFormats.load(NATIVE, null, null);
        assertThat(n.nLayers()).isEqualTo(3);
        assertSame(n.prompts(), nativePrompts());
        assertThatThrownBy(() -> AdapterFormats.load(PEFT, null, null)).hasMessageContaining("adapter_model.safetensors")
                .hasMessageContaining("--model").hasMessageContaining("heads");
    }

    // --- writing PEFT ---

    @Test
    void peftWrittenHereHasPeftsKeysShapesAndConfigFieldsAndRoundTrips() throws Exception {
        Path out = tmp.resolve("peft-out");
        List<String> notes = AdapterFormats.write(Format.PEFT, out, nativePrompts(), 3, Map.of(), "my/base");
        assertThat(notes).isEmpty();
        assertPeftLayout(out, 3, 64, 3, 2, "my/base");
        try (SafeTensors st = SafeTensors.open(out.resolve("adapter_model.safetensors"))) {
            // same tensors as the reference PEFT export of this case
            try (SafeTensors ref = SafeTensors.open(PEFT.resolve("adapter_model.safetensors"))) {
                assertThat(st.names()).containsExactlyInAnyOrderElementsOf(ref.names());
                for (String n : ref.names()) {
                    assertThat(st.info(n).shape()).as(n).containsExactly(ref.info(n).shape());
                    assertThat(st.floats(n)).as(n).containsExactly(ref.floats(n));
                }
            }
        }
        assertSame(AdapterFormats.read(out, base, null).prompts(), nativePrompts());
    }

    /**
     * PEFT's exact layout of an adaption_prompt directory written here (K prompts of D, the top L of N layers):
     * its two files, its tensor names, shapes, dtype and metadata, and adapter_config.json's fields, values and
     * json.dumps layout, every field the same as in the reference PEFT export except the ones of this adapter.
     */
    static void assertPeftLayout(Path out, int K, int D, int N, int L, String baseName) throws Exception {
        assertThat(Files.list(out).map(p -> p.getFileName().toString()).sorted().toList())
                .containsExactly("adapter_config.json", "adapter_model.safetensors");
        try (SafeTensors st = SafeTensors.open(out.resolve("adapter_model.safetensors"))) {
            List<String> names = new java.util.ArrayList<>();
            for (int i = N - L; i < N; i++)
                names.addAll(List.of("base_model.model.model.layers." + i + ".self_attn.adaption_prompt", "base_model.model.model.layers." + i + ".self_attn.adaption_gate"));
            assertThat(st.names()).containsExactlyInAnyOrderElementsOf(names);
            assertThat(st.metadata()).containsExactly(Map.entry("format", "pt"));
            for (int i = N - L; i < N; i++) {
                assertThat(st.info("base_model.model.model.layers." + i + ".self_attn.adaption_prompt").shape()).containsExactly(1, K, D);
                assertThat(st.info("base_model.model.model.layers." + i + ".self_attn.adaption_gate").shape()).containsExactly(1);
                assertThat(st.info("base_model.model.model.layers." + i + ".self_attn.adaption_gate").dtype()).isEqualTo(DType.F32);
            }
        }
        String json = Files.readString(out.resolve("adapter_config.json"));
        JsonNode cfg = new ObjectMapper().readTree(json);
        assertThat(new TreeSet<>(iterable(cfg.fieldNames()))).containsExactly("adapter_layers", "adapter_len", "auto_mapping",
                "base_model_name_or_path", "inference_mode", "peft_type", "peft_version", "revision", "target_modules", "task_type");
        assertThat(cfg.get("peft_type").asText()).isEqualTo("ADAPTION_PROMPT");
        assertThat(cfg.get("adapter_len").asInt()).isEqualTo(K);
        assertThat(cfg.get("adapter_layers").asInt()).isEqualTo(L);
        assertThat(cfg.get("target_modules").asText()).isEqualTo("self_attn");
        assertThat(cfg.get("task_type").asText()).isEqualTo("CAUSAL_LM");
        assertThat(cfg.get("inference_mode").asBoolean()).isTrue();
        assertThat(cfg.get("base_model_name_or_path").asText()).isEqualTo(baseName);
        assertThat(cfg.get("revision").isNull()).isTrue();
        assertThat(cfg.get("auto_mapping").isNull()).isTrue();
        // Python's json.dumps(indent=2, sort_keys=True) layout
        assertThat(json).startsWith("{\n  \"adapter_layers\": " + L + ",\n  \"adapter_len\": " + K + ",\n  \"auto_mapping\": null,\n").endsWith("\n}");
        // every field of the reference config is there with the same value, except this adapter's own
        JsonNode ref = new ObjectMapper().readTree(PEFT.resolve("adapter_config.json").toFile());
        for (String f : iterable(ref.fieldNames()))
            if (!List.of("base_model_name_or_path", "adapter_len", "adapter_layers").contains(f)) assertThat(cfg.get(f)).as(f).isEqualTo(ref.get(f));
    }

    @Test
    void peftRefusesPerHeadGatesThatDiffer() throws Exception {
        AdaptionPrompts p = nativePrompts();
        p.gate[p.heads + 2] += 0.5f; // layer 2, head 2
        Path out = tmp.resolve("peft-bad");
        assertThatThrownBy(() -> AdapterFormats.write(Format.PEFT, out, p, 3, Map.of(), null))
                .hasMessageContaining(out.toString()).hasMessageContaining("layer 2").hasMessageContaining("one scalar gate per layer");
        assertThat(out.resolve("adapter_model.safetensors")).doesNotExist();
    }

    @Test
    void tanhGatesAreWrittenAsTheirValuesForFormatsWithoutActivation() throws Exception {
        AdaptionPrompts p = AdapterFormats.withActivation(nativePrompts(), GateActivation.TANH);
        Path peft = tmp.resolve("peft-tanh"), pth = tmp.resolve("tanh.pth");
        assertThat(AdapterFormats.write(Format.PEFT, peft, p, 3, Map.of(), null)).singleElement().asString().contains("tanh(g)");
        assertThat(AdapterFormats.write(Format.OFFICIAL, pth, p, 3, Map.of(), null)).singleElement().asString().contains("tanh(g)");
        for (Path f : List.of(peft, pth)) {
            AdaptionPrompts q = AdapterFormats.read(f, base, null).prompts();
            assertThat(q.gateActivation).isEqualTo(GateActivation.IDENTITY);
            for (int i = 0; i < p.gate.length; i++) assertThat(q.gate[i]).isEqualTo((float) Math.tanh(p.gate[i]));
            assertThat(q.prompt).containsExactly(p.prompt);
        }
    }

    // --- writing official ---

    @Test
    void officialWrittenHereIsATorchSaveZipAndRoundTrips() throws Exception {
        Path out = tmp.resolve("out.pth");
        AdapterFormats.write(Format.OFFICIAL, out, nativePrompts(), 3, Map.of(), null);
        byte[] bytes = Files.readAllBytes(out);
        List<String> names = new ArrayList<>();
        // a strict sequential read checks local headers and CRCs
        try (ZipInputStream zin = new ZipInputStream(new ByteArrayInputStream(bytes))) {
            for (ZipEntry e; (e = zin.getNextEntry()) != null; ) {
                names.add(e.getName());
                assertThat(e.getMethod()).isEqualTo(ZipEntry.STORED);
                zin.readAllBytes();
            }
        }
        assertThat(names).containsExactly("archive/data.pkl", "archive/byteorder", "archive/data/0", "archive/data/1",
                "archive/data/2", "archive/data/3", "archive/version");
        try (ZipFile z = new ZipFile(out.toFile())) {
            assertThat(new String(z.getInputStream(z.getEntry("archive/version")).readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("3\n");
            assertThat(new String(z.getInputStream(z.getEntry("archive/byteorder")).readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("little");
        }
        // storages start 64-byte aligned, as torch's writer puts them (mmap-able)
        for (int k = 0; k < 4; k++) {
            int at = indexOf(bytes, ("archive/data/" + k).getBytes(StandardCharsets.US_ASCII));
            int extraLen = (bytes[at - 2] & 0xff) | (bytes[at - 1] & 0xff) << 8;
            int nameLen = (bytes[at - 4] & 0xff) | (bytes[at - 3] & 0xff) << 8;
            assertThat((at + nameLen + extraLen) % 64).as("data/%d offset", k).isZero();
        }
        // the same tensors, shapes, strides and storages as the torch.save reference of this case
        try (TorchZip mine = TorchZip.open(out); TorchZip ref = TorchZip.open(OFFICIAL)) {
            assertThat(mine.tensors().keySet()).containsExactlyElementsOf(ref.tensors().keySet());
            for (String n : ref.tensors().keySet()) {
                TorchUnpickler.TensorRef a = mine.tensors().get(n), b = ref.tensors().get(n);
                assertThat(a.shape()).as(n).containsExactly(b.shape());
                assertThat(a.stride()).as(n).containsExactly(b.stride());
                assertThat(a.storage().dtype()).isEqualTo(b.storage().dtype());
                assertThat(a.storage().numel()).isEqualTo(b.storage().numel());
                assertThat(mine.floats(n)).as(n).containsExactly(ref.floats(n));
            }
        }
        assertSame(AdapterFormats.read(out, base, null).prompts(), nativePrompts());
    }

    @Test
    void nativeRoundTripThroughEveryFormat() throws Exception {
        AdaptionPrompts want = nativePrompts();
        Path peft = tmp.resolve("p"), pth = tmp.resolve("o.pth"), nat = tmp.resolve("n.safetensors");
        AdapterFormats.write(Format.PEFT, peft, want, 3, Map.of(), null);
        AdapterFormats.write(Format.OFFICIAL, pth, AdapterFormats.read(peft, base, null).prompts(), 3, Map.of(), null);
        AdapterFormats.write(Format.NATIVE, nat, AdapterFormats.read(pth, base, null).prompts(), 3, Map.of("k", "v"), null);
        AdapterFile.Adapter back = AdapterFormats.read(nat, base, null);
        assertSame(back.prompts(), want);
        assertThat(back.metadata()).containsEntry("k", "v").containsEntry("gate_activation", "identity");
    }

    // --- broken inputs ---

    Path peftCopy(String config) throws Exception {
        Path d = Files.createDirectories(tmp.resolve("peft-" + Math.abs(config.hashCode())));
        Files.copy(PEFT.resolve("adapter_model.safetensors"), d.resolve("adapter_model.safetensors"));
        Files.writeString(d.resolve("adapter_config.json"), config);
        return d;
    }

    @Test
    void peftConfigProblemsNameTheFileAndField() throws Exception {
        Path noLen = peftCopy("{\"peft_type\": \"ADAPTION_PROMPT\", \"adapter_layers\": 2}");
        assertThatThrownBy(() -> AdapterFormats.read(noLen, base, null)).hasMessageContaining(noLen.resolve("adapter_config.json").toString())
                .hasMessageContaining("missing field adapter_len");
        Path noType = peftCopy("{\"adapter_len\": 3, \"adapter_layers\": 2}");
        assertThatThrownBy(() -> AdapterFormats.read(noType, base, null)).hasMessageContaining("missing field peft_type");
        Path lora = peftCopy("{\"peft_type\": \"LORA\", \"r\": 8}");
        assertThatThrownBy(() -> AdapterFormats.read(lora, base, null)).hasMessageContaining("\"LORA\"").hasMessageContaining("ADAPTION_PROMPT");
        Path badLen = peftCopy("{\"peft_type\": \"ADAPTION_PROMPT\", \"adapter_len\": \"three\", \"adapter_layers\": 2}");
        assertThatThrownBy(() -> AdapterFormats.read(badLen, base, null)).hasMessageContaining("adapter_len").hasMessageContaining("positive integer");
        Path wrongLen = peftCopy("{\"peft_type\": \"ADAPTION_PROMPT\", \"adapter_len\": 4, \"adapter_layers\": 2}");
        assertThatThrownBy(() -> AdapterFormats.read(wrongLen, base, null)).hasMessageContaining("adaption_prompt")
                .hasMessageContaining("[1, 3, 64]").hasMessageContaining("[1, 4, 64]");
        Path wrongLayers = peftCopy("{\"peft_type\": \"ADAPTION_PROMPT\", \"adapter_len\": 3, \"adapter_layers\": 3}");
        assertThatThrownBy(() -> AdapterFormats.read(wrongLayers, base, null)).hasMessageContaining("layers [1, 2]")
                .hasMessageContaining("0..2");
        Path notJson = peftCopy("{\"peft_type\": ");
        assertThatThrownBy(() -> AdapterFormats.read(notJson, base, null)).hasMessageContaining("adapter_config.json").hasMessageContaining("not valid JSON");
        Path target = peftCopy("{\"peft_type\": \"ADAPTION_PROMPT\", \"adapter_len\": 3, \"adapter_layers\": 2, \"target_modules\": \"attn\"}");
        assertThatThrownBy(() -> AdapterFormats.read(target, base, null)).hasMessageContaining("target_modules");
        Path noWeights = Files.createDirectories(tmp.resolve("empty-peft"));
        Files.copy(PEFT.resolve("adapter_config.json"), noWeights.resolve("adapter_config.json"));
        assertThatThrownBy(() -> AdapterFormats.read(noWeights, base, null)).hasMessageContaining(noWeights.toString())
                .hasMessageContaining("adapter_model.safetensors");
    }

    @Test
    void peftWeightsThatDoNotFitTheBaseAreNamed() throws Exception {
        Path d = Files.createDirectories(tmp.resolve("peft-d"));
        Files.copy(PEFT.resolve("adapter_config.json"), d.resolve("adapter_config.json"));
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (int i = 1; i <= 2; i++) {
            w.put(PeftAdapter.promptKey(i), DType.F32, new float[3 * 32], 1, 3, 32);
            w.put(PeftAdapter.gateKey(i), DType.F32, new float[1], 1);
        }
        w.write(d.resolve("adapter_model.safetensors"));
        assertThatThrownBy(() -> AdapterFormats.read(d, base, null)).hasMessageContaining(d.resolve("adapter_model.safetensors").toString())
                .hasMessageContaining("layers.1.self_attn.adaption_prompt").hasMessageContaining("[1, 3, 32]").hasMessageContaining("hidden_size 64");
        SafeTensorsWriter w2 = new SafeTensorsWriter();
        w2.put(PeftAdapter.promptKey(2), DType.F32, new float[3 * 64], 1, 3, 64).put(PeftAdapter.gateKey(2), DType.F32, new float[2], 2);
        w2.put(PeftAdapter.promptKey(1), DType.F32, new float[3 * 64], 1, 3, 64).put(PeftAdapter.gateKey(1), DType.F32, new float[1], 1);
        w2.write(d.resolve("adapter_model.safetensors"));
        assertThatThrownBy(() -> AdapterFormats.read(d, base, null)).hasMessageContaining("layers.2.self_attn.adaption_gate")
                .hasMessageContaining("[2]");
        new SafeTensorsWriter().put("lora_A", DType.F32, new float[4], 2, 2).write(d.resolve("adapter_model.safetensors"));
        assertThatThrownBy(() -> AdapterFormats.read(d, base, null)).hasMessageContaining("'lora_A'");
    }

    @Test
    void officialProblemsNameTheFile() throws Exception {
        byte[] all = Files.readAllBytes(OFFICIAL);
        Path cut = tmp.resolve("cut.pth");
        Files.write(cut, Arrays.copyOf(all, all.length / 2));
        assertThatThrownBy(() -> AdapterFormats.read(cut, base, null)).isInstanceOf(java.io.IOException.class)
                .hasMessageContaining(cut.toString()).hasMessageContaining("zip");
        Path notZip = tmp.resolve("text.pth");
        Files.writeString(notZip, "hello");
        assertThatThrownBy(() -> AdapterFormats.read(notZip, base, null)).hasMessageContaining(notZip.toString())
                .hasMessageContaining("not a torch.save checkpoint");
        // a checkpoint for a model with other heads: gates of 8 heads
        Map<String, dev.llamaadapter.io.torch.TorchZipWriter.FloatTensor> t = new java.util.LinkedHashMap<>();
        t.put("adapter_query.weight", new dev.llamaadapter.io.torch.TorchZipWriter.FloatTensor(new long[]{6, 64}, new float[384]));
        for (int i = 0; i < 3; i++)
            t.put("layers." + i + ".attention.gate", new dev.llamaadapter.io.torch.TorchZipWriter.FloatTensor(new long[]{1, 8, 1, 1}, new float[8]));
        Path heads = tmp.resolve("heads.pth");
        dev.llamaadapter.io.torch.TorchZipWriter.write(heads, t);
        assertThatThrownBy(() -> AdapterFormats.read(heads, base, null)).hasMessageContaining(heads.toString())
                .hasMessageContaining("layers.0.attention.gate").hasMessageContaining("4 heads");
        // an unexpected tensor
        t.clear();
        t.put("adapter_query.weight", new dev.llamaadapter.io.torch.TorchZipWriter.FloatTensor(new long[]{6, 64}, new float[384]));
        t.put("visual_proj.weight", new dev.llamaadapter.io.torch.TorchZipWriter.FloatTensor(new long[]{2, 2}, new float[4]));
        Path extra = tmp.resolve("extra.pth");
        dev.llamaadapter.io.torch.TorchZipWriter.write(extra, t);
        assertThatThrownBy(() -> AdapterFormats.read(extra, base, null)).hasMessageContaining("'visual_proj.weight'");
        // all gates zero: the adapted layers cannot be told
        t.clear();
        t.put("adapter_query.weight", new dev.llamaadapter.io.torch.TorchZipWriter.FloatTensor(new long[]{6, 64}, new float[384]));
        for (int i = 0; i < 3; i++)
            t.put("layers." + i + ".attention.gate", new dev.llamaadapter.io.torch.TorchZipWriter.FloatTensor(new long[]{1, 4, 1, 1}, new float[4]));
        Path zeros = tmp.resolve("zeros.pth");
        dev.llamaadapter.io.torch.TorchZipWriter.write(zeros, t);
        assertThatThrownBy(() -> AdapterFormats.read(zeros, base, null)).hasMessageContaining("every gate is zero");
    }

    @Test
    void absurdLayerIndicesAreErrorsNotCrashes() throws Exception {
        Path f = tmp.resolve("huge.safetensors");
        new SafeTensorsWriter().put("adapter_query.weight", DType.F32, new float[6 * 64], 6, 64)
                .put("layers.99999999999.attention.gate", DType.F32, new float[4], 1, 4, 1, 1)
                .metadata(Map.of("adapter_len", "3", "adapter_layers", "2", "gate_activation", "identity")).write(f);
        assertThatThrownBy(() -> AdapterFormats.read(f, base, null)).isInstanceOf(java.io.IOException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("layers.99999999999.attention.gate");
        assertThatThrownBy(() -> AdapterFormats.load(f, null, null)).isInstanceOf(java.io.IOException.class).hasMessageContaining(f.toString());
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        return -1;
    }

    static <T> List<T> iterable(java.util.Iterator<T> it) {
        List<T> l = new ArrayList<>();
        it.forEachRemaining(l::add);
        return l;
    }
}

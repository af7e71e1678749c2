package dev.llamaadapter.vision;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Opening CLIP towers: CLIPVisionModel and full CLIP layouts give the same features; other checkpoints are refused by name. */
class ClipVisionTest {
    static final Path CASE = Path.of("src/test/resources/parity/multimodal");

    @TempDir
    Path tmp;

    @Test
    void aFullClipCheckpointReadsItsVisionPart() throws Exception {
        Path full = Files.createDirectories(tmp.resolve("clip"));
        String vc = Files.readString(CASE.resolve("vision/config.json"));
        Files.writeString(full.resolve("config.json"), "{\"architectures\": [\"CLIPModel\"], \"model_type\": \"clip\", "
                + "\"text_config\": {\"hidden_size\": 32}, \"vision_config\": " + vc + "}");
        Files.copy(CASE.resolve("vision/model.safetensors"), full.resolve("model.safetensors"));
        float[] pixels = new float[2 * 3 * 32 * 32];
        java.util.Random r = new java.util.Random(1);
        for (int i = 0; i < pixels.length; i++) pixels[i] = (float) r.nextGaussian();
        try (ClipVision a = ClipVision.open(CASE.resolve("vision")); ClipVision b = ClipVision.open(full)) {
            assertThat(a.imageSize()).isEqualTo(32);
            assertThat(a.hiddenSize()).isEqualTo(48);
            assertThat(a.numLayers()).isEqualTo(3);
            float[] fa = a.features(pixels, 2, new int[]{3, 1});
            assertThat(fa).hasSize(2 * 2 * 48);
            assertThat(b.features(pixels, 2, new int[]{3, 1})).containsExactly(fa);
            // each image alone gives the same as in the batch; layer order is the order asked for
            float[] one = a.features(java.util.Arrays.copyOfRange(pixels, 3 * 32 * 32, 6 * 32 * 32), 1, new int[]{1});
            assertThat(one).containsExactly(java.util.Arrays.copyOfRange(fa, 2 * 48 + 48, 4 * 48));
            assertThatThrownBy(() -> a.features(pixels, 2, new int[]{4})).hasMessageContaining("visual layer 4").hasMessageContaining("1..3");
            assertThatThrownBy(() -> a.features(new float[5], 2, new int[]{1})).hasMessageContaining("pixel_values");
        }
    }

    @Test
    void aLlamaOrOtherCheckpointIsRefused() throws Exception {
        assertThatThrownBy(() -> ClipVision.open(CASE.resolve("model")))
                .hasMessageContaining("model_type 'llama'").hasMessageContaining("not a CLIP vision tower");
        // a CLIP config over LLaMA weights
        Path odd = Files.createDirectories(tmp.resolve("odd"));
        Files.copy(CASE.resolve("vision/config.json"), odd.resolve("config.json"));
        Files.copy(CASE.resolve("model/model.safetensors"), odd.resolve("model.safetensors"));
        assertThatThrownBy(() -> ClipVision.open(odd)).hasMessageContaining("no vision_model.").hasMessageContaining("LLaMA");
        assertThatThrownBy(() -> ClipVision.open(tmp.resolve("absent"))).hasMessageContaining("absent").hasMessageContaining("no such");
        Path gelu = Files.createDirectories(tmp.resolve("gelu"));
        Files.writeString(gelu.resolve("config.json"), Files.readString(CASE.resolve("vision/config.json")).replace("quick_gelu", "gelu"));
        assertThatThrownBy(() -> ClipVision.open(gelu)).hasMessageContaining("hidden_act 'gelu'");
    }
}

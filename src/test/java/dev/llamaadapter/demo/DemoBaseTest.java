package dev.llamaadapter.demo;

import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.assertj.core.api.Assertions.assertThat;

/** The demo base model's cache: reused when intact, rebuilt when damaged or when the generator changes, never required writable. */
class DemoBaseTest {
    static final DemoBase.Spec TINY = new DemoBase.Spec(1, 8, 2, 2, 2, 32, 2, 2, 64, 2, 0.5, 2, 8, 3e-3);

    static Trainer.Listener quiet(long total) {
        return r -> {};
    }

    @Test
    void buildsOnceThenReusesTheCachedModel(@TempDir Path cache) throws Exception {
        PrintStream log = new PrintStream(new ByteArrayOutputStream());
        DemoBase.Built first = DemoBase.ensure(TINY, cache, log, DemoBaseTest::quiet);
        assertThat(first.cached()).isFalse();
        assertThat(first.steps()).isNotEmpty();
        try (BaseModel m = BaseModel.open(first.dir())) { // an ordinary Hugging Face directory
            assertThat(m.config().hiddenSize()).isEqualTo(32);
            assertThat(m.tokenizer().encode(TINY.world().cities.getFirst().name())).hasSize(1);
        }
        DemoBase.Built second = DemoBase.ensure(TINY, cache, log, DemoBaseTest::quiet);
        assertThat(second.cached()).isTrue();
        assertThat(second.dir()).isEqualTo(first.dir());
        assertThat(Files.readAllBytes(second.dir().resolve("model.safetensors"))).isEqualTo(Files.readAllBytes(first.dir().resolve("model.safetensors")));

        // another recipe (or generator) is another key: a new model beside the old one
        DemoBase.Spec other = new DemoBase.Spec(2, 8, 2, 2, 2, 32, 2, 2, 64, 2, 0.5, 2, 8, 3e-3);
        assertThat(DemoBase.ensure(other, cache, log, DemoBaseTest::quiet).dir()).isNotEqualTo(first.dir());
        assertThat(first.dir().getFileName().toString()).startsWith("demo-base-v" + FactWorld.VERSION + "-");
    }

    @Test
    void aCorruptCachedModelIsDetectedAndRebuilt(@TempDir Path cache) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream log = new PrintStream(out, true);
        DemoBase.Built first = DemoBase.ensure(TINY, cache, log, DemoBaseTest::quiet);
        Path weights = first.dir().resolve("model.safetensors");
        byte[] good = Files.readAllBytes(weights);
        byte[] bad = good.clone();
        bad[bad.length - 3] ^= 0x40; // one flipped bit inside a weight
        Files.write(weights, bad, StandardOpenOption.TRUNCATE_EXISTING);
        DemoBase.Built again = DemoBase.ensure(TINY, cache, log, DemoBaseTest::quiet);
        assertThat(out.toString()).contains("damaged").contains("model.safetensors does not match its checksum");
        assertThat(again.cached()).isFalse();
        assertThat(Files.readAllBytes(again.dir().resolve("model.safetensors"))).isEqualTo(good); // seeded: the same model again

        Files.delete(again.dir().resolve("tokenizer.model"));
        assertThat(DemoBase.verify(again.dir())).contains("tokenizer.model is missing");
    }

    @Test
    void anUnwritableCacheFallsBackToATemporaryDirectory(@TempDir Path dir) throws Exception {
        Path notADir = dir.resolve("file");
        Files.writeString(notADir, "x");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Path root = DemoBase.cacheRoot(notADir.resolve("cache"), new PrintStream(out, true));
        assertThat(out.toString()).contains("warning: cannot write the cache directory");
        assertThat(Files.isDirectory(root)).isTrue();
        assertThat(root.startsWith(notADir)).isFalse();
        assertThat(DemoBase.cacheRoot(dir.resolve("ok"), new PrintStream(new ByteArrayOutputStream()))).isEqualTo(dir.resolve("ok"));
    }
}

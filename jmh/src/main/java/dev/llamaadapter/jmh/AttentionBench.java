package dev.llamaadapter.jmh;

import dev.llamaadapter.tensor.Attention;
import org.openjdk.jmh.annotations.*;

import java.util.Random;
import java.util.concurrent.TimeUnit;

import static dev.llamaadapter.jmh.Shapes.*;

/** Causal attention with the prompt branch, forward and backward, on one tinyllama layer's step. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class AttentionBench {
    Attention att;
    float[] q, out, dout, dq;         // [M, H·hd]
    float[] k, v, dk, dv;             // [M, Hkv·hd]
    float[] saved;                    // Attention.savedFloats: lse [B, H, T] and the token output [M, H·hd] (tiled from TILED_MIN_T)
    float[] ak, av;                   // [K, Hkv·hd]
    float[] gamma;                    // [H]
    float[] promptProbs;              // [B, H, T, K]
    float[] promptOut;                // [M, H·hd]
    float[] dgamma;                   // [B, H]
    float[] dak, dav;                 // [B, K, Hkv·hd]

    @Setup
    public void setup() {
        Random r = new Random(4);
        int M = AT_B * AT_T, qw = AT_H * AT_HD, kw = AT_HKV * AT_HD;
        att = new Attention(AT_B, AT_T, AT_H, AT_HKV, AT_HD, AT_K);
        q = ElementwiseBench.fill(r, M * qw); out = new float[M * qw]; dout = ElementwiseBench.fill(r, M * qw); dq = new float[M * qw];
        k = ElementwiseBench.fill(r, M * kw); v = ElementwiseBench.fill(r, M * kw); dk = new float[M * kw]; dv = new float[M * kw];
        saved = new float[(int) Attention.savedFloats(AT_B, AT_T, AT_H, AT_HD)];
        ak = ElementwiseBench.fill(r, AT_K * kw); av = ElementwiseBench.fill(r, AT_K * kw);
        gamma = ElementwiseBench.fill(r, AT_H);
        promptProbs = new float[AT_B * AT_H * AT_T * AT_K]; promptOut = new float[M * qw];
        dgamma = new float[AT_B * AT_H]; dak = new float[AT_B * AT_K * kw]; dav = new float[AT_B * AT_K * kw];
        att.forward(q, k, v, out, saved, ak, av, gamma, promptProbs, promptOut);
    }

    @Benchmark
    public float[] forward() {
        att.forward(q, k, v, out, saved, ak, av, gamma, promptProbs, promptOut);
        return out;
    }

    @Benchmark
    public float[] backward() {
        att.backward(q, k, v, saved, dout, dq, dk, dv, ak, av, gamma, promptProbs, promptOut, dgamma, dak, dav);
        return dq;
    }
}

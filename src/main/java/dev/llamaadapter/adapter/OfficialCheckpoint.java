package dev.llamaadapter.adapter;

import dev.llamaadapter.io.torch.TorchZipWriter;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.GateActivation;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The official LLaMA-Adapter checkpoint (spec §4): a torch.save'd dict (.pth) holding
 * {@code adapter_query.weight} [L·K, D] and {@code layers.{0..N-1}.attention.gate} [1, H, 1, 1], the gates
 * of the layers below the adapted ones all zero. It records neither K nor L nor the gate activation: L
 * is read from the gates (the adapted layers run from the lowest non-zero gate to the top, or are the
 * layers whose gates the file holds when it holds fewer than N), K = rows / L, and the activation is
 * identity (released inference checkpoints) unless the caller says otherwise.
 */
final class OfficialCheckpoint {
    private OfficialCheckpoint() {}

    static final Pattern GATE = Pattern.compile("layers\\.(\\d{1,6})\\.attention\\.gate");

    /** Reads the tensors of a torch.save (or safetensors) file as an official adapter; {@code dims} fields may be 0 (unknown). */
    static AdaptionPrompts read(TensorTable t, Dims dims, GateActivation act) throws IOException {
        Path file = t.file();
        String prompt = AdapterFile.PROMPT;
        if (!t.names().contains(prompt))
            throw new AdapterFormatException(file, "tensor '" + prompt + "' not found: not an official LLaMA-Adapter checkpoint (tensors: "
                    + list(t.names()) + ")");
        long[] ps = t.shape(prompt);
        if (ps.length != 2) throw new AdapterFormatException(file, "tensor '" + prompt + "' has shape " + Arrays.toString(ps) + ", expected [L*K, D]");
        if (dims.d() > 0 && ps[1] != dims.d())
            throw new AdapterFormatException(file, "tensor '" + prompt + "' has D = " + ps[1] + " columns but the base model's hidden_size is "
                    + dims.d() + ": the adapter was made for another base model");
        if (ps[1] <= 0 || ps[1] > Integer.MAX_VALUE || ps[0] <= 0 || ps[0] > Integer.MAX_VALUE)
            throw new AdapterFormatException(file, "tensor '" + prompt + "' has shape " + Arrays.toString(ps) + ": not an adapter prompt");
        int D = (int) ps[1];

        TreeMap<Integer, String> gates = new TreeMap<>();
        List<String> unknown = new ArrayList<>();
        int H = dims.h();
        for (String name : t.names()) {
            if (name.equals(prompt)) continue;
            Matcher m = GATE.matcher(name);
            if (!m.matches()) {
                unknown.add(name);
                continue;
            }
            int i = Integer.parseInt(m.group(1));
            long[] s = t.shape(name);
            long numel = t.numel(name);
            if (s.length != 4 || s[0] != 1 || s[2] != 1 || s[3] != 1 || (H > 0 && numel != H) || numel <= 0 || numel > 65536)
                throw new AdapterFormatException(file, "tensor '" + name + "' has shape " + Arrays.toString(s) + ", expected [1, "
                        + (H > 0 ? H : "H") + ", 1, 1]" + (H > 0 ? ": the base model has " + H + " heads" : ""));
            if (H <= 0) H = (int) numel;
            else if (numel != H) throw new AdapterFormatException(file, "tensor '" + name + "' has " + numel + " heads but other gates have " + H);
            gates.put(i, name);
        }
        if (!unknown.isEmpty())
            throw new AdapterFormatException(file, "tensor '" + unknown.getFirst() + "' is not an adapter tensor (unexpected: " + list(unknown)
                    + "): only adapter_query.weight and layers.{i}.attention.gate belong in an official LLaMA-Adapter checkpoint");
        if (gates.isEmpty()) throw new AdapterFormatException(file, "has no layers.{i}.attention.gate tensors: cannot tell the adapted layers");
        int N = dims.n() > 0 ? dims.n() : gates.lastKey() + 1;
        if (gates.lastKey() >= N)
            throw new AdapterFormatException(file, "tensor '" + gates.lastEntry().getValue() + "' belongs to layer " + gates.lastKey()
                    + " but the base model has " + N + " layers");

        Map<Integer, float[]> values = new LinkedHashMap<>();
        for (var e : gates.entrySet()) values.put(e.getKey(), t.floats(e.getValue()));
        int L;
        if (gates.size() < N && gates.firstKey() == N - gates.size()) {
            L = gates.size(); // only the adapted layers' gates: the top layers
        } else {
            L = 0;
            for (var e : values.entrySet())
                if (nonZero(e.getValue())) {
                    L = N - e.getKey();
                    break;
                }
            if (L == 0)
                throw new AdapterFormatException(file, "every gate is zero, so the adapted layers cannot be told apart (the checkpoint records "
                        + "no adapter_layers): a zero-gate adapter changes nothing; convert it from a file that records adapter_layers");
        }
        for (int i = N - L; i < N; i++)
            if (!gates.containsKey(i))
                throw new AdapterFormatException(file, "tensor '" + AdapterFile.gateName(i) + "' not found (the adapted layers are " + (N - L)
                        + ".." + (N - 1) + ")");
        if (ps[0] % L != 0)
            throw new AdapterFormatException(file, "tensor '" + prompt + "' has " + ps[0] + " rows, not a multiple of the " + L
                    + " adapted layers (layers " + (N - L) + ".." + (N - 1) + " have gates)");
        int K = (int) (ps[0] / L);
        if (H <= 0) throw new AdapterFormatException(file, "cannot tell the number of heads");

        Dims.checkSize(file, K, L, D, H);
        AdaptionPrompts p = new AdaptionPrompts(K, L, D, H, act);
        float[] q = t.floats(prompt);
        System.arraycopy(q, 0, p.prompt, 0, q.length);
        for (var e : values.entrySet()) {
            int j = e.getKey() - (N - L);
            if (j >= 0) System.arraycopy(e.getValue(), 0, p.gate, j * H, H);
        }
        return p;
    }

    /** Number of layers N the checkpoint implies when no base model is given: its highest gate + 1. */
    static int inferLayers(TensorTable t) {
        int max = -1;
        for (String name : t.names()) {
            Matcher m = GATE.matcher(name);
            if (m.matches()) max = Math.max(max, Integer.parseInt(m.group(1)));
        }
        return max + 1;
    }

    /**
     * Writes {@code p} as an official checkpoint for a model of {@code nLayers} layers: the prompt, and a gate
     * for every layer (zeros below the adapted ones). The values are the effective gates act(g), so that a
     * reader applying no activation (as released checkpoints are read) gets the same model.
     */
    static void write(Path file, AdaptionPrompts p, int nLayers) throws IOException {
        Map<String, TorchZipWriter.FloatTensor> out = new LinkedHashMap<>();
        out.put(AdapterFile.PROMPT, new TorchZipWriter.FloatTensor(new long[]{(long) p.adapterLayers * p.adapterLen, p.dim}, p.prompt.clone()));
        int first = nLayers - p.adapterLayers;
        for (int i = 0; i < nLayers; i++) {
            float[] g = new float[p.heads];
            if (i >= first)
                for (int h = 0; h < p.heads; h++) g[h] = p.gateActivation.apply(p.gate[(i - first) * p.heads + h]);
            out.put(AdapterFile.gateName(i), new TorchZipWriter.FloatTensor(new long[]{1, p.heads, 1, 1}, g));
        }
        TorchZipWriter.write(file, out);
    }

    private static boolean nonZero(float[] g) {
        for (float v : g) if (v != 0f) return true;
        return false;
    }

    static String list(java.util.Collection<String> names) {
        List<String> l = new ArrayList<>(names);
        return l.size() <= 6 ? l.toString() : l.subList(0, 6) + " and " + (l.size() - 6) + " more";
    }
}

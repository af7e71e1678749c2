package dev.llamaadapter.cli;

import dev.llamaadapter.bench.LlamaCppPeer;
import dev.llamaadapter.bench.Peers;
import dev.llamaadapter.bench.ServeLoad;
import dev.llamaadapter.generate.ContextLength;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.serve.Server;
import dev.llamaadapter.tensor.DType;
import dev.llamaadapter.tensor.Parallel;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * {@code bench --serve N}: a real {@code serve} on this machine (in this process, on a free loopback port) under
 * one streaming client, then N at once, as {@link ServeLoad} drives them: aggregate tokens/s against one
 * client's, and first-token latency. The model: {@code --model}, else the shape's bench model as GGUF of the
 * dtype (tinyllama), else stories260K from ../shared/assets for the default shape.
 */
final class BenchServe {
    private BenchServe() {}

    static final String PROMPT = "Once upon a time, there was a little girl who";

    static int run(BenchCommand b, BenchCommand.Shape s, DType dt, int clients, int tokens) throws Exception {
        Path model = b.serveModel;
        if (model == null) {
            Path peers = Peers.locate(b.peersDir);
            if (peers == null) throw new IllegalArgumentException("bench --serve: give --model (no ../shared folder to take a model from)");
            model = s == BenchCommand.Shape.small ? peers.resolveSibling("assets/stories260K/stories260K.gguf")
                    : LlamaCppPeer.benchModel(s.toString(), s.config, b.mix(), peers, b.peersWork);
        }
        if (!Files.exists(model)) throw new IllegalArgumentException("bench --serve: " + model + " does not exist");
        try (BaseModel base = BaseModel.open(model)) {
            int ctx = ContextLength.resolve(Math.min(base.config().maxPositionEmbeddings(), 512), "--context", base.config(), m -> {});
            Server.Options o = Server.Options.defaults().withHost("127.0.0.1").withSlots(clients).withContext(ctx).withQueue(4 * clients);
            try (Server server = new Server(base, Cli.tokenizerOrNull(base), o)) {
                String url = "http://127.0.0.1:" + server.start(0);
                String[] models = {server.baseModelId()};
                ServeLoad.round(url, models, PROMPT, 1, 8); // warms the JIT and the connection pool up
                ServeLoad.round(url, models, PROMPT, clients, 8);
                ServeLoad.Round one = ServeLoad.round(url, models, PROMPT, 1, tokens);
                ServeLoad.Round many = ServeLoad.round(url, models, PROMPT, clients, tokens);
                double ratio = many.tokensPerS() / one.tokensPerS();
                if (b.json) {
                    System.out.printf(Locale.ROOT, "{\"mode\":\"serve\",\"model\":\"%s\",\"threads\":%d,\"tokens_per_client\":%d,"
                                    + "\"one\":{\"tokens_per_s\":%.2f,\"first_token_s\":%.4f},\"clients\":%d,\"aggregate_tokens_per_s\":%.2f,"
                                    + "\"first_token_s_median\":%.4f,\"first_token_s_max\":%.4f,\"ratio\":%.3f}%n",
                            model.toString().replace("\\", "/").replace("\"", "'"), Parallel.THREADS, tokens, one.tokensPerS(), one.medianFirstTokenS(),
                            clients, many.tokensPerS(), many.medianFirstTokenS(), many.maxFirstTokenS(), ratio);
                } else {
                    System.out.printf(Locale.ROOT, "serve %s (%s), %d slots, %d threads; each client streams %d tokens (greedy, EOS ignored)%n",
                            model, base.shape(), clients, Parallel.THREADS, tokens);
                    System.out.printf(Locale.ROOT, " 1 client : %.1f tok/s; %s%n", one.tokensPerS(), ServeLoad.latency(one));
                    System.out.printf(Locale.ROOT, "%2d clients: %.1f tok/s in all (%.2fx one client's); %s; each client's own rate %s tok/s%n",
                            clients, many.tokensPerS(), ratio, ServeLoad.latency(many), ServeLoad.describeRates(many));
                }
            }
        }
        return 0;
    }
}

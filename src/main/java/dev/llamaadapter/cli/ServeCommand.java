package dev.llamaadapter.cli;

import dev.llamaadapter.generate.AdapterRegistry;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.serve.ConnectionLimits;
import dev.llamaadapter.serve.Server;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** Serves the base model and its adapters over an OpenAI-compatible HTTP API until SIGTERM / Ctrl-C. */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Serve the base model and adapters over HTTP with OpenAI's API: POST /v1/completions, POST /v1/chat/completions"
                + " (stream: true for server-sent events), GET /v1/models; the request's model names an adapter or the base.",
                "Chat: the last user message is the Alpaca instruction; system messages and earlier turns go into the input.",
                "Admin: POST /admin/adapters {name, path}, DELETE /admin/adapters/NAME, GET /admin/stats; refused (403) unless --api-key is set,"
                        + " or --admin on a loopback --host; adapters load only from the --adapters directory."})
public final class ServeCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "base model: a Hugging Face directory, a .gguf file or a llama2.c .bin checkpoint") Path model;
    @Option(names = "--adapters", description = "a directory of adapters (*.safetensors, *.pth, PEFT directories) to load, each named after its file;"
            + " also the only place POST /admin/adapters loads from") Path adapters;
    @Option(names = "--port", defaultValue = "8080", description = "default ${DEFAULT-VALUE} (0 = any free port)") int port;
    @Option(names = "--host", defaultValue = "127.0.0.1", description = "address to listen on (default ${DEFAULT-VALUE})") String host;
    @Option(names = "--api-key", description = "require 'Authorization: Bearer KEY' on every endpoint but /health; also opens the admin endpoints (default: open, admin off)") String apiKey;
    @Option(names = "--admin", description = "serve the admin endpoints without --api-key; only on a loopback --host, and only to requests"
            + " addressed to it (no cross-origin browser requests)") boolean admin;
    @Option(names = "--slots", defaultValue = "8", description = "sequences decoded together in one batch (default ${DEFAULT-VALUE})") int slots;
    @Option(names = "--context", description = "KV cache positions per sequence (default: the model's max_position_embeddings, else 2048)") Integer context;
    @Option(names = "--queue", defaultValue = "64", description = "requests waiting or running at most; more get 429 (default ${DEFAULT-VALUE})") int queue;
    @Option(names = "--served-model-name", description = "the base model's id in the API (default: the model directory's name)") String name;
    @Option(names = "--shutdown-timeout", defaultValue = "300", description = "seconds a stop waits for running requests (default ${DEFAULT-VALUE})") long drainSeconds;
    @Option(names = "--idle-timeout", defaultValue = "30", paramLabel = "SECONDS", description = "seconds a connection may stay silent (headers or body stalled, or idle"
            + " between requests) before it is closed; a request waiting for generation is exempt (default ${DEFAULT-VALUE})") long idleSeconds;
    @Option(names = "--max-connections-per-client", defaultValue = "128", paramLabel = "N", description = "connections one client address may hold open at once;"
            + " more are refused with 429, so that one client cannot take them all (default ${DEFAULT-VALUE})") int maxConnectionsPerClient;
    @Option(names = "--min-request-rate", defaultValue = "256", paramLabel = "BYTES_PER_S", description = "bytes per second a request body must arrive at, at least;"
            + " slower ones get 408 (0 = no minimum; default ${DEFAULT-VALUE})") long minRequestRate;
    @Option(names = "--max-body-bytes", defaultValue = "" + Server.Options.DEFAULT_MAX_BODY_BYTES, paramLabel = "BYTES", description = "the largest request"
            + " body; larger ones get 413 before they are parsed or tokenized (default ${DEFAULT-VALUE})") int maxBodyBytes;

    @Override
    public Integer call() throws Exception {
        if (idleSeconds < 1) throw new IllegalArgumentException("--idle-timeout must be at least 1 second, got " + idleSeconds);
        try (BaseModel base = BaseModel.open(model)) {
            int ctx = dev.llamaadapter.generate.ContextLength.resolve(context, "--context", base.config(), System.err::println);
            Server.Options o = Server.Options.defaults().withHost(host).withSlots(slots).withContext(ctx).withQueue(queue)
                    .withApiKey(apiKey).withModelId(name).withDrainMillis(drainSeconds * 1000).withMaxBodyBytes(maxBodyBytes)
                    .withAdmin(admin).withAdapterDir(adapters)
                    .withConnections(new ConnectionLimits(idleSeconds * 1000, maxConnectionsPerClient, minRequestRate));
            Server server = new Server(base, Cli.tokenizerOrNull(base), o);
            if (adapters != null)
                for (AdapterRegistry.Entry e : server.adapters().loadDirectory(adapters)) System.err.println("adapter " + e.name() + ": " + e.path());
            int bound = server.start(port);
            Thread hook = new Thread(() -> {
                System.err.println("stopping: no new requests; waiting for " + server.stats().inFlight() + " running");
                server.stop();
                System.err.println("stopped");
            }, "llama-adapter-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            System.err.printf("serving %s (%s) and %d adapter(s) on http://%s:%d/v1 (%d slots x %d positions, queue %d%s)%s%n",
                    server.baseModelId(), base.shape(), server.adapters().list().size(), host, bound, slots, ctx, queue,
                    apiKey == null ? "" : ", API key required", apiKey != null || admin ? "; admin endpoints on" : "; admin endpoints off");
            System.err.printf("playground: open http://%s:%d/ in a browser%n", host.contains(":") ? "[" + host + "]" : host, bound);
            server.join();
            return 0;
        }
    }
}

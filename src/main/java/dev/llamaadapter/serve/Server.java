package dev.llamaadapter.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llamaadapter.generate.AdapterRegistry;
import dev.llamaadapter.generate.Generator;
import dev.llamaadapter.generate.SamplingParams;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.PreparedPrompts;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.tokenizer.Tokenizer;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static dev.llamaadapter.serve.JsonFields.bool;
import static dev.llamaadapter.serve.JsonFields.integer;
import static dev.llamaadapter.serve.JsonFields.longValue;
import static dev.llamaadapter.serve.JsonFields.number;
import static dev.llamaadapter.serve.JsonFields.text;

/**
 * An HTTP server with OpenAI's completion API over one base model and its adapters: the request's
 * {@code model} names an adapter (or the base), and one {@link Scheduler} thread decodes every running
 * request in one batch, each through its own adapter and KV cache slot.
 *
 * <p>Endpoints: {@code POST /v1/completions}, {@code POST /v1/chat/completions} (both streamed as
 * server-sent events with {@code "stream": true}), {@code GET /v1/models}, {@code GET /v1/models/{id}},
 * {@code GET/POST /admin/adapters}, {@code DELETE /admin/adapters/{name}}, {@code GET /admin/stats} and
 * {@code GET /health} (the only one open without the API key). Errors are OpenAI's error objects.
 * The admin endpoints ({@link AdminRoutes}) answer 403 unless the server has an API key or was asked for
 * them on a loopback address ({@link AdminAccess}), and load adapters only from the adapters directory
 * ({@link AdapterDirectory}).
 * Chat conversations are rendered with the adapter's chat template, or into the Alpaca template, as {@link ChatPrompt} describes.
 *
 * <p>Clients that misbehave cannot hold up the others: bodies are read without a thread ({@link RequestBodies}),
 * and one over the size limit is refused with 413 before it is parsed;
 * connections are bounded in time and number per client ({@link ConnectionLimits}), prompts that cannot fit
 * are refused before tokenizing ({@link PromptBudget}), and a request whose client left stops decoding
 * ({@link ClientWatch}; streams find out from their writes).
 *
 * <p>Embeddable: {@link #start(int)} binds (0 = an ephemeral port) and returns the port; {@link #stop()}
 * stops accepting, lets running requests finish (up to the drain timeout), then stops decoding.
 */
public final class Server implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Server.class.getName());

    static {
        // Jetty logs through SLF4J: keep its INFO chatter out unless asked for
        if (System.getProperty("org.slf4j.simpleLogger.log.org.eclipse.jetty") == null)
            System.setProperty("org.slf4j.simpleLogger.log.org.eclipse.jetty", "warn");
    }

    /**
     * Settings. slots: sequences decoded at once (KV cache slots); context: positions per slot;
     * queue: requests waiting or running at most, more get 429; apiKey: null = open; modelId: the base
     * model's id (null = its directory name); drainMillis: how long stop() waits for running requests;
     * maxBodyBytes: the largest request body, larger ones get 413 before they are parsed; connections:
     * timeouts and caps for slow or greedy clients; admin: serve the admin endpoints without an API key
     * (loopback hosts only, {@link AdminAccess}); adapterDir: the only directory adapters load from at run
     * time (null = none).
     */
    public record Options(String host, int slots, int context, int queue, String apiKey, String modelId, long drainMillis,
                          int maxBodyBytes, ConnectionLimits connections, boolean admin, Path adapterDir) {
        /** 4 MiB: a prompt that fits even a long context is far smaller, and 64 bodies queued stay within 256 MiB. */
        public static final int DEFAULT_MAX_BODY_BYTES = 4 << 20;

        public Options {
            if (slots < 1) throw new IllegalArgumentException("--slots must be at least 1, got " + slots);
            if (context < 2) throw new IllegalArgumentException("--context must be at least 2, got " + context);
            if (queue < 1) throw new IllegalArgumentException("--queue must be at least 1, got " + queue);
            if (maxBodyBytes < 1) throw new IllegalArgumentException("--max-body-bytes must be at least 1, got " + maxBodyBytes);
            if (apiKey != null && apiKey.isEmpty()) apiKey = null;
            if (connections == null) connections = ConnectionLimits.defaults();
        }

        public static Options defaults() {
            return new Options("127.0.0.1", 8, 2048, 64, null, null, 300_000, DEFAULT_MAX_BODY_BYTES, ConnectionLimits.defaults(), false, null);
        }

        public Options withHost(String h) {
            return new Options(h, slots, context, queue, apiKey, modelId, drainMillis, maxBodyBytes, connections, admin, adapterDir);
        }

        public Options withSlots(int n) {
            return new Options(host, n, context, queue, apiKey, modelId, drainMillis, maxBodyBytes, connections, admin, adapterDir);
        }

        public Options withContext(int n) {
            return new Options(host, slots, n, queue, apiKey, modelId, drainMillis, maxBodyBytes, connections, admin, adapterDir);
        }

        public Options withQueue(int n) {
            return new Options(host, slots, context, n, apiKey, modelId, drainMillis, maxBodyBytes, connections, admin, adapterDir);
        }

        public Options withApiKey(String k) {
            return new Options(host, slots, context, queue, k, modelId, drainMillis, maxBodyBytes, connections, admin, adapterDir);
        }

        public Options withModelId(String id) {
            return new Options(host, slots, context, queue, apiKey, id, drainMillis, maxBodyBytes, connections, admin, adapterDir);
        }

        public Options withDrainMillis(long ms) {
            return new Options(host, slots, context, queue, apiKey, modelId, ms, maxBodyBytes, connections, admin, adapterDir);
        }

        public Options withMaxBodyBytes(int n) {
            return new Options(host, slots, context, queue, apiKey, modelId, drainMillis, n, connections, admin, adapterDir);
        }

        public Options withConnections(ConnectionLimits limits) {
            return new Options(host, slots, context, queue, apiKey, modelId, drainMillis, maxBodyBytes, limits, admin, adapterDir);
        }

        public Options withAdmin(boolean on) {
            return new Options(host, slots, context, queue, apiKey, modelId, drainMillis, maxBodyBytes, connections, on, adapterDir);
        }

        public Options withAdapterDir(Path dir) {
            return new Options(host, slots, context, queue, apiKey, modelId, drainMillis, maxBodyBytes, connections, admin, dir);
        }
    }

    /**
     * Counters since start: requests admitted, refused with 429, finished, cancelled (client gone or
     * stop), failed (a step failed); tokens; decoding steps; the largest batch decoded; requests now
     * waiting or running; connections refused for the cap per client.
     */
    public record Stats(long admitted, long rejected, long completed, long cancelled, long failed, long promptTokens, long completionTokens,
                        long steps, long maxBatch, int inFlight, long refusedConnections) {}

    private final Tokenizer tokenizer; // null: token-id prompts only
    private final Options opt;
    private final String baseId;
    private final AdapterRegistry registry;
    private final Scheduler scheduler;
    private final ObjectMapper json = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private final ModelCatalog models;
    private final AdminRoutes admin;

    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong admitted = new AtomicLong(), rejected = new AtomicLong(), completed = new AtomicLong(), cancelled = new AtomicLong(),
            failed = new AtomicLong(), promptTokens = new AtomicLong(), completionTokens = new AtomicLong();

    private final ClientConnectionLimit connectionLimit;
    private org.eclipse.jetty.server.Server jetty;
    private QueuedThreadPool httpPool;
    private volatile boolean draining;
    private final CountDownLatch stopped = new CountDownLatch(1);

    /** A server over this base model; tokenizer may be null (then prompts must be token ids, and chat is refused). */
    public Server(BaseModel base, Tokenizer tokenizer, Options options) {
        this.tokenizer = tokenizer;
        this.opt = options;
        this.baseId = options.modelId() != null ? options.modelId() : defaultId(base.dir());
        Transformer model = base.transformer();
        this.registry = new AdapterRegistry(base, model);
        this.scheduler = new Scheduler(() -> new Generator(model, tokenizer, options.slots(), options.context()), options.slots());
        this.connectionLimit = new ClientConnectionLimit(options.connections().maxPerClient());
        this.models = new ModelCatalog(json, baseId, registry);
        this.admin = new AdminRoutes(json, models, registry, AdapterDirectory.of(options.adapterDir()),
                AdminAccess.of(options.host(), options.apiKey(), options.admin()), this::stats);
    }

    /** The model directory's name (a file's name without its extension), or "base". */
    static String defaultId(Path dir) {
        Path f = dir == null ? null : dir.toAbsolutePath().normalize().getFileName();
        if (f == null) return "base";
        String n = f.toString();
        if (!Files.isDirectory(dir) && n.lastIndexOf('.') > 0) n = n.substring(0, n.lastIndexOf('.'));
        return n.isBlank() ? "base" : n;
    }

    /** The id under which the base model (no adapter) is served. */
    public String baseModelId() {
        return baseId;
    }

    /** The adapters served; loading one here makes it available at once. */
    public AdapterRegistry adapters() {
        return registry;
    }

    public Stats stats() {
        return new Stats(admitted.get(), rejected.get(), completed.get(), cancelled.get(), failed.get(), promptTokens.get(), completionTokens.get(),
                scheduler.steps.get(), scheduler.maxBatch.get(), inFlight.get(), connectionLimit.refused());
    }

    /** Test hook: holds decoding between steps so that requests pile up. */
    void pauseScheduling(boolean paused) {
        scheduler.pause(paused);
    }

    /** Test hook: sleeps this long after every decoding step, so that requests stay running for a while. */
    void throttleScheduling(long millisPerStep) {
        scheduler.throttle(millisPerStep);
    }

    /** Test hook: the next decoding step fails, as a broken forward would. */
    void failNextStep() {
        scheduler.failNextStep();
    }

    /** Binds host:port (0 = any free port), starts decoding and serving; returns the bound port. */
    public synchronized int start(int port) throws Exception {
        if (jetty != null) throw new IllegalStateException("already started");
        // a thread blocks only while its request waits for generation (at most queue of them): bodies are
        // read without one (RequestBodies), so slow clients do not use these up
        QueuedThreadPool pool = new QueuedThreadPool(Math.max(64, opt.queue() + 32), 4);
        pool.setName("llama-adapter-http");
        pool.setDaemon(true);
        httpPool = pool;
        org.eclipse.jetty.server.Server s = new org.eclipse.jetty.server.Server(pool);
        ServerConnector c = new ServerConnector(s);
        c.setHost(opt.host());
        c.setPort(port);
        opt.connections().applyTo(c, connectionLimit);
        s.addConnector(c);
        s.setHandler(new GracefulHandler(opt.connections().enforceRate(new Api())) {
            @Override
            protected void handleShutdownRejection(Request req, Response res, Callback cb) {
                res.getHeaders().put(HttpHeader.CONNECTION, "close");
                sendError(res, cb, new ApiException(503, "server_error", "the server is shutting down", null, "server_shutting_down"));
            }
        });
        s.setStopTimeout(opt.drainMillis());
        s.setStopAtShutdown(false);
        scheduler.start();
        try {
            s.start();
        } catch (Exception e) {
            scheduler.stop();
            throw e;
        }
        jetty = s;
        return c.getLocalPort();
    }

    public synchronized int port() {
        return jetty == null ? -1 : ((ServerConnector) jetty.getConnectors()[0]).getLocalPort();
    }

    /**
     * Graceful stop: refuses new requests (503, and the listening socket closes), waits for the running
     * ones to finish (up to the drain timeout), then ends decoding. Idempotent.
     */
    public void stop() {
        org.eclipse.jetty.server.Server s;
        synchronized (this) {
            s = jetty;
            if (s == null || draining) {
                if (s == null) stopped.countDown();
                return;
            }
            draining = true;
        }
        try {
            s.stop();
        } catch (Exception e) {
            LOG.log(System.Logger.Level.WARNING, "stopping the HTTP server: " + e);
        }
        scheduler.stop();
        stopped.countDown();
    }

    /** Blocks until stop() has finished. */
    public void join() throws InterruptedException {
        stopped.await();
    }

    @Override
    public void close() {
        stop();
    }

    // ---------------------------------------------------------------- HTTP

    private final class Api extends Handler.Abstract {
        Api() {
            super(InvocationType.BLOCKING);
        }

        @Override
        public boolean handle(Request req, Response res, Callback cb) {
            answer(req, res, cb, () -> route(req, res, cb));
            return true;
        }
    }

    /** An endpoint's work: it answers through the response, or throws what to answer. */
    private interface Work {
        void run() throws Exception;
    }

    /** An endpoint's work on the request's JSON body. */
    private interface BodyWork {
        void accept(JsonNode body) throws Exception;
    }

    /** Runs a request's work: an ApiException becomes its error reply, anything else a 500. */
    private void answer(Request req, Response res, Callback cb, Work work) {
        try {
            work.run();
        } catch (ApiException e) {
            if (!res.isCommitted() && RequestBodies.unread(req)) res.getHeaders().put(HttpHeader.CONNECTION, "close");
            sendError(res, cb, e);
        } catch (Exception e) {
            if (!res.isCommitted() && RequestBodies.unread(req)) res.getHeaders().put(HttpHeader.CONNECTION, "close");
            LOG.log(System.Logger.Level.ERROR, req.getMethod() + " " + Request.getPathInContext(req) + " failed", e);
            sendError(res, cb, new ApiException(500, "server_error", "internal error: " + e, null, null));
        }
    }

    private void route(Request req, Response res, Callback cb) {
        String path = Request.getPathInContext(req);
        String method = req.getMethod();
        if (path.equals("/health")) {
            require(method, "GET");
            sendJson(res, cb, 200, json.createObjectNode().put("status", draining ? "stopping" : "ok"));
            return;
        }
        authorize(req);
        switch (path) {
            case "/v1/completions" -> {
                require(method, "POST");
                withBody(req, res, cb, body -> completions(body, req, res, cb));
            }
            case "/v1/chat/completions" -> {
                require(method, "POST");
                withBody(req, res, cb, body -> chat(body, req, res, cb));
            }
            case "/v1/models" -> {
                require(method, "GET");
                sendJson(res, cb, 200, models.list());
            }
            case "/admin/adapters" -> {
                admin.check(req); // before the body is read
                if (method.equals("GET")) sendJson(res, cb, 200, admin.list());
                else {
                    require(method, "POST");
                    withBody(req, res, cb, body -> sendJson(res, cb, 200, admin.load(body)));
                }
            }
            case "/admin/stats" -> {
                admin.check(req);
                require(method, "GET");
                sendJson(res, cb, 200, admin.stats());
            }
            default -> {
                if (path.startsWith("/v1/models/")) {
                    require(method, "GET");
                    sendJson(res, cb, 200, models.get(path.substring("/v1/models/".length())));
                } else if (path.startsWith("/admin/adapters/")) {
                    admin.check(req);
                    require(method, "DELETE");
                    sendJson(res, cb, 200, admin.unload(path.substring("/admin/adapters/".length())));
                } else throw new ApiException(404, "invalid_request_error", "no such endpoint: " + method + " " + path, null, "not_found");
            }
        }
    }

    /**
     * Reads the JSON body without holding this thread while it arrives ({@link RequestBodies}), then goes on
     * in the server's pool, where the work may block (waiting for generation) as before.
     */
    private void withBody(Request req, Response res, Callback cb, BodyWork then) {
        RequestBodies.read(req, opt.maxBodyBytes()).whenComplete((bytes, failure) -> {
            try {
                httpPool.execute(() -> answer(req, res, cb, () -> {
                    if (failure != null) throw RequestBodies.refusal(failure, opt.maxBodyBytes());
                    then.accept(parseJson(bytes));
                }));
            } catch (RejectedExecutionException stopping) {
                cb.failed(stopping);
            }
        });
    }

    private static void require(String method, String allowed) {
        if (!method.equals(allowed))
            throw new ApiException(405, "invalid_request_error", "method " + method + " is not allowed here (use " + allowed + ")", null,
                    "method_not_allowed");
    }

    private void authorize(Request req) {
        if (opt.apiKey() == null) return;
        String h = req.getHeaders().get(HttpHeader.AUTHORIZATION);
        String given = h != null && h.regionMatches(true, 0, "Bearer ", 0, 7) ? h.substring(7).strip() : "";
        if (!MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), opt.apiKey().getBytes(StandardCharsets.UTF_8)))
            throw new ApiException(401, "invalid_request_error",
                    h == null ? "missing API key: send 'Authorization: Bearer KEY'" : "incorrect API key", null, "invalid_api_key");
    }

    private JsonNode parseJson(byte[] body) {
        if (body.length == 0) throw ApiException.badRequest("the request body is empty: send a JSON object", null, "invalid_json");
        JsonNode n;
        try {
            n = json.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("the request body is not valid JSON: " + e.getOriginalMessage(), null, "invalid_json");
        } catch (IOException e) {
            throw ApiException.badRequest("the request body could not be read: " + e.getMessage(), null, "invalid_json");
        }
        if (n == null || !n.isObject()) throw ApiException.badRequest("the request body must be a JSON object", null, "invalid_json");
        return n;
    }

    private void sendJson(Response res, Callback cb, int status, JsonNode body) {
        byte[] bytes;
        try {
            bytes = json.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        res.setStatus(status);
        res.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        res.write(true, ByteBuffer.wrap(bytes), cb);
    }

    private ObjectNode errorBody(ApiException e) {
        ObjectNode root = json.createObjectNode();
        ObjectNode err = root.putObject("error");
        err.put("message", e.getMessage()).put("type", e.type).put("param", e.param).put("code", e.code);
        return root;
    }

    private void sendError(Response res, Callback cb, ApiException e) {
        if (res.isCommitted()) {
            cb.failed(e);
            return;
        }
        if (e.status == 401) res.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer");
        if (e.status == 429 || e.status == 503) res.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
        if (e.status == 408 || e.status == 413) res.getHeaders().put(HttpHeader.CONNECTION, "close"); // the rest of the body was not read
        sendJson(res, cb, e.status, errorBody(e));
    }

    // ---------------------------------------------------------------- generation

    private enum Kind { COMPLETION, CHAT }

    /** One generation request, checked. */
    private record Job(Kind kind, String model, PreparedPrompts adapter, int[] prompt, SamplingParams params, boolean stream,
                       boolean includeUsage) {}

    /** The adapter a request names: null for the base model. */
    private PreparedPrompts resolve(String model) {
        if (model == null || model.equals(baseId)) return null;
        AdapterRegistry.Entry e = registry.get(model);
        if (e == null) throw models.unknown(model);
        return e.prompts();
    }

    private void completions(JsonNode body, Request req, Response res, Callback cb) {
        String model = text(body, "model", baseId);
        PreparedPrompts adapter = resolve(model);
        refuseUnsupported(body);
        if (body.hasNonNull("suffix")) throw ApiException.badRequest("'suffix' is not supported", "suffix");
        if (bool(body, "echo", false)) throw ApiException.badRequest("'echo' is not supported", "echo");
        int[] prompt = completionPrompt(body.get("prompt"));
        int maxTokens = integer(body, "max_tokens", 16); // OpenAI's default for completions
        run(new Job(Kind.COMPLETION, model, adapter, prompt, sampling(body, prompt, maxTokens, "max_tokens"), bool(body, "stream", false),
                includeUsage(body)), req, res, cb);
    }

    private void chat(JsonNode body, Request req, Response res, Callback cb) {
        String model = text(body, "model", baseId);
        PreparedPrompts adapter = resolve(model);
        refuseUnsupported(body);
        JsonNode tools = body.get("tools");
        if (tools != null && !tools.isNull() && !tools.isEmpty()) throw ApiException.badRequest("'tools' are not supported", "tools");
        JsonNode fmt = body.get("response_format");
        if (fmt != null && !fmt.isNull() && !"text".equals(fmt.path("type").asText("text")))
            throw ApiException.badRequest("'response_format' other than text is not supported", "response_format");
        List<ChatPrompt.Message> messages = ChatPrompt.parse(body.get("messages"));
        if (tokenizer == null) throw ApiException.badRequest("this model has no tokenizer: chat needs one (use /v1/completions with token ids)", "messages");
        // the adapter's own chat template where it was trained on one, else the Alpaca template
        int[] prompt = ChatPrompt.promptIds(messages, ChatPrompt.template(adapter == null ? null : registry.get(model)), tokenizer, opt.context());
        String field = body.hasNonNull("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        int maxTokens = integer(body, field, Math.max(0, opt.context() - prompt.length)); // default: up to the context
        run(new Job(Kind.CHAT, model, adapter, prompt, sampling(body, prompt, maxTokens, field), bool(body, "stream", false),
                includeUsage(body)), req, res, cb);
    }

    private static void refuseUnsupported(JsonNode body) {
        JsonNode n = body.get("n");
        if (n != null && !n.isNull() && !(n.isIntegralNumber() && n.asInt() == 1)) throw ApiException.badRequest("only n = 1 is supported", "n");
        JsonNode bestOf = body.get("best_of");
        if (bestOf != null && !bestOf.isNull() && !(bestOf.isIntegralNumber() && bestOf.asInt() == 1))
            throw ApiException.badRequest("only best_of = 1 is supported", "best_of");
        JsonNode lp = body.get("logprobs");
        if (lp != null && !lp.isNull() && !(lp.isBoolean() && !lp.asBoolean()) && !(lp.isNumber() && lp.asInt() == 0))
            throw ApiException.badRequest("'logprobs' is not supported", "logprobs");
        for (String f : new String[]{"presence_penalty", "frequency_penalty"}) {
            JsonNode v = body.get(f);
            if (v != null && !v.isNull() && !(v.isNumber() && v.asDouble() == 0))
                throw ApiException.badRequest("'" + f + "' is not supported; use repetition_penalty", f);
        }
        JsonNode bias = body.get("logit_bias");
        if (bias != null && !bias.isNull() && !bias.isEmpty()) throw ApiException.badRequest("'logit_bias' is not supported", "logit_bias");
    }

    private static boolean includeUsage(JsonNode body) {
        JsonNode so = body.get("stream_options");
        return so != null && so.isObject() && so.path("include_usage").asBoolean(false);
    }

    /** A completion prompt: a string (BOS added; refused early when it cannot fit) or an array of token ids (used as given). */
    private int[] completionPrompt(JsonNode p) {
        if (p == null || p.isNull()) throw ApiException.badRequest("'prompt' is required", "prompt");
        if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) p = p.get(0);
        if (p.isTextual()) {
            if (tokenizer == null) throw ApiException.badRequest("this model has no tokenizer: give the prompt as an array of token ids", "prompt");
            return PromptBudget.encode(tokenizer, p.asText(), opt.context(), "prompt");
        }
        if (p.isArray()) {
            int[] ids = new int[p.size()];
            for (int i = 0; i < ids.length; i++) {
                JsonNode t = p.get(i);
                if (!t.isIntegralNumber() || !t.canConvertToInt())
                    throw ApiException.badRequest(t.isTextual() || t.isArray() ? "only one prompt per request is supported"
                            : "'prompt' must be a string or an array of token ids", "prompt");
                ids[i] = t.asInt();
            }
            if (ids.length == 0) throw ApiException.badRequest("'prompt' is empty", "prompt");
            return ids;
        }
        throw ApiException.badRequest("'prompt' must be a string or an array of token ids", "prompt");
    }

    /** Sampling settings from the request; checks that the prompt and max tokens fit the context. */
    private SamplingParams sampling(JsonNode body, int[] prompt, int maxTokens, String maxField) {
        int ctx = opt.context();
        String promptField = body.has("messages") ? "messages" : "prompt";
        if (prompt.length >= ctx) throw PromptBudget.tooLong(prompt.length, true, ctx, promptField);
        if (maxTokens < 0) throw ApiException.badRequest(maxField + " must be >= 0, got " + maxTokens, maxField);
        if ((long) prompt.length + maxTokens > ctx)
            throw ApiException.badRequest("the context holds " + ctx + " tokens but " + (prompt.length + (long) maxTokens) + " were asked for ("
                    + prompt.length + " in the prompt, " + maxTokens + " to generate): lower " + maxField, maxField, "context_length_exceeded");
        double temperature = number(body, "temperature", 1.0);
        double topP = number(body, "top_p", 1.0);
        int topK = integer(body, "top_k", 0);
        if (topK == -1) topK = 0; // vLLM's "off"
        double rep = number(body, "repetition_penalty", 1.0);
        long seed = body.hasNonNull("seed") ? longValue(body, "seed") : ThreadLocalRandom.current().nextLong();
        List<String> stop = stops(body.get("stop"));
        boolean ignoreEos = bool(body, "ignore_eos", false);
        try {
            return new SamplingParams(temperature, topK, topP, rep, seed, maxTokens, stop, !ignoreEos);
        } catch (IllegalArgumentException e) {
            String m = e.getMessage(), param = null;
            for (String f : new String[]{"temperature", "top_k", "top_p", "repetition_penalty", "max_tokens"}) if (m.startsWith(f)) param = f;
            if (m.contains("stop")) param = "stop";
            if ("max_tokens".equals(param)) param = maxField;
            throw ApiException.badRequest(m, param);
        }
    }

    private static List<String> stops(JsonNode s) {
        if (s == null || s.isNull()) return List.of();
        if (s.isTextual()) return List.of(s.asText());
        if (s.isArray()) {
            List<String> out = new ArrayList<>();
            for (JsonNode x : s) {
                if (!x.isTextual()) throw ApiException.badRequest("'stop' must be a string or a list of strings", "stop");
                out.add(x.asText());
            }
            return out;
        }
        throw ApiException.badRequest("'stop' must be a string or a list of strings", "stop");
    }

    /** What the scheduler thread hands to a streaming request: text, then the result. */
    private sealed interface Event {}

    private record Text(String text) implements Event {}

    private record End(Generator.Result result) implements Event {}

    private record Failed(Throwable error) implements Event {}

    private void run(Job job, Request req, Response res, Callback cb) {
        if (draining) throw new ApiException(503, "server_error", "the server is shutting down", null, "server_shutting_down");
        if (inFlight.incrementAndGet() > opt.queue()) {
            inFlight.decrementAndGet();
            rejected.incrementAndGet();
            throw new ApiException(429, "rate_limit_error", "the server is busy: " + opt.queue()
                    + " requests are already waiting or running; retry later", null, "rate_limit_exceeded");
        }
        BlockingQueue<Event> events = job.stream() ? new LinkedBlockingQueue<>() : null;
        Generator.Sink sink = events == null ? null : new Generator.Sink() {
            @Override
            public void token(int id, String text) {
                if (!text.isEmpty()) events.add(new Text(text));
            }

            @Override
            public void done(Generator.Result r) {
                events.add(new End(r));
            }
        };
        Generator.Sequence seq;
        try {
            seq = scheduler.submit(job.prompt(), job.adapter(), job.params(), sink);
        } catch (IllegalArgumentException e) {
            inFlight.decrementAndGet();
            throw ApiException.badRequest(e.getMessage(), job.kind() == Kind.CHAT ? "messages" : "prompt");
        } catch (RuntimeException e) {
            inFlight.decrementAndGet();
            throw e;
        }
        admitted.incrementAndGet();
        seq.result.whenComplete((r, e) -> {
            if (e != null && events != null) events.add(new Failed(e));
            inFlight.decrementAndGet();
            if (e != null) failed.incrementAndGet();
            else if (r.finishReason().equals("cancelled")) cancelled.incrementAndGet();
            else {
                completed.incrementAndGet();
                promptTokens.addAndGet(r.promptTokens());
                completionTokens.addAndGet(r.tokenIds().length);
            }
        });
        // a quiet connection is not a dead one: generating may take longer than the idle timeout (and a stop
        // shortens that timeout), so a request that waits is not failed for it; a failed connection cancels
        req.addIdleTimeoutListener(t -> false);
        req.addFailureListener(t -> seq.cancel());
        String id = (job.kind() == Kind.CHAT ? "chatcmpl-" : "cmpl-") + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
        long created = System.currentTimeMillis() / 1000;
        if (job.stream()) stream(job, seq, events, id, created, res, cb);
        else {
            ClientWatch watch = new ClientWatch(req);
            Generator.Result r = watch.await(seq);
            if (r.finishReason().equals("cancelled")) {
                if (watch.clientGone()) {
                    cb.failed(new EofException("the client closed the connection")); // nobody to answer; Jetty drops the connection
                    return;
                }
                throw cancelled();
            }
            if (watch.mustClose()) res.getHeaders().put(HttpHeader.CONNECTION, "close");
            ObjectNode o = head(job, id, created, job.kind() == Kind.CHAT ? "chat.completion" : "text_completion");
            ObjectNode choice = o.putArray("choices").addObject();
            choice.put("index", 0);
            if (job.kind() == Kind.CHAT) choice.putObject("message").put("role", "assistant").put("content", r.text());
            else choice.put("text", r.text()).putNull("logprobs");
            choice.put("finish_reason", finishReason(r));
            o.set("usage", usage(r));
            sendJson(res, cb, 200, o);
        }
    }

    private static ApiException cancelled() {
        return new ApiException(503, "server_error", "the request was cancelled (the server is stopping)", null, "cancelled");
    }

    private ObjectNode head(Job job, String id, long created, String object) {
        return json.createObjectNode().put("id", id).put("object", object).put("created", created).put("model", job.model());
    }

    private static String finishReason(Generator.Result r) {
        return switch (r.finishReason()) {
            case "eos", "stop" -> "stop";
            case "length" -> "length";
            default -> r.finishReason();
        };
    }

    private ObjectNode usage(Generator.Result r) {
        int c = r.tokenIds().length;
        return json.createObjectNode().put("prompt_tokens", r.promptTokens()).put("completion_tokens", c).put("total_tokens", r.promptTokens() + c);
    }

    /** Server-sent events: a chunk per piece of text, a last chunk with the finish reason, [DONE]. A failed write cancels. */
    private void stream(Job job, Generator.Sequence seq, BlockingQueue<Event> events, String id, long created, Response res, Callback cb) {
        boolean chat = job.kind() == Kind.CHAT;
        String object = chat ? "chat.completion.chunk" : "text_completion";
        res.setStatus(200);
        res.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        res.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        try {
            if (chat) {
                ObjectNode c = head(job, id, created, object);
                ObjectNode ch = c.putArray("choices").addObject().put("index", 0);
                ch.putObject("delta").put("role", "assistant").put("content", "");
                ch.putNull("finish_reason");
                send(res, c);
            }
            List<Event> batch = new ArrayList<>();
            Generator.Result result = null;
            Throwable failure = null;
            while (result == null && failure == null) {
                batch.clear();
                Event first = events.poll(15, TimeUnit.SECONDS);
                if (first == null) {
                    write(res, ": keep-alive\n\n", false); // also finds out whether the client is still there
                    continue;
                }
                batch.add(first);
                events.drainTo(batch);
                StringBuilder text = new StringBuilder();
                for (Event e : batch) {
                    if (e instanceof Text t) text.append(t.text());
                    else if (e instanceof End end) result = end.result();
                    else if (e instanceof Failed f) failure = f.error();
                }
                if (!text.isEmpty()) send(res, chunk(job, id, created, object, text.toString(), null));
            }
            if (failure != null) send(res, errorBody(new ApiException(500, "server_error", "generation failed: " + failure, null, null)));
            else if (result.finishReason().equals("cancelled")) send(res, errorBody(cancelled()));
            else {
                send(res, chunk(job, id, created, object, null, finishReason(result)));
                if (job.includeUsage()) {
                    ObjectNode u = head(job, id, created, object);
                    u.putArray("choices");
                    u.set("usage", usage(result));
                    send(res, u);
                }
            }
            write(res, "data: [DONE]\n\n", true);
            cb.succeeded();
        } catch (IOException e) {
            seq.cancel(); // the client went away
            cb.failed(e);
        } catch (InterruptedException e) {
            seq.cancel();
            Thread.currentThread().interrupt();
            cb.failed(e);
        }
    }

    private ObjectNode chunk(Job job, String id, long created, String object, String text, String finish) {
        ObjectNode c = head(job, id, created, object);
        ObjectNode ch = c.putArray("choices").addObject().put("index", 0);
        if (job.kind() == Kind.CHAT) {
            ObjectNode d = ch.putObject("delta");
            if (text != null) d.put("content", text);
        } else ch.put("text", text == null ? "" : text).putNull("logprobs");
        ch.put("finish_reason", finish);
        return c;
    }

    private void send(Response res, JsonNode event) throws IOException {
        write(res, "data: " + json.writeValueAsString(event) + "\n\n", false);
    }

    private static void write(Response res, String s, boolean last) throws IOException {
        Content.Sink.write(res, last, ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8)));
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "Server[%s on %s:%d, %d slots x %d, queue %d]", baseId, opt.host(), port(), opt.slots(), opt.context(),
                opt.queue());
    }
}

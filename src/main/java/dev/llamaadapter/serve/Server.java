package dev.llamaadapter.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llamaadapter.generate.AdapterRegistry;
import dev.llamaadapter.generate.Generator;
import dev.llamaadapter.generate.SamplingParams;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.PreparedPrompts;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.tokenizer.Tokenizer;
import org.eclipse.jetty.http.HttpHeader;
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
import java.util.HexFormat;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;

import static dev.llamaadapter.serve.JsonFields.bool;
import static dev.llamaadapter.serve.JsonFields.integer;
import static dev.llamaadapter.serve.JsonFields.text;
import static dev.llamaadapter.serve.OpenAiRequests.includeUsage;
import static dev.llamaadapter.serve.OpenAiRequests.refuseUnsupported;

/**
 * An HTTP server with OpenAI's completion API over one base model and its adapters: the request's
 * {@code model} names an adapter (or the base), and one {@link Scheduler} thread decodes every running
 * request in one batch, each through its own adapter and KV cache slot.
 *
 * <p>Endpoints: {@code POST /v1/completions}, {@code POST /v1/chat/completions} (both streamed as
 * server-sent events with {@code "stream": true}), {@code GET /v1/models}, {@code GET /v1/models/{id}},
 * {@code GET/POST /admin/adapters}, {@code DELETE /admin/adapters/{name}}, {@code GET /admin/stats} and
 * {@code GET /health} (open without the API key, as is the playground page at {@code /}, {@link StaticFiles}).
 * Errors are OpenAI's error objects.
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
 * <p>By job: this class holds the lifecycle, the route table, the key check and the OpenAI request
 * parsing; {@link Admission} the queue and the counters, {@link OpenAiResponses} the response schema,
 * {@link SseWriter} streaming, {@link AdminRoutes} the admin endpoints, {@link StaticFiles} the page.
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
     * Counters since start: requests admitted, refused with 429, finished, cancelled (client gone, a page's
     * stop, or the server stopping), failed (a step failed); tokens; decoding steps; the largest batch decoded;
     * requests now waiting or running; connections refused for the cap per client. Now: the KV cache slots,
     * those decoding and the sequences waiting for one; tokens generated per second over the last minute
     * (over the time since start while that is shorter, {@link Throughput}); seconds since start.
     */
    public record Stats(long admitted, long rejected, long completed, long cancelled, long failed, long promptTokens, long completionTokens,
                        long steps, long maxBatch, int inFlight, long refusedConnections, int slots, int slotsInUse, int queued,
                        double tokensPerSecond, long uptimeSeconds) {}

    private final Tokenizer tokenizer; // null: token-id prompts only
    private final dev.llamaadapter.data.chat.ChatTemplate baseTemplate; // the base model's own chat template; null: none (Alpaca)
    private final Options opt;
    private final String baseId;
    private final AdapterRegistry registry;
    private final Scheduler scheduler;
    private final ObjectMapper json = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private final ModelCatalog models;
    private final AdminRoutes admin;
    private final OpenAiResponses responses = new OpenAiResponses(json);
    private final StaticFiles page = new StaticFiles();
    private final Admission admission;
    private final long startedAt = System.currentTimeMillis();

    private final ClientConnectionLimit connectionLimit;
    private org.eclipse.jetty.server.Server jetty;
    private QueuedThreadPool httpPool;
    private volatile boolean draining;
    private final CountDownLatch stopped = new CountDownLatch(1);

    /** A server over this base model; tokenizer may be null (then prompts must be token ids, and chat is refused). */
    public Server(BaseModel base, Tokenizer tokenizer, Options options) {
        this.tokenizer = tokenizer;
        try {
            this.baseTemplate = dev.llamaadapter.data.chat.ChatTemplate.ofModel(base.dir());
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        this.opt = options;
        this.baseId = options.modelId() != null ? options.modelId() : defaultId(base.dir());
        Transformer model = base.transformer();
        this.registry = new AdapterRegistry(base, model);
        this.scheduler = new Scheduler(() -> new Generator(model, tokenizer, options.slots(), options.context()), options.slots());
        this.connectionLimit = new ClientConnectionLimit(options.connections().maxPerClient());
        this.admission = new Admission(options.queue());
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
        Admission a = admission;
        int load = scheduler.load(), slots = opt.slots();
        return new Stats(a.admitted.get(), a.rejected.get(), a.completed.get(), a.cancelled.get(), a.failed.get(), a.promptTokens.get(),
                a.completionTokens.get(), scheduler.steps.get(), scheduler.maxBatch.get(), a.inFlight(), connectionLimit.refused(), slots,
                Math.min(load, slots), Math.max(0, load - slots), a.throughput.perSecond(), (System.currentTimeMillis() - startedAt) / 1000);
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
        if (method.equals("GET") || method.equals("HEAD")) {
            StaticFiles.File f = page.lookup(path); // the playground page: open, as it must load to ask for the key
            if (f != null) {
                StaticFiles.send(f, req, res, cb);
                return;
            }
        }
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

    private void sendError(Response res, Callback cb, ApiException e) {
        if (res.isCommitted()) {
            cb.failed(e);
            return;
        }
        if (e.status == 401) res.getHeaders().put(HttpHeader.WWW_AUTHENTICATE, "Bearer");
        if (e.status == 429 || e.status == 503) res.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
        if (e.status == 408 || e.status == 413) res.getHeaders().put(HttpHeader.CONNECTION, "close"); // the rest of the body was not read
        sendJson(res, cb, e.status, responses.error(e));
    }

    // ---------------------------------------------------------------- generation

    enum Kind { COMPLETION, CHAT }

    /** One generation request, checked. */
    record Job(Kind kind, String model, PreparedPrompts adapter, int[] prompt, SamplingParams params, boolean stream,
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
        java.util.List<ChatPrompt.Message> messages = ChatPrompt.parse(body.get("messages"));
        if (tokenizer == null) throw ApiException.badRequest("this model has no tokenizer: chat needs one (use /v1/completions with token ids)", "messages");
        // the adapter's own chat template where it was trained on one, else the Alpaca template; the base model's
        // own template (an instruct model's) when the base answers
        dev.llamaadapter.data.chat.ChatTemplate template = adapter == null ? baseTemplate : ChatPrompt.template(registry.get(model));
        int[] prompt = ChatPrompt.promptIds(messages, template, tokenizer, opt.context());
        String field = body.hasNonNull("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        int maxTokens = integer(body, field, Math.max(0, opt.context() - prompt.length)); // default: up to the context
        run(new Job(Kind.CHAT, model, adapter, prompt, sampling(body, prompt, maxTokens, field), bool(body, "stream", false),
                includeUsage(body)), req, res, cb);
    }

    /** A completion's prompt ({@link OpenAiRequests#completionPrompt}). */
    private int[] completionPrompt(JsonNode p) {
        return OpenAiRequests.completionPrompt(p, tokenizer, opt.context());
    }

    /** The request's sampling settings ({@link OpenAiRequests#sampling}). */
    private SamplingParams sampling(JsonNode body, int[] prompt, int maxTokens, String maxField) {
        return OpenAiRequests.sampling(body, prompt, maxTokens, maxField, opt.context());
    }

    private void run(Job job, Request req, Response res, Callback cb) {
        if (draining) throw new ApiException(503, "server_error", "the server is shutting down", null, "server_shutting_down");
        admission.enter();
        SseWriter sse = job.stream() ? new SseWriter(json, responses) : null;
        Generator.Sequence seq;
        try {
            seq = scheduler.submit(job.prompt(), job.adapter(), job.params(), admission.counting(sse == null ? null : sse.sink()));
        } catch (IllegalArgumentException e) {
            admission.leave();
            throw ApiException.badRequest(e.getMessage(), job.kind() == Kind.CHAT ? "messages" : "prompt");
        } catch (RuntimeException e) {
            admission.leave();
            throw e;
        }
        if (sse != null) seq.result.whenComplete((r, e) -> {
            if (e != null) sse.failed(e);
        });
        admission.track(seq);
        // a quiet connection is not a dead one: generating may take longer than the idle timeout (and a stop
        // shortens that timeout), so a request that waits is not failed for it; a failed connection cancels
        req.addIdleTimeoutListener(t -> false);
        req.addFailureListener(t -> seq.cancel());
        String id = (job.kind() == Kind.CHAT ? "chatcmpl-" : "cmpl-") + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
        long created = System.currentTimeMillis() / 1000;
        if (sse != null) {
            sse.stream(job, seq, id, created, res, cb);
            return;
        }
        ClientWatch watch = new ClientWatch(req);
        Generator.Result r = watch.await(seq);
        if (r.finishReason().equals("cancelled")) {
            if (watch.clientGone()) {
                cb.failed(new EofException("the client closed the connection")); // nobody to answer; Jetty drops the connection
                return;
            }
            throw OpenAiResponses.cancelled();
        }
        if (watch.mustClose()) res.getHeaders().put(HttpHeader.CONNECTION, "close");
        sendJson(res, cb, 200, responses.complete(job, id, created, r));
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "Server[%s on %s:%d, %d slots x %d, queue %d]", baseId, opt.host(), port(), opt.slots(), opt.context(),
                opt.queue());
    }
}

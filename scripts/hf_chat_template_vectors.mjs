// Expected renderings of the real chat templates (the chat_template of tokenizer_config.json in
// ../shared/assets/tokenizers/{hf-llama3_1,hf-qwen3,hf-gemma3}) from Hugging Face's own JavaScript Jinja,
// so ChatTemplateVectorsTest can hold our renderer to it.
//
//   mkdir -p /tmp/hfref && (cd /tmp/hfref && npm install @huggingface/jinja@0.5.13)
//   NODE_PATH=/tmp/hfref/node_modules node scripts/hf_chat_template_vectors.mjs \
//       > src/test/resources/chat/chat-template-vectors.json
//
// The variables are what transformers' apply_chat_template passes: the conversation's own (messages, and
// tools or enable_thinking where it has them), add_generation_prompt, and the special tokens that
// tokenizer_config.json names (a string, or an object whose "content" is the text).
//
// Where this Jinja is not Python's, transformers is followed and the conversations stay clear of the
// difference: its strip/lstrip/rstrip ignore their argument (Qwen3's lstrip('\n') would also eat spaces),
// and it prints true/none where Python prints True/None. PythonSemanticsTest covers those cases.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const { Template } = require("@huggingface/jinja");

const here = path.dirname(fileURLToPath(import.meta.url));
const shared = path.resolve(here, "../../shared/assets/tokenizers");
const families = ["hf-llama3_1", "hf-qwen3", "hf-gemma3"];
const specialKeys = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];

const weather = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The current weather in a city, in °C or °F.",
    parameters: {
      type: "object",
      properties: { city: { type: "string", description: "e.g. \"Paris\"" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
      required: ["city"],
    },
  },
};

// Each conversation is the file a user would pass to chat-template: a list of messages, or an object with
// "messages" and further template variables.
const conversations = {
  "user-only": [{ role: "user", content: "Hello!" }],
  "system-user": [
    { role: "system", content: "You are a helpful assistant." },
    { role: "user", content: "What is 2+2?" },
  ],
  "multi-turn": [
    { role: "system", content: "Answer briefly." },
    { role: "user", content: "Capital of France?" },
    { role: "assistant", content: "Paris." },
    { role: "user", content: "And of Japan?" },
  ],
  "whitespace": [
    { role: "user", content: "  padded message \n\n" },
    { role: "assistant", content: " answer\t" },
    { role: "user", content: "\nnext\r\n" },
  ],
  "unicode": [
    { role: "user", content: "你好 😀 مرحبا שלום" },
    { role: "assistant", content: "Ça va? ✓ — «oui»" },
    { role: "user", content: "Ελληνικά 👍🏽" },
  ],
  // Unicode whitespace at the edges: trim (Python's str.strip) takes it off, not only ASCII's.
  "unicode-whitespace": [
    { role: "user", content: "\u00a0\u3000 wide\u2003spaces \u2003\n" },
    { role: "assistant", content: "\u2002ok\u00a0" },
  ],
  "template-syntax-in-content": [
    { role: "user", content: "{{ bos_token }} {% if true %}x{% endif %} {# c #} <|eot_id|> <end_of_turn> <|im_end|>" },
    { role: "assistant", content: "It says {{ and }}." },
    { role: "user", content: "quotes \" and \\ backslash and 'single'" },
  ],
  "empty-content": [
    { role: "user", content: "" },
    { role: "assistant", content: "" },
    { role: "user", content: "ok" },
  ],
  "thinking-in-content": [
    { role: "user", content: "What is 2+2?" },
    { role: "assistant", content: "<think>\n2 plus 2 is 4.\n</think>\n\nThe answer is 4." },
    { role: "user", content: "And 3+3?" },
    { role: "assistant", content: "<think>\nSix.\n</think>\n\n6" },
  ],
  "reasoning-content-field": [
    { role: "user", content: "What is 2+2?" },
    { role: "assistant", content: "4", reasoning_content: "Adding 2 and 2 gives 4." },
  ],
  "tools": {
    tools: [weather],
    messages: [
      { role: "system", content: "You may look up the weather." },
      { role: "user", content: "Weather in Paris and Tokyo?" },
      {
        role: "assistant",
        content: "",
        tool_calls: [
          { type: "function", function: { name: "get_weather", arguments: { city: "Paris", unit: "celsius" } } },
          { type: "function", function: { name: "get_weather", arguments: "{\"city\": \"Tokyo\"}" } },
        ],
      },
      { role: "tool", content: "{\"temperature\": 21}" },
      { role: "tool", content: "sunny, 25 °C" },
      { role: "assistant", content: "Paris: 21 °C; Tokyo: sunny, 25 °C." },
      { role: "user", content: "<tool_response>\nnot really a tool\n</tool_response>" },
    ],
  },
  "tools-no-system": {
    tools: [weather],
    messages: [
      { role: "user", content: "Weather in Oslo?" },
      { role: "assistant", content: "Let me check.", tool_calls: [{ name: "get_weather", arguments: { city: "Oslo" } }] },
      { role: "tool", content: "-3" },
    ],
  },
  "thinking-off": { enable_thinking: false, messages: [{ role: "user", content: "Quick answer: 1+1?" }] },
  "content-parts": [
    { role: "system", content: [{ type: "text", text: "Describe images briefly." }] },
    { role: "user", content: [{ type: "image" }, { type: "text", text: "  What is this?  " }] },
    { role: "assistant", content: [{ type: "text", text: "A cat." }] },
  ],
  "roles-not-alternating": [
    { role: "user", content: "one" },
    { role: "user", content: "two" },
  ],
  "assistant-first": [
    { role: "assistant", content: "I speak first." },
    { role: "user", content: "Hi." },
  ],
};

// Which conversations each template is meant for: content parts only where the template reads them
// (Gemma), tools and thinking where it has them (Qwen3); the rest everywhere.
const onlyFor = {
  "content-parts": ["hf-gemma3"],
  "thinking-in-content": ["hf-qwen3", "hf-llama3_1"],
  "reasoning-content-field": ["hf-qwen3"],
  "tools": ["hf-qwen3"],
  "tools-no-system": ["hf-qwen3"],
  "thinking-off": ["hf-qwen3", "hf-llama3_1", "hf-gemma3"],
  // Qwen3's content.lstrip('\n') would take the leading U+2002 here, where Python keeps it (see above).
  "unicode-whitespace": ["hf-llama3_1", "hf-gemma3"],
};

function specialTokens(config) {
  const out = {};
  for (const key of specialKeys) {
    const v = config[key];
    if (typeof v === "string") out[key] = v;
    else if (v && typeof v === "object" && typeof v.content === "string") out[key] = v.content;
  }
  return out;
}

// Constructs that real templates (Llama 3.2, Mistral, DeepSeek-R1, ...) use, each in a small template of our
// own over one conversation: rendered alone, so they are checked even where ../shared is absent. (Left out:
// selectattr(..., 'undefined'), which this Jinja gets wrong, selecting nothing.)
const constructs = [
  "{%- set ns = namespace() %}{%- set ns.index = 0 %}{%- for message in messages | rejectattr('role', 'equalto', 'tool') | rejectattr('role', 'equalto', 'system') %}{%- if (message['role'] == 'user') != (ns.index % 2 == 0) %}{{ raise_exception('alternate') }}{%- endif %}{%- set ns.index = ns.index + 1 %}{{ message.role }};{%- endfor %}",
  "{%- for m in messages %}{{ loop.index }}/{{ loop.length }}{{ '!' if loop.last }}{{ loop.revindex0 }} {% endfor %}",
  "{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content'] %}{%- set loop_messages = messages[1:] %}{%- else %}{%- set loop_messages = messages %}{%- endif %}{{ loop_messages | length }}|{% if system_message is defined %}sys{% endif %}",
  "{%- for m in messages %}{%- if m.tool_calls is defined and m.tool_calls is not none %}{%- for tc in m.tool_calls %}{%- if not tc.id is defined or tc.id|length != 9 %}{{ raise_exception('bad id ' ~ tc.id) }}{%- endif %}[{{ tc.id }}]{{ tc.function.arguments | tojson }}{%- endfor %}{%- endif %}{%- endfor %}",
  "{{ messages | map(attribute='role') | join(',') }}|{{ messages | selectattr('role', 'equalto', 'user') | list | length }}|{{ (messages | last).content }}|{{ messages[-1]['role'] }}",
  "{%- for m in messages %}{%- if m.content is string %}{{ m.content | length }}{% endif %}{{ m.role | capitalize }}{% if not loop.last %}, {% endif %}{%- endfor %}",
  "{%- set sys = messages | selectattr('role', 'equalto', 'system') | list %}{{ sys | length }}{%- for m in messages if m.role != 'system' %}<{{ m.role }}{{ '/' if loop.last }}>{%- endfor %}",
  "{% macro render(m) %}[{{ m.role }}:{{ m.content | trim }}]{% endmacro %}{%- for m in messages %}{{ render(m) }}{%- endfor %}",
  "{{ messages[0].content.replace('\\n', ' ').upper() }}|{{ messages[0]['content'][:3] }}|{{ messages[::-1][0].role }}",
  "{%- if not date_string is defined %}{%- set date_string = '26 Jul 2024' %}{%- endif %}{%- if not tools is defined %}{%- set tools = none %}{%- endif %}{{ date_string }}|{% if tools is not none %}tools{% endif %}|{% if not messages|length == 5 %}not five{% else %}five{% endif %}",
  "x\n  {%- for m in messages %}\n  {% if m.role == 'user' %}\n    U {{ m.content }}\n  {% endif %}\n  {%- endfor %}\ny",
];
const constructVariables = {
  messages: [
    { role: "system", content: "Sys\nprompt" },
    { role: "user", content: " hi " },
    { role: "assistant", content: "yo", tool_calls: [{ id: "abcdefghi", function: { name: "f", arguments: { a: 1, b: "é" } } }] },
    { role: "tool", content: "r" },
    { role: "user", content: "bye" },
  ],
  date_string: "06 Dec 2026",
  add_generation_prompt: true,
};

const out = { generator: "@huggingface/jinja@0.5.13 via scripts/hf_chat_template_vectors.mjs", conversations, cases: [],
  construct_variables: constructVariables, constructs: [] };
for (const template of constructs) {
  const c = { template };
  try {
    c.text = new Template(template).render(constructVariables);
  } catch (e) {
    c.error = String(e.message);
  }
  out.constructs.push(c);
}
for (const family of families) {
  const config = JSON.parse(readFileSync(path.join(shared, family, "tokenizer_config.json"), "utf8"));
  const template = new Template(config.chat_template);
  for (const [name, conversation] of Object.entries(conversations)) {
    if (onlyFor[name] && !onlyFor[name].includes(family)) continue;
    const vars = Array.isArray(conversation) ? { messages: conversation } : conversation;
    for (const addGenerationPrompt of [true, false]) {
      const c = { family, conversation: name, add_generation_prompt: addGenerationPrompt };
      try {
        c.text = template.render({ ...specialTokens(config), ...vars, add_generation_prompt: addGenerationPrompt });
      } catch (e) {
        c.error = String(e.message);
      }
      out.cases.push(c);
    }
  }
}
process.stdout.write(JSON.stringify(out, null, 1) + "\n");

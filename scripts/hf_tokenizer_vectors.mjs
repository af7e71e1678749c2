// Expected ids and decoded text for the real tokenizer.json files in ../shared/assets/tokenizers, from
// Hugging Face's own JavaScript tokenizers library, so HfTokenizerVectorsTest can hold our tokenizer to it.
//
//   mkdir -p /tmp/hfref && (cd /tmp/hfref && npm install @huggingface/tokenizers@0.2.0)
//   NODE_PATH=/tmp/hfref/node_modules node scripts/hf_tokenizer_vectors.mjs \
//       > src/test/resources/tokenizer/hf-real-vectors.json
//
// Encoding is add_special_tokens: false (our encode adds no BOS); decoding skips special tokens (as our
// decode does) and leaves tokenization spaces alone: clean-up is a transformers-level extra that the
// tokenizers library itself never applies, and it loses text (" ." becomes ".").
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

// NODE_PATH is honoured by require, not by import: resolve the package through require.
const require = createRequire(import.meta.url);
const { Tokenizer } = require("@huggingface/tokenizers");

const here = path.dirname(fileURLToPath(import.meta.url));
const shared = path.resolve(here, "../../shared/assets/tokenizers");
const families = ["hf-llama3_1", "hf-qwen3", "hf-gemma3"];

// Hand-picked texts: each line of the brief (code, whitespace runs, CJK, RTL, emoji, special-token text)
// plus the corners where tokenizers usually disagree (contractions, digit runs, lone surrogates' neighbours,
// combining marks, normalization forms).
const base = [
  "", " ", "  ", "a", "Hello", "Hello world", " Hello world", "Hello  world", "Hello   world", "Hello\tworld",
  "Hello\nworld", "Hello\n\nworld", "Hello \n world", "Hello world ", "Hello world  ", "  leading", "trailing  ",
  "The quick brown fox jumps over the lazy dog.", "THE QUICK BROWN FOX", "iPhone iPad MacBookPro",
  "I'm you're he's we've they'll she'd it's", "I'M YOU'RE HE'S WE'VE", "don't won't can't shouldn't",
  "'s 't 're", "rock 'n' roll", "\"quoted\" and 'single'", "e.g. i.e. etc.", "Mr. Smith went to Washington.",
  "Hello, world! How are you? I'm fine.", "Wait... what?!", "a-b_c.d/e\\f", "email@example.com", "https://huggingface.co/docs?x=1&y=2#frag",
  "1", "12", "123", "1234", "12345", "1234567890", "3.14159", "-42", "1,000,000", "0x1F 0b1010 1e-9", "2024-12-06T21:14:29Z",
  "٠١٢٣٤٥٦٧٨٩", "１２３", "½ ¾ ²³", "Ⅻ ⅷ",
  // code
  "def f(x):\n    return x * 2\n", "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}", "if x:\n        pass\n    else:\n\t\treturn",
  "public static void main(String[] args) { System.out.println(\"hi\"); }", "const re = /a+b*/g; // comment",
  "<div class=\"x\"><span>text</span></div>", "SELECT * FROM t WHERE id = 1;", "#include <stdio.h>\nint main(){return 0;}",
  "x=>x+1", "a != b && c >= d || !e", "```python\nprint('hi')\n```", "    indented four", "\t\ttabbed twice",
  "{\"key\": [1, 2, {\"n\": null}]}", "$HOME/.bashrc && echo $?", "fn main() -> Result<(), Box<dyn Error>> {}",
  // whitespace runs
  "\n", "\n\n", "\n\n\n", "\r\n", "\r\n\r\n", "\t", "\t\t", "a\r\nb", "a\rb", " \n ", "\n \n", " \t \n", "a \t b",
  "\u00a0", "a\u00a0b", "a\u2003b", "a\u3000b", "a\u200bb", "a\u2028b", "\u000b\u000c", "end.\n\n\nNew paragraph",
  // CJK
  "你好，世界", "我爱北京天安门。", "日本語のテキストです。", "ひらがな カタカナ 漢字", "한국어 텍스트입니다", "中文 English 混合 text",
  "「引用」『二重』", "１２３ＡＢＣ", "ｶﾀｶﾅ", "𠜎𠜱𠝹𠱓", "龍龖龘",
  // RTL and other scripts
  "مرحبا بالعالم", "שלום עולם", "English עברית mixed", "السلام عليكم 123", "\u202eRTL override\u202c", "\u200fmark\u200e",
  "Привет, мир!", "Ελληνικά κείμενα", "हिन्दी पाठ", "ภาษาไทย", "ქართული", "Tiếng Việt có dấu", "Ærøskøbing Ørsted",
  "naïve café résumé", "cafe\u0301", "e\u0301\u0302\u0303", "Å vs A\u030a", "ﬁ ligature", "Straße STRASSE", "İstanbul ıi",
  // emoji
  "😀", "😀😃😄", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷🇯🇵", "❤️", "✔︎", "Hello 👋 world 🌍!", "🤖🧠💡", "a😀b", " 😀 ",
  "\u{1F600}\u{1F64F}\u{1F680}", "©®™", "→ ⇒ ∀∃ ∑ √ ∞", "♠♥♦♣",
  // odd characters
  "\u0000", "a\u0000b", "\u0007bell", "\u007f", "\ufeffBOM", "\ufffd", "\u{10FFFF}", "\ue000 private", "‐‑‒–—―", "“smart” ‘quotes’",
  "▁", "▁▁", "a▁b", "Ġ", "Ċ", "<0x0A>", "<unk>",
];

// Special-token text each family knows, in and around ordinary text.
const specials = [
  "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
  "<|reserved_special_token_0|>", "<|python_tag|>", "<|eom_id|>",
  "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", "<|endoftext|>", "<think>\nreasoning\n</think>\n\nAnswer",
  "<tool_call>\n{\"name\": \"f\"}\n</tool_call>", "<|fim_prefix|>def<|fim_suffix|>x<|fim_middle|>",
  "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n", "<eos>", "<pad>", "<start_of_image>",
  "<mask>", "<unused0>", "<table><tr><td>1</td></tr></table>", "<b>bold</b> <i>it</i>", "<s>x</s>",
  "text<|eot_id|>more", "text <|eot_id|> more", "<|eot_id|><|eot_id|>", "<|eot_id", "<|im_end|>x", "<end_of_turn>\n",
];

// Whitespace runs of every length up to 33 (Gemma has added tokens for runs of ▁, \n and \t up to 31),
// between words, at the edges and mixed.
const runs = [];
for (const n of [2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33]) {
  runs.push("a" + " ".repeat(n) + "b", " ".repeat(n) + "x", "x" + "\n".repeat(n), "\t".repeat(n) + "y", "z" + " \n".repeat(n));
}
runs.push("  def f():\n      return 1\n\n\n  x", "a \u00a0 b", "\n \t\n\t \n");

// Mixtures from a fixed seed, so that regenerating the file gives the same strings.
let seed = 20261206;
const next = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
const atoms = ["Hello", " world", "  ", "\n", "\t", "你好", "世界", "مرحبا", "שלום", "😀", "👍🏽", "123", "4567", ".", ",", "'s", "'LL",
  "<|eot_id|>", "<|im_start|>", "<end_of_turn>", "<think>", "é", "e\u0301", "ﬁ", "def", "(x)", "{}", "->", "==", "\r\n", "▁", "Ä", "ß"];
const mixes = [];
for (let i = 0; i < 120; i++) {
  let s = "";
  const len = 1 + next(10);
  for (let k = 0; k < len; k++) s += atoms[next(atoms.length)];
  mixes.push(s);
}

const texts = [...base, ...specials, ...runs, ...mixes];
const out = { generator: "@huggingface/tokenizers@0.2.0 via scripts/hf_tokenizer_vectors.mjs", texts, families: {}, random_ids: {} };
for (const family of families) {
  const dir = path.join(shared, family);
  const json = JSON.parse(readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
  const config = JSON.parse(readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"));
  const tok = new Tokenizer(json, config);
  out.families[family] = texts.map((text) => {
    const ids = tok.encode(text, { add_special_tokens: false }).ids;
    const decoded = ids.length === 0 ? "" : tok.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
    return { ids, decoded };
  });
  // Decoding alone, on seeded random ids: byte tokens that do not form characters, special tokens in the
  // middle of a character's bytes, added tokens anywhere. Gemma's <0xNN> tokens are left out: for bytes that
  // are not UTF-8 this library writes one U+FFFD per ill-formed run, while the Rust library (and ours)
  // writes one per byte.
  const vocabSize = [...Object.values(json.model.vocab), ...json.added_tokens.map((t) => t.id)].reduce((a, b) => Math.max(a, b)) + 1;
  const addedIds = json.added_tokens.map((t) => t.id);
  const byteToken = (id) => /^<0x[0-9A-F]{2}>$/.test(tok.id_to_token(id) ?? "");
  out.random_ids[family] = [];
  for (let i = 0; i < 150; i++) {
    const ids = [];
    const len = 1 + next(24);
    while (ids.length < len) {
      const id = next(10) === 0 ? addedIds[next(addedIds.length)] : next(vocabSize);
      if (family === "hf-gemma3" && byteToken(id)) continue;
      if (tok.id_to_token(id) === undefined) continue;
      ids.push(id);
    }
    out.random_ids[family].push({ ids, decoded: tok.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false }) });
  }
}
process.stdout.write(JSON.stringify(out) + "\n");

/**
 * Tokenizers for LLaMA-family models, behind one interface, {@link dev.llamaadapter.tokenizer.Tokenizer}
 * (opened with {@code Tokenizer.load(dir or file)}), plus {@link dev.llamaadapter.tokenizer.StreamDecoder}
 * for printing generated text token by token.
 *
 * <p>How the pieces fit:
 * <ul>
 *   <li>{@code TokenizerLoader} finds the file and picks the implementation by name and content;</li>
 *   <li>{@code SentencePieceTokenizer} (+ {@code SentencePieceModel}, {@code ProtoReader}: the protobuf
 *       file), {@code TiktokenTokenizer} (Llama 3 ranks) and {@code HfTokenizer} (+ {@code HfPipeline},
 *       {@code HfBpe}, {@code AddedTokens}, {@code ByteLevel}: tokenizer.json) encode;</li>
 *   <li>all three merge with {@code PairMerger}, a heap over a linked list of symbols, differing only in
 *       the rule that says which adjacent pair merges first;</li>
 *   <li>all three decode through a {@code TokenTable} (what each id contributes: nothing, raw bytes, or
 *       text) read by {@code StreamDecoder}, so one-shot and streaming decoding agree by construction.</li>
 * </ul>
 */
package dev.llamaadapter.tokenizer;

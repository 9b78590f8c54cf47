//! Text the language spaces' proxies are fed: a real corpus cut into fixed-length sequences,
//! either of WordPiece ids, as BERT's uncased tokenizer (ELECTRA's) makes them (the
//! transformers), or of word ids as a word-level language model reads its corpus (the RNNs,
//! [`Tokens::WordStreams`]).
//!
//! [`WordPiece`] is BERT's `BasicTokenizer` + `WordpieceTokenizer` (google-research/bert
//! `tokenization.py`, which HF's `BertTokenizer` and `tokenizers`' `BertPreTokenizer` /
//! `BertNormalizer` follow): drop NUL, U+FFFD and control characters, map whitespace to a
//! space, put spaces around CJK ideographs, lower-case, strip accents (NFD, then drop marks
//! Mn), split on whitespace and on every punctuation character (ASCII symbols and Unicode
//! category P*), then split each word greedily into the longest vocabulary pieces, `##` on
//! continuations; a word of more than 100 characters, or one that does not split, is `[UNK]`.
//! `[UNK]` written in the text stays one token (`never_split`). The test
//! `wordpiece_equals_hf_tokenizers_on_the_corpus` holds it against `tokenizers` 0.23 on the
//! corpus swapnas reads.
//!
//! The vocabulary is bert-base-uncased's `vocab.txt` (30,522 entries, MD5
//! 64800d5d8528ce344256daf115d4965e; Apache-2.0, Google), compiled in from
//! `benchmarks/embedded/bert-uncased-vocab.txt.gz`. ELECTRA-small's tokenizer, which the SWAP
//! and Serianni references use, ships the same uncased vocabulary (taken as identical; not
//! checked byte for byte here).

use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;
use unicode_general_category::{get_general_category, GeneralCategory};
use unicode_normalization::UnicodeNormalization;

const VOCAB_GZ: &[u8] = include_bytes!("../embedded/bert-uncased-vocab.txt.gz");

/// How a text set becomes sequences (its `side` is the sequence length): [`sequences`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextFormat {
    /// How the corpus is read, in words (reports quote it).
    pub about: &'static str,
    /// The word the corpus writes for one its authors replaced (WikiText's and PTB's
    /// `<unk>`), read as BERT's `[UNK]`; `None` where the text has no such marker (or where
    /// it is a word like any other, [`Tokens::WordStreams`]).
    pub unknown_word: Option<&'static str>,
    pub tokens: Tokens,
}

/// The token ids a text set's sequences are made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tokens {
    /// BERT-uncased WordPiece ids, `[CLS] … [SEP]` sequences of consecutive text.
    WordPiece,
    /// Word ids as the PyTorch word-language-model example (and AWD-LSTM, NAS-Bench-NLP)
    /// reads a corpus: each line's whitespace-separated words then `<eos>`, each word's id its
    /// first occurrence's rank in the corpus; the stream `batchify`-ed into `streams` columns
    /// (column b the b-th contiguous chunk, the tail that does not fill a row dropped) and
    /// sequence b the first `side` words of column b — `get_batch(source, 0)` with
    /// `bptt = side`, one sequence per column. So a set has `streams` sequences, the
    /// reference's evaluation batch.
    WordStreams { streams: usize },
}

/// BERT's uncased WordPiece tokenizer over an embedded vocabulary.
#[derive(Debug)]
pub struct WordPiece {
    vocab: HashMap<String, u32>,
    pub unk: u32,
    pub cls: u32,
    pub sep: u32,
    pub pad: u32,
}

/// A word longer than this (in characters) is `[UNK]` (`max_input_chars_per_word`).
const MAX_WORD_CHARS: usize = 100;

impl WordPiece {
    /// bert-base-uncased's vocabulary (30,522 entries), parsed once.
    pub fn bert_uncased() -> Result<&'static WordPiece> {
        static CELL: OnceLock<std::result::Result<WordPiece, String>> = OnceLock::new();
        CELL.get_or_init(|| {
            let mut text = String::new();
            flate2::read::GzDecoder::new(VOCAB_GZ).read_to_string(&mut text).map_err(|e| e.to_string())?;
            WordPiece::from_vocab(&text).map_err(|e| format!("{e:#}"))
        })
        .as_ref()
        .map_err(|e| anyhow::anyhow!("the embedded WordPiece vocabulary is damaged (rebuild swapnas): {e}"))
    }

    /// From a `vocab.txt` (one token per line, the line number its id).
    pub fn from_vocab(text: &str) -> Result<WordPiece> {
        let vocab: HashMap<String, u32> = text.lines().enumerate().map(|(i, t)| (t.to_string(), i as u32)).collect();
        let id = |t: &str| vocab.get(t).copied().with_context(|| format!("the vocabulary has no {t}"));
        Ok(WordPiece { unk: id("[UNK]")?, cls: id("[CLS]")?, sep: id("[SEP]")?, pad: id("[PAD]")?, vocab })
    }

    pub fn len(&self) -> usize {
        self.vocab.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vocab.is_empty()
    }

    /// The ids of `text`, without `[CLS]` / `[SEP]`.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        for word in basic_tokens(text) {
            if word == "[UNK]" {
                out.push(self.unk);
            } else {
                self.word_pieces(&word, &mut out);
            }
        }
        out
    }

    /// Greedy longest-match-first pieces of one word.
    fn word_pieces(&self, word: &str, out: &mut Vec<u32>) {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() > MAX_WORD_CHARS {
            out.push(self.unk);
            return;
        }
        let mut pieces = Vec::new();
        let mut start = 0;
        while start < chars.len() {
            let mut end = chars.len();
            let mut found = None;
            while start < end {
                let mut piece: String = chars[start..end].iter().collect();
                if start > 0 {
                    piece.insert_str(0, "##");
                }
                if let Some(&id) = self.vocab.get(&piece) {
                    found = Some(id);
                    break;
                }
                end -= 1;
            }
            match found {
                Some(id) => pieces.push(id),
                None => {
                    out.push(self.unk);
                    return;
                }
            }
            start = end;
        }
        out.extend(pieces);
    }
}

/// BERT's punctuation: the ASCII symbols (33–47, 58–64, 91–96, 123–126) and Unicode P*.
fn is_punctuation(c: char) -> bool {
    let u = c as u32;
    if (33..=47).contains(&u) || (58..=64).contains(&u) || (91..=96).contains(&u) || (123..=126).contains(&u) {
        return true;
    }
    use GeneralCategory::*;
    matches!(
        get_general_category(c),
        ConnectorPunctuation
            | DashPunctuation
            | OpenPunctuation
            | ClosePunctuation
            | InitialPunctuation
            | FinalPunctuation
            | OtherPunctuation
    )
}

/// BERT's whitespace: space, tab, newline, carriage return and category Zs.
fn is_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r') || get_general_category(c) == GeneralCategory::SpaceSeparator
}

/// BERT's control characters: categories Cc and Cf, except tab, newline and carriage return.
fn is_control(c: char) -> bool {
    if matches!(c, '\t' | '\n' | '\r') {
        return false;
    }
    matches!(get_general_category(c), GeneralCategory::Control | GeneralCategory::Format)
}

/// The CJK ideograph blocks BERT pads with spaces.
fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F | 0x2B740..=0x2B81F
        | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

/// `BasicTokenizer` (uncased): the words and punctuation marks of `text`, lower-cased and
/// without accents; `[UNK]` kept whole.
fn basic_tokens(text: &str) -> Vec<String> {
    let mut cleaned = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\0' || c == '\u{FFFD}' || is_control(c) {
            continue;
        }
        if is_whitespace(c) {
            cleaned.push(' ');
        } else if is_cjk(c) {
            cleaned.push(' ');
            cleaned.push(c);
            cleaned.push(' ');
        } else {
            cleaned.push(c);
        }
    }
    let mut out = Vec::new();
    for word in cleaned.split(' ').filter(|w| !w.is_empty()) {
        if word == "[UNK]" {
            out.push(word.to_string());
            continue;
        }
        let lowered: String =
            word.to_lowercase().nfd().filter(|&c| get_general_category(c) != GeneralCategory::NonspacingMark).collect();
        let mut current = String::new();
        for c in lowered.chars() {
            if is_punctuation(c) {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                out.push(c.to_string());
            } else {
                current.push(c);
            }
        }
        if !current.is_empty() {
            out.push(current);
        }
    }
    out
}

/// A corpus as up to `max` sequences of `seq_len` token ids, as `format` says.
pub fn sequences(text: &str, format: &TextFormat, seq_len: usize, max: usize) -> Result<Vec<Vec<u32>>> {
    match format.tokens {
        Tokens::WordPiece => word_piece_sequences(text, format, seq_len, max),
        Tokens::WordStreams { streams } => Ok(word_streams(text, streams, seq_len)?.into_iter().take(max).collect()),
    }
}

/// The corpus's words as a word-level language model reads them: each line's whitespace-split
/// words then `<eos>` (`data.py`'s `Corpus.tokenize`), as ids in order of first occurrence.
pub fn word_ids(text: &str) -> Vec<u32> {
    let mut vocab: HashMap<&str, u32> = HashMap::new();
    let mut ids = Vec::new();
    for line in text.split_inclusive('\n') {
        for word in line.split_whitespace().chain(std::iter::once("<eos>")) {
            let next = vocab.len() as u32;
            ids.push(*vocab.entry(word).or_insert(next));
        }
    }
    ids
}

/// [`Tokens::WordStreams`]: `batchify(ids, streams)`, then the first `seq_len` rows; sequence b
/// is column b.
pub fn word_streams(text: &str, streams: usize, seq_len: usize) -> Result<Vec<Vec<u32>>> {
    let ids = word_ids(text);
    let rows = ids.len() / streams.max(1);
    if streams == 0 || rows < seq_len {
        bail!(
            "the corpus's {} words give {streams} streams of {rows} words, fewer than the {seq_len} a sequence takes",
            ids.len()
        );
    }
    Ok((0..streams).map(|b| ids[b * rows..b * rows + seq_len].to_vec()).collect())
}

/// A corpus as `[CLS] w₁ … w_{T−2} [SEP]` sequences: the text's WordPiece ids, cut into
/// consecutive windows of `seq_len − 2` (the tail that does not fill one is dropped), up to
/// `max` sequences; `format`'s unknown-word marker is BERT's `[UNK]`.
fn word_piece_sequences(text: &str, format: &TextFormat, seq_len: usize, max: usize) -> Result<Vec<Vec<u32>>> {
    if seq_len < 3 {
        bail!("a sequence of {seq_len} tokens has no room between [CLS] and [SEP]");
    }
    let wp = WordPiece::bert_uncased()?;
    let ids = match format.unknown_word {
        Some(marker) => wp.encode(&text.replace(marker, "[UNK]")),
        None => wp.encode(text),
    };
    let body = seq_len - 2;
    if ids.len() < body {
        bail!("the corpus holds {} WordPiece tokens, fewer than the {body} of one sequence", ids.len());
    }
    Ok(ids
        .chunks_exact(body)
        .take(max)
        .map(|w| {
            let mut s = Vec::with_capacity(seq_len);
            s.push(wp.cls);
            s.extend_from_slice(w);
            s.push(wp.sep);
            s
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_tokens_split_punctuation_lower_case_and_strip_accents() {
        assert_eq!(basic_tokens("Héllo, World! [UNK] don't"), ["hello", ",", "world", "!", "[UNK]", "don", "'", "t"]);
        assert_eq!(basic_tokens("a\u{2013}b\t\u{00a0}c"), ["a", "\u{2013}", "b", "c"]);
    }

    /// `Corpus.tokenize` then `batchify(test, 2)` and `get_batch(source, 0)` with bptt 3, by
    /// hand: words a b <eos> | b c <eos> | <eos> (an empty line) | a <eos> → ids 0 1 2 1 3 2 2
    /// 0 2 (9 words), 2 streams of 4 (the ninth dropped): [0 1 2 1] and [3 2 2 0].
    #[test]
    fn word_streams_are_batchified_columns() {
        let text = "a b\n b  c \n\na";
        assert_eq!(word_ids(text), [0, 1, 2, 1, 3, 2, 2, 0, 2]);
        assert_eq!(word_streams(text, 2, 3).unwrap(), [vec![0, 1, 2], vec![3, 2, 2]]);
        assert_eq!(word_streams(text, 2, 4).unwrap(), [vec![0, 1, 2, 1], vec![3, 2, 2, 0]]);
        let err = word_streams(text, 2, 5).unwrap_err().to_string();
        assert!(err.contains("9 words") && err.contains("2 streams of 4"), "{err}");
        let format = TextFormat { about: "", unknown_word: None, tokens: Tokens::WordStreams { streams: 2 } };
        assert_eq!(sequences(text, &format, 3, 1).unwrap(), [vec![0, 1, 2]]);
    }

    #[test]
    fn word_pieces_are_longest_first_and_unknown_words_are_unk() {
        let wp = WordPiece::from_vocab("[PAD]\n[UNK]\n[CLS]\n[SEP]\nun\n##aff\n##able\naff\n").unwrap();
        assert_eq!(wp.encode("unaffable"), [4, 5, 6]);
        assert_eq!(wp.encode("unaffablex"), [1]);
        assert_eq!(wp.encode(&"a".repeat(101)), [1]);
        let bert = WordPiece::bert_uncased().unwrap();
        assert_eq!(bert.len(), 30_522);
        assert_eq!((bert.pad, bert.unk, bert.cls, bert.sep), (0, 100, 101, 102));
    }
}

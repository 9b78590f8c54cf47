//! Text corpora the language spaces read, declared once (pinned and checksummed): a corpus
//! several spaces feed their networks is one file, fetched and verified once.

use crate::data::data_dir::DataFile;
use crate::space::CheckedFile;

/// WikiText-2's test split (Merity et al. 2016, CC-BY-SA 3.0) as zivaharoni/gradual-learning-rnn
/// distributes it (tokenized, `<unk>` for rare words): the corpus the language spaces read,
/// declared once, pinned and checksummed.
pub const WIKITEXT2_TEST: CheckedFile = CheckedFile {
    file: DataFile {
        rel_path: "text/wiki2.test.txt",
        source: "https://raw.githubusercontent.com/zivaharoni/gradual-learning-rnn/2323a3b55f0a746e8f46a80200d616bfadce5742/data/wiki2.test.txt",
    },
    sha256: "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0",
    bytes: 1_256_449,
    or: None,
};

/// [`WIKITEXT2_TEST`]'s `ImageSet::source`.
pub const WIKITEXT2_SOURCE: (&str, &str) = (
    "text/wiki2.test.txt",
    "WikiText-2's test split (Merity et al. 2016, CC-BY-SA 3.0), as distributed in zivaharoni/gradual-learning-rnn",
);

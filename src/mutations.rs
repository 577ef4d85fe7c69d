//! Inputs for the property tests of the parsers (issue 18, abuse resistance): besides
//! arbitrary text and bytes, near-valid input, made from a valid value by a few small edits
//! (a character inserted, dropped or replaced, the text cut short, a stretch repeated). Random
//! text almost never gets past a parser's first check; an edited valid value reaches the
//! checks behind it, where an index or a length is most likely to be trusted. Test code only.

use proptest::prelude::*;
use proptest::sample::Index;

/// One small edit of a text or a byte string.
#[derive(Debug, Clone)]
enum Edit<T> {
    /// Puts an item in before the one at the index (or at the end).
    Insert(Index, T),
    /// Drops the item at the index.
    Delete(Index),
    /// Replaces the item at the index.
    Replace(Index, T),
    /// Cuts everything from the index on.
    Truncate(Index),
    /// Repeats the stretch from the index to the end once more.
    Repeat(Index),
}

fn edit<T: std::fmt::Debug + Clone>(
    item: impl Strategy<Value = T> + Clone,
) -> impl Strategy<Value = Edit<T>> {
    prop_oneof![
        3 => (any::<Index>(), item.clone()).prop_map(|(i, c)| Edit::Insert(i, c)),
        2 => any::<Index>().prop_map(Edit::Delete),
        3 => (any::<Index>(), item).prop_map(|(i, c)| Edit::Replace(i, c)),
        1 => any::<Index>().prop_map(Edit::Truncate),
        1 => any::<Index>().prop_map(Edit::Repeat),
    ]
}

fn apply<T: Clone>(items: &mut Vec<T>, edits: &[Edit<T>]) {
    for e in edits {
        let len = items.len();
        match e {
            Edit::Insert(at, c) => items.insert(at.index(len + 1), c.clone()),
            Edit::Delete(at) if len > 0 => {
                items.remove(at.index(len));
            }
            Edit::Replace(at, c) if len > 0 => items[at.index(len)] = c.clone(),
            Edit::Truncate(at) => items.truncate(at.index(len + 1)),
            Edit::Repeat(at) if len > 0 => {
                let tail = items[at.index(len)..].to_vec();
                items.extend(tail);
            }
            _ => {}
        }
    }
}

/// Characters that parsers of this crate treat specially, or that change under case mapping
/// or trimming, and now and then any character at all.
pub(crate) fn tricky_char() -> impl Strategy<Value = char> + Clone {
    prop_oneof![
        3 => prop::sample::select(vec![
            '-', ' ', '.', '@', ':', '+', '_', '/', '=', 'T', 'Z', 'z', '0', '9', 'F', 'f', 'g',
            'R', 'I', 'A', 'P', 'S', '\t', '\n', '\0', '\u{7F}', '\u{200B}', '\u{FEFF}',
            '\u{00AD}', '\u{2013}', '\u{2212}', '\u{FF0D}', '\u{3000}', 'ß', 'İ', 'ﬀ', 'ǅ',
            'Ⱥ', 'é', '\u{0301}', '\u{10FFFF}',
        ]),
        1 => any::<char>(),
    ]
}

/// `valid` texts after one to four small edits.
pub(crate) fn near_text(valid: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (valid, prop::collection::vec(edit(tricky_char()), 1..=4)).prop_map(|(text, edits)| {
        let mut chars: Vec<char> = text.chars().collect();
        apply(&mut chars, &edits);
        chars.into_iter().collect()
    })
}

/// `valid` byte strings after one to four small edits.
pub(crate) fn near_bytes(valid: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        prop::sample::select(vec![
            0x00, 0x7F, 0x80, 0xC0, 0xC1, 0xCC, 0xD9, 0xDC, 0xDD, 0xDE, 0xDF, 0xFF
        ]),
        any::<u8>(),
    ];
    (valid, prop::collection::vec(edit(byte), 1..=4)).prop_map(|(mut bytes, edits)| {
        apply(&mut bytes, &edits);
        bytes
    })
}

/// Text of every kind: any characters, printable ones, and short ASCII.
pub(crate) fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "\\PC{0,80}", "[ -~]{0,80}"]
}

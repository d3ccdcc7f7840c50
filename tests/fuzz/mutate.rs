//! Byte mutations of a valid seed file → a damaged copy: bit flips, truncation, splices of the
//! file into itself, header field overwrites with boundary values, insertions and deletions.
//!
//! Positions are `Index`es, so one strategy fits seeds of any length; overwrites favour the
//! first 64 bytes, where container headers keep sizes, rates and counts.

use proptest::prelude::*;
use proptest::sample::Index;

#[derive(Debug, Clone)]
pub enum Mutation {
    BitFlip(Index, u8),
    Truncate(Index),
    /// Copies `len` bytes from one place over another (duplicated frames, shifted boxes).
    Splice(Index, Index, usize),
    /// A boundary value written over a header field.
    Overwrite(Index, Vec<u8>, bool),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
}

/// Values that break size, rate and count fields: zero, all ones, sign bits, off-by-ones.
fn boundary() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(vec![0u8; 4]),
        Just(vec![0xff; 4]),
        Just(vec![0x7f, 0xff, 0xff, 0xff]),
        Just(vec![0x80, 0, 0, 0]),
        Just(vec![0, 0, 0, 1]),
        Just(vec![1, 0, 0, 0]),
        Just(vec![0xff, 0xff]),
        Just(vec![0]),
        Just(vec![0xff]),
        prop::collection::vec(any::<u8>(), 1..8),
    ]
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::BitFlip(i, b)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), any::<Index>(), 1usize..512)
            .prop_map(|(a, b, n)| Mutation::Splice(a, b, n)),
        3 => (any::<Index>(), boundary(), any::<bool>())
            .prop_map(|(i, v, head)| Mutation::Overwrite(i, v, head)),
        1 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..64))
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        1 => (any::<Index>(), 1usize..256).prop_map(|(i, n)| Mutation::Delete(i, n)),
    ]
}

/// One to four mutations, applied in order.
pub fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(mutation(), 1..5)
}

pub fn apply(seed: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        let len = bytes.len();
        match m {
            Mutation::BitFlip(i, bit) => bytes[i.index(len)] ^= 1 << bit,
            Mutation::Truncate(i) => bytes.truncate(i.index(len)),
            Mutation::Splice(from, to, n) => {
                let from = from.index(len);
                let to = to.index(len);
                let n = (*n).min(len - from).min(len - to);
                let chunk = bytes[from..from + n].to_vec();
                bytes[to..to + n].copy_from_slice(&chunk);
            }
            Mutation::Overwrite(i, value, head) => {
                let at = if *head {
                    i.index(len.min(64))
                } else {
                    i.index(len)
                };
                let n = value.len().min(len - at);
                bytes[at..at + n].copy_from_slice(&value[..n]);
            }
            Mutation::Insert(i, value) => {
                let at = i.index(len + 1);
                bytes.splice(at..at, value.iter().copied());
            }
            Mutation::Delete(i, n) => {
                let at = i.index(len);
                let end = (at + n).min(len);
                bytes.drain(at..end);
            }
        }
    }
    bytes
}

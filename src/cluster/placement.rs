//! Which node takes a stream nobody monitors. Pure: every node computes the same answer from
//! the same view (leases and heartbeats), so a node claims only what the cluster expects of it
//! and streams spread without a leader.
//!
//! Input: the streams waiting for a node, and the live nodes with how many streams each holds
//! and whether it has room. Output: for each waiting stream, the nodes in the order they should
//! try it. Streams are dealt in id order to the node holding fewest (counting those dealt so
//! far), ties broken by a hash of stream and node, so six streams on three empty nodes go two
//! to each. The first in line claims at once; the k-th waits k × grace (the ones before it may
//! be full or failing), and the claim itself (a create in the lease bucket) lets only one win.

use std::collections::BTreeMap;
use std::time::Duration;

/// A live node as the placement sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub node: String,
    /// Streams it holds now.
    pub holds: usize,
    /// Whether it would take one more stream of the language in question.
    pub room: bool,
}

/// The order in which nodes should try each of `waiting` (stream id → node names, best
/// first; nodes without room are not in it).
pub fn preferences(waiting: &[String], nodes: &[Candidate]) -> BTreeMap<String, Vec<String>> {
    let mut sorted: Vec<&String> = waiting.iter().collect();
    sorted.sort();
    let mut holds: BTreeMap<&str, usize> = nodes.iter().map(|n| (&*n.node, n.holds)).collect();
    let mut out = BTreeMap::new();
    for stream in sorted {
        let mut order: Vec<&Candidate> = nodes.iter().filter(|n| n.room).collect();
        order.sort_by_key(|n| (holds[&*n.node], spread(stream, &n.node), n.node.clone()));
        if let Some(first) = order.first() {
            *holds
                .get_mut(&*first.node)
                .expect("every candidate is counted") += 1;
        }
        out.insert(
            stream.clone(),
            order.into_iter().map(|n| n.node.clone()).collect(),
        );
    }
    out
}

/// Whether `me` should claim a stream whose preference order is `order`, having seen it wait
/// for `waited`.
pub fn my_turn(order: &[String], me: &str, waited: Duration, grace: Duration) -> bool {
    order
        .iter()
        .position(|n| n == me)
        .is_some_and(|rank| waited >= grace * rank as u32)
}

/// FNV-1a of `stream`, a separator and `node`: the same on every node and every build (std's
/// hasher promises neither), so all nodes agree on who is first.
fn spread(stream: &str, node: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in stream.bytes().chain([0]).chain(node.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(list: &[(&str, usize, bool)]) -> Vec<Candidate> {
        list.iter()
            .map(|&(node, holds, room)| Candidate {
                node: node.into(),
                holds,
                room,
            })
            .collect()
    }

    fn streams(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("s{i}")).collect()
    }

    /// How many streams each node is first in line for.
    fn firsts(prefs: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for order in prefs.values() {
            if let Some(first) = order.first() {
                *out.entry(first.clone()).or_insert(0) += 1;
            }
        }
        out
    }

    #[test]
    fn streams_spread_evenly() {
        // (waiting, nodes, wanted first-in-line counts)
        type Case = (usize, Vec<Candidate>, Vec<(&'static str, usize)>);
        let cases: Vec<Case> = vec![
            (
                6,
                nodes(&[("a", 0, true), ("b", 0, true), ("c", 0, true)]),
                vec![("a", 2), ("b", 2), ("c", 2)],
            ),
            // The two survivors of three share the dead node's streams.
            (
                2,
                nodes(&[("a", 2, true), ("b", 2, true)]),
                vec![("a", 1), ("b", 1)],
            ),
            // A node with fewer streams catches up first.
            (3, nodes(&[("a", 3, true), ("b", 0, true)]), vec![("b", 3)]),
            // A full node gets none.
            (4, nodes(&[("a", 0, false), ("b", 0, true)]), vec![("b", 4)]),
        ];
        for (n, candidates, want) in cases {
            let prefs = preferences(&streams(n), &candidates);
            let want: BTreeMap<String, usize> =
                want.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            assert_eq!(firsts(&prefs), want, "{candidates:?}");
        }
    }

    #[test]
    fn no_node_with_room_means_nobody_claims() {
        let prefs = preferences(&streams(2), &nodes(&[("a", 0, false)]));
        assert!(prefs.values().all(Vec::is_empty));
    }

    /// Every node computes the same order whatever order it lists the nodes in.
    #[test]
    fn the_same_answer_on_every_node() {
        let one = nodes(&[("a", 1, true), ("b", 0, true), ("c", 1, true)]);
        let mut other = one.clone();
        other.reverse();
        assert_eq!(
            preferences(&streams(5), &one),
            preferences(&streams(5), &other)
        );
    }

    #[test]
    fn turns() {
        let order: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let grace = Duration::from_secs(2);
        // (node, waited s, its turn)
        let cases = [
            ("a", 0, true),
            ("b", 0, false),
            ("b", 2, true),
            ("c", 3, false),
            ("c", 4, true),
            ("d", 100, false),
        ];
        for (me, waited, want) in cases {
            assert_eq!(
                my_turn(&order, me, Duration::from_secs(waited), grace),
                want,
                "{me} after {waited} s"
            );
        }
    }
}

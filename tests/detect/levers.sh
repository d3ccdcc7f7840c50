#!/usr/bin/env bash
# Issue 11, BENCHMARKS.md: text-set precision/recall of the detector with its levers added one at a
# time, on copies of rules/ (the code is the same; a lever is switched off by rule flags or by leaving
# its packs out):
#   phrases   the new phrase rules only (no [[compose]] packs, near_miss = false, phonetic = false)
#   +compose  plus the condition x outcome packs
#   +nearmiss plus Japanese readings one mora away
#   +phonetic plus English sound-alikes (= rules/ as committed)
# Prints the corpus table (tuning and heldout-in-corpus subsets) and the held-out file scores.
# Usage: bash tests/detect/levers.sh   (CARGO_TARGET_DIR as for any build)
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
off() { sed -i "/^\[\[\(rule\|compose\)\]\]\$/a $1" "$2"/*.toml; }
cp -r rules "$tmp/phrases" && rm "$tmp/phrases"/compose_*.toml
off "near_miss = false" "$tmp/phrases" && off "phonetic = false" "$tmp/phrases"
cp -r rules "$tmp/compose" && off "near_miss = false" "$tmp/compose" && off "phonetic = false" "$tmp/compose"
cp -r rules "$tmp/nearmiss" && off "phonetic = false" "$tmp/nearmiss"
for v in phrases compose nearmiss; do
  echo "== $v"
  CLAIMWATCH_RULES_SCORED="$tmp/$v" CLAIMWATCH_HIDE_HELDOUT=1 cargo test -q --test tests -- \
    detect::corpus::corpus_precision_recall detect::heldout --nocapture --test-threads 1 2>&1 \
    | grep -E '^(lang|ja |en |heldout|corpus )' || true
done
echo "== phonetic (rules/ as committed)"
CLAIMWATCH_HIDE_HELDOUT=1 cargo test -q --test tests -- detect::corpus::corpus_precision_recall detect::heldout \
  --nocapture --test-threads 1 2>&1 | grep -E '^(lang|ja |en |heldout|corpus )' || true

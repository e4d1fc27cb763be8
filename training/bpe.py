"""Byte-level BPE in GPT-2's format: trainer, encoder, decoder.

Ids 0–255 are the 256 byte symbols in the order of GPT-2's byte-to-unicode table (as GPT-2's own
vocab.json lists them: '!' is 0, 'Ġ' (space) is 220), merges follow in the order learned, and
`<|endoftext|>` is the last id. Training counts pre-token frequencies once, then keeps pair counts
up to date incrementally, touching only the words that contain the merged pair.

    /usr/bin/python3 training/bpe.py --train train.txt --vocab-size 4096 --out DIR
"""
import argparse
import heapq
import json
import os
from collections import Counter, defaultdict

import regex

EOT = "<|endoftext|>"
GPT2_PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """GPT-2's table: printable bytes map to themselves, the rest to U+0100 onwards, in this order."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_ENCODER = bytes_to_unicode()
BYTE_DECODER = {c: b for b, c in BYTE_ENCODER.items()}


def documents(text):
    """Documents of a shard: they are separated by the end-of-text marker."""
    return [d for d in text.split(EOT) if d]


def pre_tokens(text):
    """GPT-2 pre-tokens of one document, each as its byte-to-unicode string."""
    for piece in GPT2_PATTERN.findall(text):
        yield "".join(BYTE_ENCODER[b] for b in piece.encode("utf-8"))


def train(text, vocab_size, log=print):
    """Merges (list of symbol pairs) for vocab_size ids: 256 bytes, the merges, then `<|endoftext|>`."""
    freq = Counter()
    for doc in documents(text):
        freq.update(pre_tokens(doc))
    words = [list(w) for w in freq]
    counts = list(freq.values())
    pair_count = defaultdict(int)
    where = defaultdict(set)
    for i, w in enumerate(words):
        for pair in zip(w, w[1:]):
            pair_count[pair] += counts[i]
            where[pair].add(i)
    # Max-heap with lazy invalidation; ties go to the lexicographically smallest pair, so runs are deterministic.
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    target = vocab_size - 257
    while len(merges) < target and heap:
        neg, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -neg or -neg <= 0:
            continue
        merges.append(pair)
        merged = pair[0] + pair[1]
        touched = set()
        for i in list(where[pair]):
            w, c = words[i], counts[i]
            for p in zip(w, w[1:]):
                pair_count[p] -= c
                touched.add(p)
            out, j = [], 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == pair[0] and w[j + 1] == pair[1]:
                    out.append(merged)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for p in zip(out, out[1:]):
                pair_count[p] += c
                where[p].add(i)
                touched.add(p)
        del where[pair]
        pair_count.pop(pair, None)
        for p in touched:
            c = pair_count.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, p))
            elif p in pair_count:
                del pair_count[p]
        if log and len(merges) % 500 == 0:
            log(f"bpe: {len(merges)}/{target} merges")
    return merges


def write(folder, merges):
    os.makedirs(folder, exist_ok=True)
    vocab = {BYTE_ENCODER[b]: i for i, b in enumerate(BYTE_ENCODER)}
    for a, b in merges:
        vocab[a + b] = len(vocab)
    vocab[EOT] = len(vocab)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        f.writelines(f"{a} {b}\n" for a, b in merges)


class Tokenizer:
    """GPT-2 encoding with a vocab.json/merges.txt pair: lowest-rank merge first within each pre-token."""

    def __init__(self, folder):
        with open(os.path.join(folder, "vocab.json"), encoding="utf-8") as f:
            self.vocab = json.load(f)
        with open(os.path.join(folder, "merges.txt"), encoding="utf-8") as f:
            lines = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#version")]
        self.ranks = {tuple(l.split(" ")): r for r, l in enumerate(lines)}
        self.inverse = {i: s for s, i in self.vocab.items()}
        self.eot_id = self.vocab[EOT]
        self.cache = {}

    def _bpe(self, token):
        word = list(token)
        while len(word) > 1:
            best = min(zip(word, word[1:]), key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            out, j = [], 0
            while j < len(word):
                if j + 1 < len(word) and word[j] == best[0] and word[j + 1] == best[1]:
                    out.append(word[j] + word[j + 1])
                    j += 2
                else:
                    out.append(word[j])
                    j += 1
            word = out
        return [self.vocab[s] for s in word]

    def encode(self, text):
        """Ids of a text; `<|endoftext|>` in the text becomes the end-of-text id."""
        ids = []
        for k, doc in enumerate(text.split(EOT)):
            if k:
                ids.append(self.eot_id)
            for tok in pre_tokens(doc):
                hit = self.cache.get(tok)
                if hit is None:
                    hit = self.cache[tok] = self._bpe(tok)
                ids.extend(hit)
        return ids

    def token_text(self, i):
        """A token's text (bytes decoded leniently), `<|endoftext|>` for the end-of-text id."""
        s = self.inverse[i]
        if i == self.eot_id:
            return s
        return bytes(BYTE_DECODER[c] for c in s).decode("utf-8", errors="replace")

    def decode(self, ids):
        raw = b"".join(EOT.encode() if i == self.eot_id else bytes(BYTE_DECODER[c] for c in self.inverse[i]) for i in ids)
        return raw.decode("utf-8", errors="replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", required=True, help="training text shard (documents separated by <|endoftext|>)")
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--out", required=True, help="folder for vocab.json and merges.txt")
    args = ap.parse_args()
    with open(args.train, encoding="utf-8") as f:
        text = f.read()
    write(args.out, train(text, args.vocab_size))


if __name__ == "__main__":
    main()

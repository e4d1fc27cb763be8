#!/usr/bin/python3
"""Independent GPT-2 byte-level BPE (after OpenAI's encoder.py), used to build the tokenizer fixture.

Run with Debian's python3 (it has the `regex` module):
    /usr/bin/python3 test/reference/bpe_reference.py
It reads the embedded model's vocab.json + merges.txt and writes test/fixtures/tokenizer/cases.json:
for each input its ids, plus a tiny synthetic vocabulary with its own cases. `<|endoftext|>` typed in the text is matched as the special token first, as
Hugging Face tokenizers do for an added token (OpenAI's encoder.py would split it into pieces).
"""
import json
import os

import regex

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, 'media', 'models', 'tinycode-4l8h-1k')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'tokenizer', 'cases.json')

PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
SPECIAL = '<|endoftext|>'


def bytes_to_unicode():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


class Encoder:
    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.ranks = {tuple(m): i for i, m in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()
        self.cache = {}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token)
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            best = min(pairs, key=lambda p: self.ranks.get(p, float('inf')))
            if best not in self.ranks:
                break
            first, second = best
            merged = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
        self.cache[token] = word
        return word

    def encode_plain(self, text):
        ids = []
        for piece in regex.findall(PATTERN, text):
            chars = ''.join(self.byte_encoder[b] for b in piece.encode('utf-8'))
            ids.extend(self.vocab[t] for t in self.bpe(chars))
        return ids

    def encode(self, text):
        ids = []
        for i, part in enumerate(text.split(SPECIAL)):
            if i > 0:
                ids.append(self.vocab[SPECIAL])
            ids.extend(self.encode_plain(part))
        return ids


REPEATED = 'The quick brown fox jumps over the lazy dog; the dog sleeps. '

CASES = [
    ('typescript', 'export function clamp(x: number, lo = 0, hi = 1): number {\n  return Math.min(hi, Math.max(lo, x)); // keep in range\n}\n\nconst xs: readonly string[] = [\'a\', "b", `c${1 + 2}`];\n'),
    ('python', 'def fib(n: int) -> int:\n    """Return the n-th Fibonacci number."""\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n\nprint(f"{fib(30):,}")  # 832,040\n'),
    ('english', "It's a truth universally acknowledged that we'll need tests; they're cheap, and I've seen 1234 bugs since 1999."),
    ('accented-vietnamese', 'Crème brûlée, naïve façade, Ångström, São Paulo. Tiếng Việt có dấu: Hà Nội, Đà Nẵng, người Việt Nam.'),
    ('cjk', '注意力机制：每个词元都会关注之前的词元。日本語のテキストも。한국어 문장도 있습니다.'),
    ('emoji', 'Family: 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 thumbs 👍🏽 and ❤️ done'),
    ('repeated', REPEATED * 4),
    ('whitespace', 'a\n\n    \n\t\tb\t \n   \n\n  x  \n \t'),
    ('crlf', 'line one\r\nline two\r\n\r\n  indented\r\n'),
    ('endoftext', 'end of doc<|endoftext|>start of next <|endoftext|><|endoftext|>x <|endoftext'),
    ('odd-whitespace', 'a\u00a0b\u3000c\u2028d\u0085e.\ufeff f\u200bg\x1c h \u000b\u000c'),
    ('digits-punct', "x=3.14159e-10; y = -42; z=1_000_000 -- '''''' !!!??? ...;;;"),
]


# A tiny vocabulary whose merges join characters across the spots where JavaScript's `\\s` and
# Unicode White_Space disagree (U+FEFF, U+0085), so a wrong pre-tokenizer split changes the ids.
SYNTHETIC_MERGES = [('.', 'ï'), ('.ï', '»'), ('.ï»', '¿'), ('Â', 'ħ'), ('Ġ', 'Âħ'), ('Ġ', 'Ġ'), ('Ċ', 'Ġ'), ('Ġ', 'x'), ('a', 'b'), ('ab', 'c')]
SYNTHETIC_CASES = [
    ('bom-after-dot', 'x.\ufeff y.\ufeff'),
    ('nel', 'd \u0085e!\u0085 f \u0085\u0085'),
    ('merges', 'abc ab x  x\n  abcabc<|endoftext|>.\ufeff'),
]


def synthetic():
    byte_encoder = bytes_to_unicode()
    vocab = {byte_encoder[b]: b for b in range(256)}
    for a, b in SYNTHETIC_MERGES:
        vocab[a + b] = len(vocab)
    vocab[SPECIAL] = len(vocab)
    enc = Encoder(vocab, SYNTHETIC_MERGES)
    return {
        'vocab': vocab,
        'merges': [f'{a} {b}' for a, b in SYNTHETIC_MERGES],
        'cases': [{'name': name, 'text': text, 'ids': enc.encode(text)} for name, text in SYNTHETIC_CASES],
    }


def main():
    with open(os.path.join(MODEL, 'vocab.json'), encoding='utf-8') as f:
        vocab = json.load(f)
    with open(os.path.join(MODEL, 'merges.txt'), encoding='utf-8') as f:
        lines = f.read().split('\n')
    merges = [tuple(l.split(' ')) for l in lines[1:] if l]
    enc = Encoder(vocab, merges)
    cases = [{'name': name, 'text': text, 'ids': enc.encode(text)} for name, text in CASES]
    with open(OUT, 'w', encoding='utf-8') as f:
        json.dump(
            {'generator': 'test/reference/bpe_reference.py', 'model': 'tinycode-4l8h-1k', 'cases': cases, 'synthetic': synthetic()},
            f,
            ensure_ascii=False,
            indent=1,
        )
        f.write('\n')
    print(f'wrote {len(cases)} cases to {os.path.relpath(OUT, ROOT)}')


if __name__ == '__main__':
    main()

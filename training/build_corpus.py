"""Training corpus from files every plain Debian + npm machine has.

Sources (each a named set of files):
  ts      TypeScript's lib.*.d.ts            (REPO/node_modules/typescript/lib)
  node    @types/node declarations            (REPO/node_modules/@types/node)
  npm     npm's own JavaScript                (`npm root -g`/npm, else /usr/lib/node_modules/npm)
  man     English man pages, sections 1–8, rendered with `man -P cat` (raw roff via gzip when man is absent)
  doc     text under /usr/share/doc (README, NEWS, changelogs, *.txt, *.md, *.rst), duplicates dropped

Files are visited in the order of a hash of "source:relative path", so a byte cap per source takes an
even sample of the source rather than its alphabetical head, and the same files on another machine
land in the same order. A file is held out (val) when a second, independent hash falls in the lowest --val-percent of
the range; every source with files keeps at least one held-out file. Writes train.txt and val.txt
(documents separated by <|endoftext|>) and manifest.json (counts per source and every file's split).

    /usr/bin/python3 training/build_corpus.py --out corpus/
"""
import argparse
import concurrent.futures
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EOT = "<|endoftext|>"
MIB = 1 << 20
# Byte caps that give about 8.4 M tokens with the 4096-token BPE, like the reference corpus: the code
# sources are taken whole (their caps do not bind: about 3.0, 2.2 and 6.0 MiB), man pages and docs sampled.
DEFAULT_CAPS = {"ts": 8 * MIB, "node": 4 * MIB, "npm": 8 * MIB, "man": 8 * MIB, "doc": 6.5 * MIB}
DOC_NAME = re.compile(r"(^(readme|news|changelog|changes|authors|todo|faq|copyright)([.\-_].*)?$)|(\.(txt|md|rst)(\.gz)?$)", re.I)
OVERSTRIKE = re.compile(r".\x08")


def file_hash(purpose, source, rel):
    """A 48-bit hash of a file's name; "order" and "split" hashes are independent of each other."""
    return int(hashlib.sha256(f"{purpose}:{source}:{rel}".encode()).hexdigest()[:12], 16)


def walk(root, keep):
    """Regular files (no symlinks) under root that keep(relative path) accepts, as (rel, abs)."""
    out = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            p = os.path.join(d, name)
            rel = os.path.relpath(p, root)
            if not os.path.islink(p) and os.path.isfile(p) and keep(rel):
                out.append((rel, p))
    return out


def npm_root():
    npm = shutil.which("npm")
    if npm:
        try:
            root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True, timeout=60).stdout.strip()
            if os.path.isdir(os.path.join(root, "npm")):
                return os.path.join(root, "npm")
        except (OSError, subprocess.SubprocessError):
            pass
    return "/usr/lib/node_modules/npm"


def read_text(path):
    """A file as UTF-8 text (gunzipped when .gz); None for binary or non-UTF-8 files."""
    with open(path, "rb") as f:
        raw = f.read()
    if path.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError):
            return None
    if b"\0" in raw:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def render_man(path):
    """A man page as plain text, or its raw roff when man is not installed."""
    if shutil.which("man"):
        env = dict(os.environ, MANWIDTH="80", LANG="C.UTF-8", LC_ALL="C.UTF-8", GROFF_NO_SGR="1", MAN_KEEP_FORMATTING="")
        try:
            r = subprocess.run(["man", "-P", "cat", "-l", path], capture_output=True, env=env, timeout=60)
        except subprocess.SubprocessError:
            return None
        if r.returncode != 0 or not r.stdout:
            return None
        return OVERSTRIKE.sub("", r.stdout.decode("utf-8", errors="replace"))
    return read_text(path)


def sources(only):
    """name → (root, [(rel, abs)], reader)."""
    table = {
        "ts": lambda: (os.path.join(REPO, "node_modules/typescript/lib"),
                       lambda rel: rel.startswith("lib.") and rel.endswith(".d.ts") and "/" not in rel, read_text),
        "node": lambda: (os.path.join(REPO, "node_modules/@types/node"), lambda rel: rel.endswith(".d.ts"), read_text),
        "npm": lambda: (npm_root(), lambda rel: rel.endswith((".js", ".cjs", ".mjs")), read_text),
        "man": lambda: ("/usr/share/man", lambda rel: re.match(r"man[1-8]/[^/]+$", rel) is not None, render_man),
        "doc": lambda: ("/usr/share/doc", lambda rel: DOC_NAME.search(os.path.basename(rel)) is not None, read_text),
    }
    out = {}
    for name in only:
        root, keep, reader = table[name]()
        files = walk(root, keep) if os.path.isdir(root) else []
        out[name] = (root, files, reader)
    return out


def collect(name, files, reader, cap, max_files):
    """Documents of one source in hash order until its byte cap, duplicates dropped."""
    ordered = sorted(files, key=lambda f: (file_hash("order", name, f[0]), f[0]))
    docs, seen, total = [], set(), 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for start in range(0, len(ordered), 64):
            chunk = ordered[start:start + 64]
            for (rel, _), text in zip(chunk, pool.map(lambda f: reader(f[1]), chunk)):
                if text is None:
                    continue
                text = text.replace("\r\n", "\n").replace(EOT, "")
                digest = hashlib.sha256(text.encode()).hexdigest()
                if not text.strip() or digest in seen:
                    continue
                seen.add(digest)
                docs.append((rel, text))
                total += len(text.encode())
                if total >= cap or len(docs) >= max_files:
                    return docs
    return docs


def build(out, only, caps, val_percent, max_files, log=print):
    os.makedirs(out, exist_ok=True)
    manifest = {"val_percent": val_percent, "sources": {}, "files": []}
    split = {"train": [], "val": []}
    for name, (root, files, reader) in sources(only).items():
        docs = collect(name, files, reader, caps.get(name, DEFAULT_CAPS[name]), max_files)
        bound = val_percent / 100 * 16 ** 12
        held = [file_hash("split", name, rel) < bound for rel, _ in docs]
        if docs and not any(held):
            held[min(range(len(docs)), key=lambda i: file_hash("split", name, docs[i][0]))] = True
        stats = {"root": root, "candidates": len(files), "files": len(docs), "val_files": sum(held),
                 "bytes": sum(len(t.encode()) for _, t in docs)}
        manifest["sources"][name] = stats
        for (rel, text), h in zip(docs, held):
            part = "val" if h else "train"
            split[part].append(text)
            manifest["files"].append({"source": name, "path": rel, "split": part, "bytes": len(text.encode())})
        log(f"corpus: {name}: {stats['files']} files ({stats['val_files']} held out), {stats['bytes'] / MIB:.1f} MiB from {root}")
    for part, docs in split.items():
        with open(os.path.join(out, f"{part}.txt"), "w", encoding="utf-8") as f:
            f.write(EOT.join(docs))
        manifest[f"{part}_bytes"] = sum(len(d.encode()) for d in docs)
        manifest[f"{part}_files"] = len(docs)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return manifest


def parse_caps(items):
    caps = {}
    for item in items or []:
        name, _, mib = item.partition("=")
        caps[name] = int(float(mib) * MIB)
    return caps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--sources", default=",".join(DEFAULT_CAPS), help="comma-separated subset of " + ",".join(DEFAULT_CAPS))
    ap.add_argument("--cap", action="append", metavar="SOURCE=MIB", help="byte cap of one source in MiB (repeatable)")
    ap.add_argument("--val-percent", type=float, default=2.0)
    ap.add_argument("--max-files", type=int, default=10 ** 9, help="at most this many files per source")
    args = ap.parse_args()
    build(args.out, args.sources.split(","), parse_caps(args.cap), args.val_percent, args.max_files)


if __name__ == "__main__":
    main()

"""Split text into words and count them: a small Python file to inspect."""

import re
from collections import Counter


def words(text: str) -> list[str]:
    """Lower-case words of the text, in order."""
    return re.findall(r"[a-z']+", text.lower())


def most_common(text: str, n: int = 5) -> list[tuple[str, int]]:
    counts = Counter(words(text))
    return counts.most_common(n)


if __name__ == "__main__":
    sample = "the cat sat on the mat and the dog sat on the log"
    for word, count in most_common(sample):
        print(f"{word}: {count}")

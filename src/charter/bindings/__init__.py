"""Values that travel between messages: what a message's text holds (its words and
numbers, the texts a pattern matches), indexed as the messages are read, so that
`appears in`, `shares` and `.number` cost time linear in the trace
(docs/language.md §6.14, docs/semantics-contract.md)."""

from .index import Range, links, window
from .values import holds, locate, number_in, number_keys, pattern_keys, value_key, word_keys

__all__ = ["Range", "links", "window", "holds", "locate", "number_in", "number_keys", "pattern_keys", "value_key",
           "word_keys"]

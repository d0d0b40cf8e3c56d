"""Which tool call each tool result answers, and back.

Every format that ties a result to its call does it with an id: the call's `id` and the
result's `tool_call_id` (OpenAI chat and Responses, Anthropic, Inspect, native). A
result answers the latest call before it with that id, made by an assistant message
(a log may reuse ids, as some agents number their calls per turn). A result with no id,
or with one no earlier call has, is *unlinked*: kept, and listed, so that a norm asking
for its call finds it unknown rather than absent.

The index is made in one pass, message by message (`add`), so a session that grows a
message at a time extends it rather than rebuilding it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .model import Message

# A call: the index of the message that makes it, and its position in that message's tool_calls.
CallRef = tuple[int, int]


class Links:
    """Calls and the results that answer them, by message index."""

    __slots__ = ("_by_id", "_call", "_result", "unlinked")

    def __init__(self, messages: Iterable[Message] = ()):
        self._by_id: dict[str, CallRef] = {}
        self._call: dict[int, CallRef] = {}
        self._result: dict[CallRef, int] = {}
        self.unlinked: list[int] = []  # the indices of the tool messages that answer no known call
        for message in messages:
            self.add(message)

    def add(self, message: Message) -> None:
        """Take in the next message (messages come in order)."""
        if message.role == "tool":
            call = None if message.tool_call_id is None else self._by_id.get(message.tool_call_id)
            if call is None:
                self.unlinked.append(message.index)
            else:
                self._call[message.index] = call
                self._result.setdefault(call, message.index)
        elif message.role == "assistant":
            for position, call in enumerate(message.tool_calls):
                if call.id is not None:
                    self._by_id[call.id] = (message.index, position)

    def call_of(self, result: int) -> CallRef | None:
        """The call the tool message at index `result` answers; None when it is unlinked
        (or not a tool message)."""
        return self._call.get(result)

    def result_of(self, message: int, position: int = 0) -> int | None:
        """The index of the first tool message answering call `position` of message
        `message`; None while none has."""
        return self._result.get((message, position))

    def pairs(self) -> list[tuple[CallRef, int]]:
        """Every linked result with its call, in the order of the results."""
        return [(call, result) for result, call in self._call.items()]

"""`lazy`: an attribute computed when first read, then kept in the instance's `__dict__`,
where later reads find it as a plain attribute.

`functools.cached_property` does the same, but on Python 3.11 each first read takes a
lock (one per property, shared by every instance): about 1 µs, and a trace's view is made
for every trace checked and reads three or four such attributes, which on traces of a few
messages is a tenth of the check."""

from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar, overload

T = TypeVar("T")


class lazy(Generic[T]):  # (lower case: a decorator, as `property` is)
    __slots__ = ("function", "name", "__doc__")

    def __init__(self, function: Callable[[Any], T]) -> None:
        self.function, self.name, self.__doc__ = function, function.__name__, function.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> lazy[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> T | lazy[T]:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.function(instance)
        return value

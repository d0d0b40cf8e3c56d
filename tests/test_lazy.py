"""`evaluate.lazy`: computed on the first read only, then a plain attribute."""

from charter.evaluate.lazy import lazy


class _Counted:
    def __init__(self) -> None:
        self.calls = 0

    @lazy
    def value(self) -> list[int]:
        """A fresh list, counted."""
        self.calls += 1
        return [self.calls]


def test_a_lazy_attribute_is_computed_once_per_instance_and_then_kept():
    a, b = _Counted(), _Counted()
    assert "value" not in a.__dict__
    first = a.value
    assert a.value is first and a.calls == 1 and a.__dict__["value"] is first
    assert b.value == [1] and b.value is not first
    a.value = [7]  # a plain attribute from then on: it may be replaced, as a view's lists are
    assert a.value == [7] and a.calls == 1


def test_the_class_attribute_is_the_descriptor_with_its_doc():
    assert isinstance(_Counted.value, lazy)
    assert _Counted.value.__doc__ == "A fresh list, counted."

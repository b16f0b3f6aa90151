import pytest

from edgebox import (
    ERROR_CLASSES,
    BootError,
    EdgeBoxError,
    IntegrityError,
    NotFoundError,
)


def test_codes_are_stable_and_unique():
    assert NotFoundError.code == "E_NOT_FOUND"
    assert IntegrityError.code == "E_INTEGRITY"
    assert BootError.code == "E_BOOT"
    assert len(ERROR_CLASSES) == len({cls.code for cls in ERROR_CLASSES.values()})
    assert all(issubclass(cls, EdgeBoxError) for cls in ERROR_CLASSES.values())


@pytest.mark.parametrize("cls", list(ERROR_CLASSES.values()))
def test_wire_round_trip_rebuilds_the_same_class(cls):
    error = cls("went wrong", stack="at guest.js:1")
    wire = error.to_wire()
    assert wire == {"code": cls.code, "message": "went wrong", "stack": "at guest.js:1"}
    rebuilt = EdgeBoxError.from_wire(wire)
    assert type(rebuilt) is cls
    assert (rebuilt.code, rebuilt.message, rebuilt.stack) == (cls.code, "went wrong", "at guest.js:1")


def test_unknown_code_from_a_newer_peer_keeps_its_code():
    rebuilt = EdgeBoxError.from_wire({"code": "E_SOMETHING_NEW", "message": "m"})
    assert type(rebuilt) is EdgeBoxError
    assert rebuilt.code == "E_SOMETHING_NEW"

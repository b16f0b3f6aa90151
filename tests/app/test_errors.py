import pytest

from edgebox import (
    PanicError,
    ERROR_CLASSES,
    BootError,
    EdgeBoxError,
    IntegrityError,
    NotFoundError,
)


def _public_classes() -> list[type]:
    """Every public error class, found by walking the hierarchy (not by code, which would hide a duplicate)."""
    import edgebox

    return [getattr(edgebox, name) for name in edgebox.__all__
            if isinstance(getattr(edgebox, name), type) and issubclass(getattr(edgebox, name), EdgeBoxError)]


def test_codes_are_stable_and_unique():
    assert NotFoundError.code == "E_NOT_FOUND"
    assert IntegrityError.code == "E_INTEGRITY"
    assert BootError.code == "E_BOOT"
    classes = _public_classes()
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)), sorted(codes)
    assert set(ERROR_CLASSES.values()) == set(classes)  # the table holds every class, each under its own code
    assert all(ERROR_CLASSES[cls.code] is cls for cls in classes)


def test_fatal_codes_are_the_deaths():
    from edgebox._errors import FATAL_CODES

    assert FATAL_CODES == {"E_PANIC", "E_LIMIT", "E_TIMEOUT", "E_CRASHED"}


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


def test_go_frames_cross_the_wire_and_nothing_else_does():
    frames = [{"function": "main.(*scale).apply", "file": "edgebox.dev/m/main.go", "line": 19}]
    wire = PanicError("boom", frames=frames).to_wire()
    assert wire["frames"] == frames
    assert EdgeBoxError.from_wire(wire).frames == frames
    assert "frames" not in PanicError("boom").to_wire()
    odd = {"code": "E_PANIC", "message": "m", "frames": [{"function": "f", "file": "x", "line": "1"}, "junk",
                                                          {"function": "g", "file": "y", "line": 2, "extra": 1}]}
    assert EdgeBoxError.from_wire(odd).frames == [{"function": "g", "file": "y", "line": 2}]
    assert EdgeBoxError.from_wire({"code": "E_PANIC", "message": "m", "frames": "no"}).frames == []

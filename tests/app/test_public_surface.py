"""The public surface of the edgebox package, pinned (as httpx pins its __all__)."""

import edgebox


def test_all_is_exactly_the_public_surface():
    assert sorted(edgebox.__all__) == sorted([
        "ABIS", "AuditEvent", "ERROR_CLASSES", "BadRequestError", "BootError", "ClosedError", "ConfigError",
        "CrashedError", "DeniedError", "EdgeBoxError", "Guest", "GuestError", "GuestServices", "Host", "HttpRequest",
        "HttpResponse", "ImportMismatchError", "IntegrityError", "LimitError", "Limits", "LoadError", "Manifest",
        "ModuleSpec", "NetPolicy", "NetworkError", "NotFoundError", "PanicError", "Platform", "Policy", "SignatureError",
        "TimeoutError", "TooLargeError", "TrustedKeys", "verify",
    ])
    assert all(hasattr(edgebox, name) for name in edgebox.__all__)
    assert not [name for name in vars(edgebox) if not name.startswith("_") and name not in edgebox.__all__
                and not isinstance(vars(edgebox)[name], type(edgebox))]

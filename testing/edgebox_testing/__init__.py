"""EdgeBox's pytest plugin: test Go modules and pages in real Chromium.

    def test_rules(edgebox):
        box = edgebox.start(modules={"rules": edgebox.module("go/rules")})
        assert box.call("rules", "score", {"amount": 10}) == 3

Installed with EdgeBox (entry point ``pytest11: edgebox``); fixtures ``edgebox``
(a fresh page per test) and ``edgebox_session``; options ``--edgebox-dist``,
``--edgebox-browser``. README: Testing your modules with pytest.
"""

from ._box import Box, Response
from ._fixture import EdgeBoxFixture, ExpectedError
from ._metrics import Metrics
from ._plugin import CHROMIUM_ARGS
from ._project import CompileError, Module, ProjectError

__all__ = ["CHROMIUM_ARGS", "Box", "CompileError", "EdgeBoxFixture", "ExpectedError", "Metrics", "Module", "ProjectError", "Response"]

"""The pytest plugin (testing/edgebox_testing) run as its users run it: pytest
sessions of their own, in directories outside this repository, in Chromium."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import buildtools as build

USER_PROJECT = Path(__file__).resolve().parent / "userproject"


@pytest.fixture(scope="session")
def go_cache() -> str:
    """Go's build cache, read before pytester moves HOME (a cold cache costs a minute)."""
    return subprocess.run([build.go_binary(), "env", "GOCACHE"], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def user_project(go_cache, pytester, monkeypatch):
    """The sample user project (a Go module with its own go.mod, and a test file)
    in pytester's directory, with Go's build cache kept."""
    monkeypatch.setenv("GOCACHE", go_cache)
    shutil.copytree(USER_PROJECT / "rules", pytester.path / "rules")
    shutil.copy(USER_PROJECT / "go.mod", pytester.path / "go.mod")
    build.build()  # the plugin serves the project's dist/ by default
    return pytester


def test_a_suite_passes_catches_a_denial_and_a_wrong_expectation_fails_with_the_guest_log(user_project):
    user_project.makepyfile(test_qa='''
        ORDER = {"user": "u9", "region": "US", "amount": 40}

        def test_call_fetch_and_metrics(edgebox):
            rules = edgebox.module("rules")
            assert rules.abi == "wasip1" and edgebox.module(rules.file).sha256 == rules.sha256  # a .wasm as it is
            box = edgebox.start(modules={"rules": rules}, routes=[{"prefix": "/rules/", "module": "rules"}])
            assert box.call("rules", "score", ORDER) == 9
            assert box.fetch("/rules/check", method="POST", json=ORDER).json() == {"verdict": "pass", "score": 9}
            assert box.metrics().value("edgebox_requests_total", module="rules", status="200") == 1

        def test_denial(edgebox):
            box = edgebox.start(modules={"rules": edgebox.module("rules", abi="js", policy={"net": {"allow": ["/api/"]}})})
            with edgebox.expect_error("E_DENIED") as denied:
                box.call("rules", "phone_home")
            assert denied.audit[0]["capability"] == "net" and box.audit[-1]["capability"] == "net"

        def test_wrong_expectation(edgebox):
            box = edgebox.start(modules={"rules": edgebox.module("rules")})
            assert box.call("rules", "score", ORDER) == 3

        def test_expected_error_that_does_not_come(edgebox_session):
            box = edgebox_session.start(modules=[edgebox_session.module("rules")])
            with edgebox_session.expect_error("E_NOT_FOUND"):
                box.call("rules", "score", ORDER)
    ''')
    result = user_project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=2)
    output = result.stdout.str()
    failure = output[output.index("_ test_wrong_expectation _"):output.index("_ test_expected_error_that_does_not_come _")]
    assert "assert 9 == 3" in failure
    assert "expected E_NOT_FOUND, but the block raised no EdgeBox error" in output
    result.stdout.fnmatch_lines(["*edgebox box 1: guest log (last 1 of 1)*", "rules stdout: scoring u9: 40.00",
                                 "*edgebox box 1: audit (last 0 of 0)*", "(no events)"])


def test_a_module_that_does_not_compile_fails_naming_the_go_file_and_line(user_project):
    main = user_project.path / "rules" / "main.go"
    main.write_text(main.read_text().replace("return score(o), nil", "return scor(o), nil"))
    line = next(i for i, text in enumerate(main.read_text().splitlines(), 1) if "scor(o), nil" in text)
    user_project.makepyfile(test_broken='''
        def test_broken(edgebox):
            edgebox.module("rules")
    ''')
    result = user_project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Go module rules does not compile (wasip1):",
                                 f"*rules/main.go:{line}:*: undefined: scor"])
    assert "Traceback" not in result.stdout.str() and "_project.py" not in result.stdout.str()


def test_venv_pytest_runs_a_user_project_outside_the_repository(tmp_path):
    """What the README promises: .venv/bin/pytest in a directory holding only a Go
    module and a test file (default --edgebox-dist: this project's dist/)."""
    assert not tmp_path.is_relative_to(build.ROOT)
    shutil.copytree(USER_PROJECT, tmp_path / "qa")
    build.build()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONPATH"))}
    result = subprocess.run([str(build.ROOT / ".venv" / "bin" / "pytest"), "-q", "-p", "no:cacheprovider"],
                            cwd=tmp_path / "qa", env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "4 passed" in result.stdout.splitlines()[-1]

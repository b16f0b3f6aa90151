"""The pytest plugin's wheel (buildtools/wheel.py plugin_wheel) and its install into .venv."""

import importlib.metadata
import json
import re
import tomllib
import zipfile

import buildtools as build
from buildtools.wheel import plugin_wheel


def test_the_plugin_pins_the_same_versions_as_requirements_txt():
    pinned = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (build.ROOT / "requirements.txt").read_text(), re.M))
    normal = {name.lower().replace("_", "-"): version for name, version in pinned.items()}
    dependencies = tomllib.loads((build.ROOT / "testing" / "pyproject.toml").read_text())["project"]["dependencies"]
    for dependency in dependencies:
        name, version = dependency.split("==")
        assert normal.get(name.lower()) == version, dependency


def test_the_wheel_is_reproducible_and_names_its_entry_point_and_project():
    wheel = plugin_wheel()
    first = wheel.read_bytes()
    assert plugin_wheel().read_bytes() == first
    with zipfile.ZipFile(wheel) as archive:
        entry_points = archive.read("edgebox_testing-0.1.0.dist-info/entry_points.txt").decode()
        assert "[pytest11]\nedgebox = edgebox_testing._plugin\n" in entry_points
        assert json.loads(archive.read("edgebox_testing/_origin.json")) == {"root": str(build.ROOT)}
        metadata = archive.read("edgebox_testing-0.1.0.dist-info/METADATA").decode()
        assert "Requires-Dist: pytest-playwright==0.10.0" in metadata


def test_setup_installed_the_plugin_into_the_venv():
    points = importlib.metadata.entry_points(group="pytest11")
    assert [p.value for p in points if p.name == "edgebox"] == ["edgebox_testing._plugin"]
    assert importlib.metadata.version("edgebox-testing") == "0.1.0"

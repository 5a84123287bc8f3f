"""The lock files pin every requirement of pyproject.toml to a version it allows,
with hashes: `make lock` after changing a requirement keeps them in step."""

from __future__ import annotations

import re
import tomllib

import pytest
from conftest import ROOT
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\$", re.MULTILINE)
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pins(lock: str) -> dict[str, str]:
    """{name: version} of every package ``lock`` pins (each with a hash)."""
    text = (ROOT / lock).read_text()
    found = {canonicalize_name(name): version for name, version in PINNED.findall(text)}
    assert text.count("==") == len(found) and text.count("--hash=sha256:") >= len(found)
    return found


@pytest.mark.parametrize(
    ("lock", "extras"),
    [
        ("requirements.lock", []),
        ("requirements-train.lock", ["train"]),
        ("requirements-dev.lock", ["dev", "train"]),
    ],
)
def test_locks_pin_every_requirement_within_its_range(lock, extras):
    pinned = pins(lock)
    wanted = [*PROJECT["dependencies"]]
    for extra in extras:
        wanted += PROJECT["optional-dependencies"][extra]
    for line in wanted:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name == "wordlens":  # an extra naming another: listed as well
            continue
        assert name in pinned, f"{lock} lacks {name}: run make lock"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{lock} pins {name}=={pinned[name]}, outside {requirement.specifier}: run make lock"
        )

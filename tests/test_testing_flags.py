"""The table of etcd server flags by version (etcdmap.testing._flags): sans-IO, no server."""

from __future__ import annotations

import pytest

from etcdmap.testing._flags import (
    FLAG_HISTORY,
    UnsupportedFlagError,
    adapt_args,
    parse_version,
    version_matches,
)

V34, V351, V3530, V36, V37 = (3, 4, 23), (3, 5, 1), (3, 5, 30), (3, 6, 0), (3, 7, 0)


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("etcd Version: 3.4.23\nGit SHA: Not provided\nGo Version: go1.19.8\n", V34),
        ("etcd Version: 3.5.1\nGit SHA: e8732fb5f\n", V351),
        ("v3.6.0", V36),
        ("3.7.0-alpha.0", V37),
    ],
)
def test_parse_version(text: str, version: tuple[int, int, int]) -> None:
    assert parse_version(text) == version


def test_parse_version_rejects_text_without_version() -> None:
    with pytest.raises(ValueError, match="no etcd version"):
        parse_version("etcd: command not found")


def test_common_flags_pass_unchanged_on_every_version() -> None:
    args = ["--name", "m0", "--max-txn-ops", "4", "--auth-token-ttl=2", "--log-level=warn"]
    for version in (V34, V351, V3530, V36, V37):
        assert adapt_args(args, version) == args


@pytest.mark.parametrize(
    "given", ["--experimental-watch-progress-notify-interval", "--watch-progress-notify-interval"]
)
def test_graduated_flag_named_for_each_version(given: str) -> None:
    for version, name in [
        (V34, "--experimental-watch-progress-notify-interval"),
        (V3530, "--experimental-watch-progress-notify-interval"),
        (V36, "--watch-progress-notify-interval"),
        (V37, "--watch-progress-notify-interval"),
    ]:
        assert adapt_args([given, "100ms"], version) == [name, "100ms"]
        assert adapt_args([f"{given}=100ms"], version) == [f"{name}=100ms"]


def test_bbolt_freelist_flag_graduated_in_3_5() -> None:
    assert adapt_args(["--backend-bbolt-freelist-type=map"], V34) == [
        "--experimental-backend-bbolt-freelist-type=map"
    ]
    assert adapt_args(["--experimental-backend-bbolt-freelist-type=map"], V351) == [
        "--backend-bbolt-freelist-type=map"
    ]


def test_boolean_experimental_flags_become_one_feature_gates_flag_in_3_6() -> None:
    args = [
        "--experimental-initial-corrupt-check",
        "--max-txn-ops=4",
        "--experimental-compact-hash-check-enabled=false",
    ]
    assert adapt_args(args, V3530) == args
    assert adapt_args(args, V36) == [
        "--max-txn-ops=4",
        "--feature-gates=InitialCorruptCheck=true,CompactHashCheck=false",
    ]


@pytest.mark.parametrize(
    ("arg", "version", "message"),
    [
        (
            "--unsafe-no-fsync",
            V34,
            r"etcd 3\.4\.23 has no flag for --unsafe-no-fsync .*from 3\.5\.0",
        ),
        ("--experimental-compact-hash-check-enabled", V351, r"3\.5\.1 .*from 3\.5\.5"),
        ("--debug", V351, r"--debug before 3\.5\.0, none from 3\.5\.0"),
        ("-log-package-levels=x", V36, "--log-package-levels"),
    ],
)
def test_flag_the_version_lacks_is_refused_naming_it(
    arg: str, version: tuple[int, int, int], message: str
) -> None:
    with pytest.raises(UnsupportedFlagError, match=message):
        adapt_args([arg], version)


def test_every_name_belongs_to_one_setting() -> None:
    names = [name for history in FLAG_HISTORY for _, name in history.names if name]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("spec", "holds"),
    [
        (">=3.5", [V351, V3530, V36, V37]),
        ("<3.6", [V34, V351, V3530]),
        ("==3.5", [V351, V3530]),
        (">=3.5.5, <3.6", [V3530]),
        ("!=3.5.1", [V34, V3530, V36, V37]),
        (">3.5.30", [V36, V37]),
    ],
)
def test_version_matches(spec: str, holds: list[tuple[int, int, int]]) -> None:
    assert [v for v in (V34, V351, V3530, V36, V37) if version_matches(v, spec)] == holds


def test_version_spec_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="spec='3.5'"):
        version_matches(V351, "3.5")

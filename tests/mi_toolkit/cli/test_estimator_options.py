"""``--estimator-option KEY=VALUE`` (issue 21, item 3): the pure parser on toy configs and on every registered
estimator's config, and the flag on ``mi estimate`` / ``mi curve`` through typer's CliRunner."""
from __future__ import annotations

import dataclasses
import json
import typing

import numpy as np
import pytest
from typer.testing import CliRunner

from predgen_common.errors import UserError

from mi_toolkit.cli import app
from mi_toolkit.cli.estimator_options import (build_config, check_options, estimator_config, parse_value,
                                              split_options, valid_keys)
from mi_toolkit.estimators import ESTIMATORS, ProbeConfig


@dataclasses.dataclass
class Inner:
    width: int = 4


@dataclasses.dataclass
class Toy:
    n: int = 3
    rate: float = 0.5
    on: bool = True
    name: str = "a"
    sizes: tuple[int, ...] = (1, 2)
    cap: int | None = None
    mixed: tuple[float | str, ...] = ("auto",)
    pair: tuple[str, int] = ("x", 1)
    nested_tuples: tuple[tuple[str, int], ...] = ()
    inner: Inner = dataclasses.field(default_factory=Inner)


def test_each_value_is_parsed_to_its_field_type():
    cfg = build_config(Toy, ["n=7", "rate=1e-3", "on=off", "name=b c", "sizes=4, 8,16", "cap=12",
                             "mixed=0.5,auto", "pair=y,2", "inner.width=9"])
    assert cfg == Toy(n=7, rate=1e-3, on=False, name="b c", sizes=(4, 8, 16), cap=12, mixed=(0.5, "auto"),
                      pair=("y", 2), inner=Inner(9))
    assert type(cfg.rate) is float and type(cfg.sizes[0]) is int


@pytest.mark.parametrize("text, tp, want", [("none", int | None, None), ("NULL", typing.Optional[int], None),
                                            ("", tuple[int, ...], ()), ("TRUE", bool, True), ("0", bool, False),
                                            ("2", float, 2.0), ("auto", float | str, "auto")])
def test_parse_value_edge_cases(text, tp, want):
    assert parse_value(text, tp, "k") == want


def test_no_option_keeps_the_defaults():
    assert build_config(Toy, None) == Toy() and build_config(Toy, []) == Toy()
    assert estimator_config("probe", None) is None and estimator_config(None, []) is None


@pytest.mark.parametrize("pairs, words", [
    (["nope=1"], "has no such field; valid keys: n, rate, on, name, sizes, cap, mixed, pair, nested_tuples, inner.*"),
    (["inner.nope=1"], "inner.nope: the estimator's config (Inner) has no such field; valid keys: inner.width"),
    (["n.x=1"], "valid keys: n, rate"),
    (["n=3.5"], "n=3.5: n takes an int, not '3.5'"),
    (["on=maybe"], "on takes true or false"),
    (["sizes=1,x"], "sizes takes a comma list of ints"),
    (["cap=big"], "cap takes an int or none"),
    (["pair=a,b"], "pair takes a comma list of 2 values"),
    (["nested_tuples=a,1"], "set it through the API's config="),
    (["n"], "write KEY=VALUE"),
    (["=3"], "write KEY=VALUE"),
    (["n=1", "n=2"], "n is given twice"),
])
def test_bad_options_are_one_line_naming_the_way_out(pairs, words):
    with pytest.raises(UserError) as err:
        build_config(Toy, pairs)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_a_field_the_command_owns_is_refused():
    with pytest.raises(UserError, match="set by --n"):
        build_config(Toy, ["n=2"], exclude={"n": "set by --n"})


def test_options_need_a_named_estimator():
    check_options("probe", ["folds=3"])
    check_options(None, None)
    with pytest.raises(UserError, match="name it with --estimator"):
        check_options(None, ["folds=3"])
    assert split_options(["a=1", "b = x=y"]) == {"a": "1", "b": "x=y"}


def _as_text(value) -> str:
    """A default as a user would type it (the inverse of the parser)."""
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return ",".join(map(_as_text, value))
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.mark.parametrize("name", ESTIMATORS.list())
def test_every_registered_config_round_trips_its_defaults(name):
    """Each field of each registered estimator's config can be typed on the command line (nested configs
    by their dotted keys); one it cannot (a tuple of tuples) says so in one line."""
    cls = ESTIMATORS.get(name).config_cls
    default = cls()
    for f in dataclasses.fields(cls):
        value = getattr(default, f.name)
        if dataclasses.is_dataclass(value):
            continue  # its fields are reached as name.field, below
        if isinstance(value, tuple) and value and isinstance(value[0], tuple):
            with pytest.raises(UserError, match="config="):
                build_config(cls, [f"{f.name}={_as_text(value)}"], owner=name)
            continue
        assert getattr(build_config(cls, [f"{f.name}={_as_text(value)}"], owner=name), f.name) == value, f.name
    keys = valid_keys(cls)
    assert all(k.removesuffix(".*") in {f.name for f in dataclasses.fields(cls)} for k in keys)


def test_estimator_config_builds_the_registered_class():
    cfg = estimator_config("probe", ["repeats=2", "penalties=0.01,0.1"])
    assert isinstance(cfg, ProbeConfig) and cfg.repeats == 2 and cfg.penalties == (0.01, 0.1)
    binned = estimator_config("binned", ["probe.pca_ks=8,16", "companion=none"])
    assert binned.probe.pca_ks == (8, 16) and binned.companion is None
    with pytest.raises(UserError, match="ksg's config .KSGConfig. has no such field; valid keys: k, n_bootstrap, n_permutations"):
        estimator_config("ksg", ["folds=3"])


runner = CliRunner()


@pytest.fixture()
def arrays(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    np.save(tmp_path / "z.npy", rng.standard_normal((200, 3)) + 2.0 * y[:, None])
    np.save(tmp_path / "y.npy", y)
    return tmp_path


def _estimate(arrays, *extra):
    return runner.invoke(app, ["estimate", "--features", str(arrays / "z.npy"), "--labels", str(arrays / "y.npy"),
                               "--device", "cpu", *map(str, extra)])


def test_mi_estimate_passes_the_options_to_the_config(arrays):
    out = arrays / "mi.json"
    res = _estimate(arrays, "--estimator", "ksg", "--estimator-option", "k=7", "--estimator-option",
                    "n_permutations=3", "--json", out)
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["config"]["k"] == 7 and data["config"]["n_permutations"] == 3


@pytest.mark.parametrize("extra, words", [
    (["--estimator", "ksg", "--estimator-option", "folds=3"], "valid keys: k, n_bootstrap, n_permutations"),
    (["--estimator", "probe", "--estimator-option", "folds=many"], "folds takes an int, not 'many'"),
    (["--estimator-option", "folds=3"], "name it with --estimator"),
    (["--estimator", "probe", "--estimator-option", "folds"], "write KEY=VALUE"),
])
def test_mi_estimate_bad_option_is_one_line_exit_2(arrays, extra, words):
    res = _estimate(arrays, *extra)
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error:"), res.output
    assert words in lines[0]


def test_mi_curve_refuses_the_probe_fields_it_sets_itself(arrays):
    res = runner.invoke(app, ["curve", "--z", f"a={arrays / 'z.npy'}", "--y", str(arrays / "y.npy"),
                              "--output", str(arrays / "c.html"), "--estimator-option", "folds=3"])
    assert res.exit_code == 2 and "--folds" in res.output, res.output

"""`mi estimate --features` reads .npz, .safetensors and torch.save files (issue 20, item 6).

The same array saved in every format gives the same estimate; (N, T, d) states come with their
(N, T) mask; a file of several arrays needs --features-key. Bad files: tests/reliability.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file
from typer.testing import CliRunner

from mi_toolkit.cli import app
from mi_toolkit.cli.features import inspect_features

runner = CliRunner()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("formats")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    z = (rng.standard_normal((300, 3)) + 1.5 * y[:, None]).astype(np.float32)
    np.save(root / "y.npy", y)
    np.save(root / "z.npy", z)
    np.savez(root / "z.npz", features=z)
    save_file({"blocks.0.hook_resid_post": np.zeros_like(z), "blocks.1.hook_resid_post": z}, str(root / "z.safetensors"))
    torch.save({"resid": torch.from_numpy(z)}, root / "z.pt")
    return root, z, y


def _mi(root, features, *extra):
    out = root / f"{features}.json"
    res = runner.invoke(app, ["estimate", "--features", str(root / features), "--labels", str(root / "y.npy"),
                              "--estimator", "ksg", "--json", str(out), *extra])
    assert res.exit_code == 0, res.output
    return json.loads(out.read_text())


def test_every_format_gives_the_npy_estimate(data):
    root, _, _ = data
    want = _mi(root, "z.npy")["mi"]
    assert want > 0.2
    assert _mi(root, "z.npz")["mi"] == want
    assert _mi(root, "z.pt")["mi"] == want  # a dict of one tensor: no key needed
    got = _mi(root, "z.safetensors", "--features-key", "blocks.1.hook_resid_post")
    assert got["mi"] == want and got["features_key"] == "blocks.1.hook_resid_post"


def test_several_tensors_need_a_key(data):
    root, _, _ = data
    res = runner.invoke(app, ["estimate", "--features", str(root / "z.safetensors"), "--labels", str(root / "y.npy")])
    assert res.exit_code == 2 and "--features-key" in res.output and "blocks.0.hook_resid_post" in res.output


def test_token_states_with_a_mask_and_bfloat16(tmp_path):
    """(N, T, d) bfloat16 states (as a TransformerLens cache holds them) with an attention mask."""
    rng = np.random.default_rng(1)
    n, t, d = 200, 5, 3
    y = rng.integers(0, 2, n)
    lengths = rng.integers(2, t + 1, n)
    mask = np.arange(t)[None, :] < lengths[:, None]
    z = rng.standard_normal((n, t, d)) * mask[..., None]
    z[np.arange(n), lengths - 1, 0] += 2.0 * y  # the label sits on each row's last real token
    torch.save({"hidden_states": torch.tensor(z, dtype=torch.bfloat16), "attention_mask": torch.from_numpy(mask)},
               tmp_path / "cache.pt")
    np.save(tmp_path / "y.npy", y)
    f = inspect_features(tmp_path / "cache.pt")
    assert (f.key, f.mask_key, f.shape, f.mask_shape) == ("hidden_states", "attention_mask", (n, t, d), (n, t))
    zz, mm = f.load()
    assert zz.dtype == np.float32 and mm.dtype == bool and mm.sum() == lengths.sum()
    out = tmp_path / "mi.json"
    res = runner.invoke(app, ["estimate", "--features", str(tmp_path / "cache.pt"), "--labels", str(tmp_path / "y.npy"),
                              "--json", str(out)])
    assert res.exit_code == 0, res.output
    got = json.loads(out.read_text())
    assert got["estimator"] == "probe" and got["mi"] > 0.2


def test_npz_header_only_and_the_rows_kept(tmp_path):
    z = np.zeros((50, 4, 2), np.float32)
    mask = np.ones((50, 4), bool)
    np.savez(tmp_path / "a.npz", x=z, mask=mask, other=np.zeros(3))
    f = inspect_features(tmp_path / "a.npz", key="x")
    assert (f.kind, f.shape, f.mask_key, f.mask_shape, f.rows) == ("npz", (50, 4, 2), "mask", (50, 4), 50)
    from mi_toolkit.cli.estimate import sample_rows

    rows = sample_rows(50, np.arange(50) % 2, 20, 0)  # the rows kept of features, labels and mask alike
    assert len(rows) == 20 and (np.diff(rows) > 0).all() and np.bincount(np.arange(50)[rows] % 2).tolist() == [10, 10]

"""Token- and feature-axis PCA: deterministic, nested in k, clear errors."""
from __future__ import annotations

import numpy as np
import pytest

from mi_toolkit.states.pca import FeaturePCA, RowPCA, reduce_rows, token_pca, token_pca_all, token_pca_batch
from predgen_common.errors import UserError


def _examples(seed=0, lengths=(5, 7, 5, 9, 3), d=6):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, d)).astype(np.float32) for n in lengths]


def test_token_pca_shape_norms_and_sign_rule():
    z = _examples()[3]
    r = token_pca(z, 4)
    assert r.shape == (4, 6)
    s = np.linalg.svd(z - z.mean(0), compute_uv=False)
    np.testing.assert_allclose(np.linalg.norm(r, axis=1), s[:4], rtol=1e-5)
    # rows are orthogonal directions
    gram = r @ r.T
    np.testing.assert_allclose(gram - np.diag(np.diag(gram)), 0, atol=1e-4)
    # deterministic sign: the largest-magnitude entry of each row is positive
    assert np.all(r[np.arange(4), np.abs(r).argmax(1)] > 0)


def test_token_pca_is_a_function_of_z_and_nested_in_k():
    z = _examples()[1]
    np.testing.assert_array_equal(token_pca(z, 3), token_pca(z.copy(), 3))
    # -Z has the same principal subspace; the sign rule makes the output identical
    np.testing.assert_allclose(token_pca(-z, 3), token_pca(z, 3), atol=1e-5)
    np.testing.assert_allclose(token_pca(z, 5)[:3], token_pca(z, 3), atol=1e-6)


def test_token_pca_batch_matches_single_and_all_ks():
    ex = _examples()
    batch = token_pca_batch(ex, 2)
    for i, z in enumerate(ex):
        np.testing.assert_allclose(batch[i], token_pca(z, 2), atol=1e-5)
    allk = token_pca_all(iter(ex), [1, 2, 3], chunk=2)
    assert set(allk) == {1, 2, 3} and allk[3].shape == (5, 3, 6)
    np.testing.assert_allclose(allk[2], batch, atol=1e-5)
    np.testing.assert_allclose(allk[3][:, :1], allk[1], atol=1e-6)


def test_k_larger_than_tokens_is_a_clear_error():
    with pytest.raises(UserError, match=r"k=4 .*larger than the number of tokens \(3\) of example 4"):
        token_pca_batch(_examples(), 4)
    with pytest.raises(UserError, match="at least 1"):
        token_pca(_examples()[0], 0)


def test_feature_pca_fit_on_one_split_applied_to_another():
    fit, ev = _examples(0), _examples(1, lengths=(4, 12))
    for incremental in (True, False):
        f = FeaturePCA(n_components=2, incremental=incremental, batch_size=8).fit(iter(fit))
        assert f.n_tokens_ == 9  # longest fit example
        out = f.transform(ev)
        assert out.shape == (2, 9, 2)
        np.testing.assert_array_equal(out[0, 4:], 0)  # zero padding after 4 tokens
        np.testing.assert_allclose(out[1], f.pca_.transform(ev[1][:9]), atol=1e-5)  # truncated to 9
        np.testing.assert_array_equal(out, FeaturePCA(2, incremental=incremental, batch_size=8).fit(iter(fit)).transform(ev))


def test_feature_pca_too_few_tokens():
    with pytest.raises(UserError, match="need at least 50"):
        FeaturePCA(n_components=50, incremental=True).fit(iter(_examples()))


def test_row_pca_is_per_row_so_nestings_survive():
    rng = np.random.default_rng(0)
    fit = rng.normal(size=(50, 5, 12)).astype(np.float32) * np.arange(1, 13)
    ev = rng.normal(size=(20, 5, 12)).astype(np.float32)
    rf, re_ = reduce_rows(fit, ev, 4)
    assert rf.shape == (50, 5, 4) and re_.shape == (20, 5, 4)
    # row j's map depends on row j alone: reducing the first 2 rows alone gives the same numbers
    sub_f, sub_e = reduce_rows(fit[:, :2], ev[:, :2], 4)
    np.testing.assert_allclose(sub_e, re_[:, :2], atol=1e-5)
    # a single (N, d) row is the last row reduced alone
    last_f, last_e = reduce_rows(fit[:, -1], ev[:, -1], 4)
    assert last_e.shape == (20, 4)
    np.testing.assert_allclose(last_e, re_[:, -1], atol=1e-5)
    # the map is fitted on the fit split only
    _, re2 = reduce_rows(fit, np.zeros_like(ev), 4)
    np.testing.assert_allclose(re2[:, 0], -RowPCA(4).fit(fit).pcas_[0].mean_ @ RowPCA(4).fit(fit).pcas_[0].components_.T
                               * np.ones((20, 1)), atol=1e-4)
    assert reduce_rows(fit, ev, None)[1] is ev


def test_row_pca_bad_input():
    with pytest.raises(UserError, match="--row-dim must be at least 1"):
        RowPCA(0).fit(np.zeros((10, 2, 3)))
    with pytest.raises(UserError, match="fitted on 2 rows"):
        RowPCA(2).fit(np.random.default_rng(1).normal(size=(10, 2, 3))).transform(np.zeros((4, 3, 3)))
    assert RowPCA(50).fit(np.random.default_rng(0).normal(size=(10, 1, 6))).pcas_[0].n_components_ == 6

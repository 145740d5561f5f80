"""Calibration and scoring against published fits of the LSAT data.

Sources (printed values; tolerances follow their printed precision and the EM stopping
rules discussed in /work/shared/reference/irt_cat.md §0):

* ltm (Rizopoulos, 2006, J. Stat. Software 17(5), and the ltm manual): ``rasch(LSAT)`` —
  common slope 0.7551 (SE 0.0694), difficulties −3.6153 −1.3224 −0.3176 −1.7301 −2.7802
  (SE 0.3266 0.1422 0.0977 0.1691 0.2510), log-likelihood −2466.938.
* ltm ``ltm(LSAT ~ z1)`` (2PL): difficulties −3.3597 −1.3696 −0.2799 −1.8659 −3.1236,
  slopes 0.8254 0.7229 0.8905 0.6886 0.6575 (also printed in the public R-Pubs note
  https://rstudio-pubs-static.s3.amazonaws.com/1049111_d258e411eefe4ba085e3bbc59b32dbeb.html),
  log-likelihood −2466.653; its empirical-Bayes (posterior-mode) factor scores for
  patterns 00000, 00001, 11111: −1.895 (0.795), −1.479 (0.796), 0.606 (0.855).
* R mirt ``mirt(expand.table(LSAT7), 1)`` (2PL, slope–intercept): a1 0.988 1.081 1.706
  0.765 0.736, d 1.856 0.808 1.804 0.486 1.855, log-likelihood −2658.805.
"""

import numpy as np
import pytest

from competency.irt import fit, score
from competency.irt.convert import to_slope_intercept

LTM_RASCH_B = [-3.6153, -1.3224, -0.3176, -1.7301, -2.7802]
LTM_RASCH_B_SE = [0.3266, 0.1422, 0.0977, 0.1691, 0.2510]
LTM_2PL_B = [-3.3597, -1.3696, -0.2799, -1.8659, -3.1236]
LTM_2PL_A = [0.8254, 0.7229, 0.8905, 0.6886, 0.6575]
LTM_2PL_B_SE = [0.8669, 0.3073, 0.0997, 0.4341, 0.8700]
LTM_2PL_A_SE = [0.2581, 0.1867, 0.2326, 0.1852, 0.2100]
MIRT_LSAT7_A1 = [0.988, 1.081, 1.706, 0.765, 0.736]
MIRT_LSAT7_D = [1.856, 0.808, 1.804, 0.486, 1.855]


@pytest.fixture(scope="module")
def fits(lsat6, lsat7):
    pat, f6 = lsat6
    _, f7 = lsat7
    return {
        "1pl": fit(pat, "1pl", weights=f6, tol=1e-6),
        "rasch": fit(pat, "rasch", weights=f6, tol=1e-6),
        "2pl": fit(pat, "2pl", weights=f6, tol=1e-6),
        "lsat7": fit(pat, "2pl", weights=f7, tol=1e-6),
    }


def test_ltm_rasch_common_slope(fits):
    r = fits["1pl"]
    assert r.converged
    assert r.loglik == pytest.approx(-2466.938, abs=1e-3)
    np.testing.assert_allclose(r.params["a"], 0.7551, atol=2e-4)
    np.testing.assert_allclose(r.se["a"], 0.0694, atol=2e-4)
    np.testing.assert_allclose(r.params["b"], LTM_RASCH_B, atol=5e-4)
    np.testing.assert_allclose(r.se["b"], LTM_RASCH_B_SE, atol=5e-4)
    assert r.latent_sd == 1.0


def test_rasch_is_the_common_slope_model_rescaled(fits):
    """mirt's itemtype='Rasch': slopes 1, latent SD = ltm's common slope, b = slope·b_ltm."""
    r, one = fits["rasch"], fits["1pl"]
    assert r.loglik == pytest.approx(one.loglik, abs=1e-6)
    assert r.latent_sd == pytest.approx(0.7551, abs=2e-4)
    assert r.latent_sd_se == pytest.approx(0.0694, abs=2e-4)
    np.testing.assert_array_equal(r.params["a"], 1.0)
    np.testing.assert_allclose(r.params["b"], np.array(LTM_RASCH_B) * 0.7551, atol=1e-3)


def test_ltm_2pl(fits):
    r = fits["2pl"]
    assert r.loglik == pytest.approx(-2466.653, abs=1e-3)
    np.testing.assert_allclose(r.params["a"], LTM_2PL_A, atol=5e-3)
    np.testing.assert_allclose(r.params["b"], LTM_2PL_B, atol=1e-2)
    np.testing.assert_allclose(r.se["a"], LTM_2PL_A_SE, atol=3e-3)
    np.testing.assert_allclose(r.se["b"], LTM_2PL_B_SE, atol=3e-3)


def test_mirt_lsat7_2pl_slope_intercept(fits):
    r = fits["lsat7"]
    assert r.loglik == pytest.approx(-2658.805, abs=1e-3)
    si, _ = to_slope_intercept(r.params)
    np.testing.assert_allclose(si["a1"], MIRT_LSAT7_A1, atol=5e-3)
    np.testing.assert_allclose(si["d"], MIRT_LSAT7_D, atol=5e-3)


def test_ltm_posterior_mode_scores(lsat6):
    params = {
        "a": [0.8253715, 0.7229499, 0.8904748, 0.6885502, 0.6574516],
        "b": [-3.3597341, -1.3696497, -0.2798983, -1.8659189, -3.1235725],
    }
    pat, _ = lsat6
    theta, se = score(pat[[0, 1, 31]], params, model="2pl", method="map")
    np.testing.assert_allclose(theta, [-1.895, -1.479, 0.606], atol=1e-3)
    np.testing.assert_allclose(se, [0.795, 0.796, 0.855], atol=1e-3)


def test_frequency_weights_equal_expanded_rows(lsat7):
    pat, freq = lsat7
    expanded = np.repeat(pat, freq.astype(int), axis=0)
    a = fit(pat, "2pl", weights=freq, se=False)
    b = fit(expanded, "2pl", se=False)
    assert a.loglik == pytest.approx(b.loglik, abs=1e-8)
    np.testing.assert_allclose(a.params["a"], b.params["a"], atol=1e-10)


def test_3pl_with_prior_is_bayes_modal(lsat7):
    pat, freq = lsat7
    plain = fit(pat, "3pl", weights=freq, guess_prior=None, max_iter=5000, se=False)
    strong = fit(pat, "3pl", weights=freq, guess_prior=(2001.0, 8001.0), se=False)
    np.testing.assert_allclose(strong.params["c"], 0.2, atol=0.01)
    assert strong.log_posterior < strong.loglik  # a proper prior adds a negative log density
    assert plain.loglik >= strong.loglik - 1e-9
    two = fit(pat, "2pl", weights=freq, se=False)
    assert plain.loglik >= two.loglik - 1e-6  # 3pl nests the 2pl

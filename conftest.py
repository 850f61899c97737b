"""Root pytest configuration: every unit test and doctest starts on the NumPy backend.

``SOFTMAXLAB_BACKEND=cupy make test`` then runs the notebooks (in their own
kernels, which read the variable) on CuPy, while the unit tests stay
deterministic: they reach CuPy through the ``lib`` fixture's CuPy leg
(tests/conftest.py), whatever the variable says.
"""

import pytest

# array-api-strict arrays refuse implicit conversion to NumPy in the tests, as
# CuPy's arrays do: library code that calls np.asarray (or a NumPy function) on
# a backend array fails on the strict leg here instead of on a GPU later.
# softmaxlab.to_numpy, the explicit way, uses DLPack.
try:
    import array_api_strict as _xps
except ImportError:  # pragma: no cover - a test dependency
    _xps = None
else:
    def _refuse_implicit_numpy(self, *args, **kwargs):
        raise TypeError("implicit conversion of an array-api-strict array to NumPy: CuPy "
                        "refuses it too; use softmaxlab.to_numpy(x) (set in conftest.py)")

    type(_xps.asarray(0.0)).__array__ = _refuse_implicit_numpy


@pytest.fixture(autouse=True, scope="session")
def _numpy_backend_for_the_session():
    """Before any fixture, module-scoped data included, makes arrays."""
    import softmaxlab._backend as B

    saved = B._explicit_default[0]
    B._explicit_default[0] = "numpy"
    yield
    B._explicit_default[0] = saved


@pytest.fixture(autouse=True)
def _numpy_backend_by_default(_numpy_backend_for_the_session):
    """A test that switches the backend does not leak it into the next one."""
    import softmaxlab._backend as B

    saved = B._explicit_default[0]
    B._explicit_default[0] = "numpy"
    yield
    B._explicit_default[0] = saved

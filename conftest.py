"""Root pytest configuration: every unit test and doctest starts on the NumPy backend.

``SOFTMAXLAB_BACKEND=cupy make test`` then runs the notebooks (in their own
kernels, which read the variable) on CuPy, while the unit tests stay
deterministic: they reach CuPy through the ``lib`` fixture's CuPy leg
(tests/conftest.py), whatever the variable says.
"""

import pytest

# array-api-strict arrays refuse implicit conversion to NumPy in the tests, as
# CuPy's arrays do (see tests/cupy_like.py).
try:
    import tests.cupy_like  # noqa: F401
except ImportError:  # pragma: no cover - array-api-strict is a test dependency
    pass


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

"""Make array-api-strict arrays refuse implicit conversion to NumPy, as CuPy's arrays do.

Imported by the root ``conftest.py``, so that the strict leg of the unit tests
fails where library code would call ``np.asarray`` (or a NumPy function) on a
GPU array, and copied as an IPython startup file into the notebook kernels by
``tests/test_notebooks_portable.py``.  ``softmaxlab.to_numpy`` is the explicit
way; it uses DLPack.
"""

import array_api_strict as _xps


def _refuse_implicit_numpy(self, *args, **kwargs):
    raise TypeError("implicit conversion of a backend array to NumPy (CuPy refuses it "
                    "too): use softmaxlab.to_numpy(x)")


type(_xps.asarray(0.0)).__array__ = _refuse_implicit_numpy

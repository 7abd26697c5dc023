"""Settings for the whole test session, notebooks (nbval) and tests/ alike.

Jupyter kernels started by nbval and papermill inherit this process's environment, so it is set here,
before the first kernel starts: the project's kernel environment, and a temporary build folder, so that a
test run writes its records and figures there and never into the working tree.
"""

import os
import tempfile
import time

from normprop.repro.runtime import kernel_environment

os.environ.update(kernel_environment())
if not os.environ.get("NORMPROP_BUILD_DIR"):
    os.environ["NORMPROP_BUILD_DIR"] = tempfile.mkdtemp(prefix="normprop-test-build-")
# Records older than this were not written by this session (tests/test_notebooks.py).
os.environ.setdefault("NORMPROP_TEST_SESSION_STARTED", str(time.time()))

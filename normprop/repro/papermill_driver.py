"""papermill's command line, started without a grammar that it never uses.

``python -m normprop.repro.papermill_driver ARGS`` is ``python -m papermill ARGS`` except that ``rfc3987_syntax`` is
not imported. ``jsonschema`` (through nbformat) imports that package, when it is installed (JupyterLab's dependencies
install it), to check the ``iri`` string format, and the package builds a parser grammar at import: about 2 s of the
2.6 s that importing papermill takes on the development machine, paid once by every notebook that a run executes.
No notebook schema uses that format, and jsonschema imports the package under ``suppress(ImportError)``, so blocking
it (a ``None`` in ``sys.modules`` makes ``import`` raise ImportError) changes the start time and nothing else.
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)

from papermill.cli import papermill  # noqa: E402 (after the block above, which must come first)

if __name__ == "__main__":
    papermill()

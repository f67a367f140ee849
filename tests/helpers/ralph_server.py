"""Run a Ralph LRS on loopback with its file-system backend: a script for Ralph's own
virtualenv (``.venv-ralph/bin/python -I tests/helpers/ralph_server.py PORT DIR``), started and
stopped by :mod:`tests.helpers.ralph`. Never imported by the test suite (Ralph is not
installed in the project's environment).

It is ``ralph runserver -b fs --fs-default-directory-path DIR -h 127.0.0.1 -p PORT`` with two
differences: no auto-reloader (one process, so stopping it by its id really stops the LRS),
and the file-system LRS appends. Ralph 5.1's file-system LRS writes every ``POST`` with the
"create" operation, so the second ``POST`` to one LRS fails ("already exists and overwrite is
not allowed") and only one batch could ever be stored; appending is what a file LRS means.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    port, directory = int(sys.argv[1]), sys.argv[2]
    os.environ["RALPH_RUNSERVER_BACKEND"] = "fs"
    os.environ["RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH"] = directory

    import uvicorn
    from ralph.backends.data.base import BaseOperationType
    from ralph.backends.lrs.fs import FSLRSBackend

    FSLRSBackend.default_operation_type = BaseOperationType.APPEND
    uvicorn.run("ralph.api:app", host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()

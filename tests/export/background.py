"""The helper process of tests/export/conftest.py's `background_exports`: runs `bert_zoo.export.export`
for each job of a JSON file and pickles each ExportResult (or the traceback of what it raised) beside it.

    python -m tests.export.background JOBS.json   # {key: {"source": dir, "out": dir, "options": {...}}}

Writes KEY.pkl next to JOBS.json per job, in order: ("ok", ExportResult) or ("error", traceback text).
"""

from __future__ import annotations

import json
import logging
import pickle
import sys
import traceback
from pathlib import Path


def main(jobs_file: str) -> int:
    from bert_zoo.export import export

    logging.getLogger("bert_zoo").setLevel(logging.ERROR)
    path = Path(jobs_file)
    for key, job in json.loads(path.read_text()).items():
        try:
            outcome = ("ok", export(job["source"], job["out"], **job["options"]))
        except BaseException:  # reported by the test that reads this job
            outcome = ("error", traceback.format_exc())
        staged = path.parent / f".{key}.pkl"
        staged.write_bytes(pickle.dumps(outcome))
        staged.rename(path.parent / f"{key}.pkl")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

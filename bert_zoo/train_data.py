"""Local training data for `bert-zoo train`: csv / json / jsonl / text files read through the `datasets`
library (offline: its packaged builders need no network), with the columns each task reads.

    rows = load_split("train.csv", "train")                  # a datasets.Dataset
    columns = resolve_columns(args, rows, "train.csv")       # {"text": "sentence", "label": "label"}

Column defaults per task (the first one present; --text-column etc. name others):

| task | columns |
| --- | --- |
| text-classification | text: text / sentence / sentence1; pair: --text-pair-column (none); label: label / labels |
| token-classification | words: tokens / words; tags: ner_tags / tags / labels (IOB strings, or ids) |
| question-answering | question, context, answers (SQuAD: {"text": [...], "answer_start": [...]}) |
| mlm | text (one example per non-empty line or row) |
| pretraining | text (one sentence per row; an empty row ends a document, Google's format) |

Shape legend: B batch (rows).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bert_zoo import CliError

BUILDERS = {".csv": "csv", ".json": "json", ".jsonl": "json", ".txt": "text", ".text": "text"}

# task -> role -> (argument, defaults tried in order)
COLUMNS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "text-classification": {
        "text": ("text_column", ("text", "sentence", "sentence1")),
        "pair": ("text_pair_column", ()),
        "label": ("label_column", ("label", "labels")),
    },
    "token-classification": {
        "text": ("text_column", ("tokens", "words")),
        "label": ("label_column", ("ner_tags", "tags", "labels")),
    },
    "question-answering": {
        "question": ("question_column", ("question",)),
        "context": ("context_column", ("context",)),
        "answers": ("answer_column", ("answers",)),
    },
    "mlm": {"text": ("text_column", ("text",))},
    "pretraining": {"text": ("text_column", ("text",))},
}


def load_split(path: str, split: str) -> Any:
    """The rows of one data file as a `datasets.Dataset` (builder chosen by the extension).

    Raises:
        CliError: the file does not exist, has an extension other than .csv/.json/.jsonl/.txt, or
            holds no rows.
    """
    file = Path(path)
    if not file.is_file():
        raise CliError(f"--{split}-file {path}: no such file")
    builder = BUILDERS.get(file.suffix.lower())
    if builder is None:
        raise CliError(
            f"--{split}-file {path}: unknown format {file.suffix!r}; use one of {', '.join(sorted(BUILDERS))}"
        )
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    try:
        rows = datasets.load_dataset(builder, data_files={"data": str(file)}, split="data")
    except Exception as err:  # the builders raise many kinds; the first line names the problem
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CliError(f"--{split}-file {path}: cannot be read as {builder}: {first}") from None
    if len(rows) == 0:
        raise CliError(f"--{split}-file {path}: holds no rows")
    return rows


def resolve_columns(args: Any, rows: Any, path: str) -> dict[str, str | None]:
    """The column name of each role the task reads (see the module table), checked against the file.

    Raises:
        CliError: a named column, or every default of a required role, is missing from the file.
    """
    found: dict[str, str | None] = {}
    for role, (argument, defaults) in COLUMNS[args.task].items():
        named = getattr(args, argument, None)
        flag = "--" + argument.replace("_", "-")
        if named is not None:
            if named not in rows.column_names:
                raise CliError(f"{flag} {named!r}: {path} has no such column (it has {rows.column_names})")
            found[role] = named
        elif not defaults:
            found[role] = None
        else:
            present = [name for name in defaults if name in rows.column_names]
            if not present:
                raise CliError(
                    f"{path} has no {role} column: looked for {', '.join(defaults)} (it has "
                    f"{rows.column_names}); name one with {flag}"
                )
            found[role] = present[0]
    return found


def label_names(values: list[Any], what: str) -> list[str]:
    """The sorted distinct labels (as strings; integer labels sorted by value), run_glue's label list.

    Raises:
        CliError: a missing (None) label, or fewer than two distinct labels.
    """
    if any(value is None for value in values):
        raise CliError(f"{what}: a row has no label")
    distinct = set(values)
    if all(isinstance(value, int) and not isinstance(value, bool) for value in distinct):
        names = [str(value) for value in sorted(distinct)]
    else:
        names = sorted(str(value) for value in distinct)
    if len(names) < 2:
        raise CliError(f"{what}: found one label ({names}); classification needs at least two")
    return names


def documents(lines: list[Any]) -> list[list[str]]:
    """Documents of sentences from text rows: an empty row ends a document (Google's input format)."""
    docs: list[list[str]] = [[]]
    for line in lines:
        text = (line or "").strip()
        if text:
            docs[-1].append(text)
        elif docs[-1]:
            docs.append([])
    return [doc for doc in docs if doc]

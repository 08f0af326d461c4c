"""Loss conventions every twin follows, written once as data and tiny pure functions.

The twins compute the losses with their own framework; what the losses *mean* is fixed here:

- token-level losses (masked LM, causal LM, token classification) ignore positions labelled -100 and
  average over the rest: the sum over the scored positions divided by max(count, 1). A batch with
  nothing to score (every label -100; for the causal LM every label after the first) therefore has loss
  0, with zero gradients, not NaN (0 / 0). Transformers' PyTorch heads return NaN there; bert-zoo does not,
  in every twin, so that a batch of padding cannot poison a training run;
- the causal LM predicts token t+1 from positions <= t: logits[:, :-1] against labels[:, 1:];
- pretraining loss = masked-LM loss + next-sentence loss;
- sequence classification picks its problem type from the config, or infers it from the labels;
  regression targets may be integers: they are cast to float, as Transformers' PyTorch MSELoss promotes
  them (scores 1-5 are a common regression target);
- question answering clamps start/end positions to [0, T] and ignores T (outside the sequence), then
  averages the start and end losses; each of the two is 0 when every position is ignored (as above).
"""

from __future__ import annotations

IGNORE_INDEX = -100

REGRESSION = "regression"
SINGLE_LABEL = "single_label_classification"
MULTI_LABEL = "multi_label_classification"


def infer_problem_type(configured: str | None, num_labels: int, labels_are_integers: bool) -> str:
    """The sequence-classification problem type, as Transformers decides it.

    configured: `config.problem_type`; wins when set.
    Otherwise: one label -> regression (MSE); integer labels -> single-label (cross-entropy);
    float labels with several labels -> multi-label (sigmoid binary cross-entropy on multi-hot rows).
    """
    if configured is not None:
        return configured
    if num_labels == 1:
        return REGRESSION
    return SINGLE_LABEL if labels_are_integers else MULTI_LABEL


def check_classification_labels(
    problem_type: str, labels_shape: tuple[int, ...], batch: int, num_labels: int
) -> None:
    """Raise ValueError when labels of `labels_shape` cannot serve `problem_type` for `batch` rows."""
    shape = tuple(int(d) for d in labels_shape)
    if problem_type == SINGLE_LABEL:
        ok = shape in ((batch,), (batch, 1))
        want = f"({batch},) integer class ids"
    elif problem_type == MULTI_LABEL:
        ok = shape == (batch, num_labels)
        want = f"({batch}, {num_labels}) multi-hot floats"
    elif problem_type == REGRESSION:
        ok = shape in ((batch,), (batch, num_labels)) if num_labels == 1 else shape == (batch, num_labels)
        want = f"({batch},) or ({batch}, {num_labels}) floats"
    else:
        raise ValueError(f"unknown problem_type {problem_type!r}")
    if not ok:
        raise ValueError(f"labels of shape {shape} do not fit problem_type {problem_type!r}: expected {want}")

"""torch.compile(model) runs and gives the eager numbers."""

from __future__ import annotations

import pytest
import torch

from bert_pt import BertForSequenceClassification
from tests.common.head_spec import batch, tiny
from tests.helpers import ATOL, max_abs_diff
from tests.pt.utils import numpy, tensors


@pytest.mark.slow
# torch's inductor imports torch.utils.mkldnn, which warns about its own use of torch.jit
@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
def test_compiled_model_matches_eager():
    """Default backend (inductor). One layer keeps the cold compile (C++ kernels) to well under a minute."""
    config = tiny(num_labels=3, num_hidden_layers=1)
    model = BertForSequenceClassification(config).eval()
    x = tensors(batch(config))
    labels = torch.tensor([0, 2, 1])
    compiled = torch.compile(model)
    with torch.no_grad():
        eager = model(**x, labels=labels, output_hidden_states=True)
        fast = compiled(**x, labels=labels, output_hidden_states=True)
    assert type(fast) is type(eager)
    assert max_abs_diff(numpy(fast.logits), numpy(eager.logits)) <= ATOL
    assert max_abs_diff(numpy(fast.loss), numpy(eager.loss)) <= ATOL
    for a, b in zip(fast.hidden_states, eager.hidden_states):
        assert max_abs_diff(numpy(a), numpy(b)) <= ATOL

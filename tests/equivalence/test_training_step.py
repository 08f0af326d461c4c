"""Training steps agree across the three twins: same weights, same batch -> same loss, gradients and
updated weights within 1e-5 (dropout off), for SGD and AdamW; and three pretraining steps (MLM + NSP,
BertForPreTraining) on batches from bert_common's collator track each other.

Weights: random canonical weights of the tiny config (bert_zoo.equivalence), written once and loaded by
every twin, as the grid does. Batches: NSP pairs from `create_pretraining_examples` masked by
`DataCollatorForLanguageModeling(seed=...)` over a 99-token vocabulary (the tiny model's V).
Gradients and weights are compared by canonical name (conversion.pt / conversion.tf / conversion.flax).

The optimizers: SGD (SGD_LR) and AdamW with BERT's pretraining hyper-parameters (ADAMW_LR, BETAS, EPS,
WEIGHT_DECAY: Devlin et al. 2018 A.2, eps from google-research/bert optimization.py), weight decay on every
weight in all three (decoupled: p <- p - lr * wd * p, the same rule in torch.optim.AdamW,
keras.optimizers.AdamW and optax.adamw):
- torch.optim.AdamW and optax.adamw divide by sqrt(v_hat) + eps (v_hat = v / (1 - b2^t));
- keras.optimizers.AdamW divides by sqrt(v) + eps and folds the bias corrections into the step size
  (lr * sqrt(1 - b2^t) / (1 - b1^t)), i.e. its eps is torch's eps * sqrt(1 - b2^t). Keras is therefore
  given epsilon = EPS * sqrt(1 - b2^t) before step t (a python float read by each eager step), which
  makes the three updates the same function. With Keras' epsilon left at EPS the effective eps is
  EPS / sqrt(1 - b2) ~ 32 x larger on the first step, enough to move weights with tiny gradients by more
  than 1e-5 (see test_keras_epsilon_convention).

The attention key biases are left out of the AdamW *weight* comparison (their gradients are compared):
adding a constant to all key scores of a query is undone by the softmax, so their true gradient is 0 and
each twin's is float noise (|g| < 1e-7, of either sign). Adam's first step maps g to about
lr * g / (|g| + eps), i.e. it amplifies that noise by up to lr / eps (100 here) into updates of random
sign of up to ~lr; they do not change any output (the same invariance), so they are excluded by name
(KEY_BIAS) after checking that their gradients are noise in every twin. The same amplification is why
the AdamW learning rate here is BERT's 1e-4: at 1e-2 every weight whose gradient is near eps diverges.

Measured worst differences on CPU (asserted bound: ATOL = 1e-5), see test_twins_train_alike.

Shapes: B batch (4), T positions (24), V vocabulary (99).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bert_common import BertConfig
from bert_common.collators import DataCollatorForLanguageModeling
from bert_common.pretraining_data import create_pretraining_examples
from bert_common.tokenization import BertTokenizer
from bert_zoo.equivalence import TINY, random_canonical_weights
from bert_zoo.twins import load_twin
from conversion.checkpoint import save_pretrained
from tests.helpers import ATOL

HEAD = "BertForPreTraining"
SGD_LR, ADAMW_LR, BETAS, EPS, WEIGHT_DECAY = 0.1, 1e-4, (0.9, 0.999), 1e-6, 0.01
KEY_BIAS = "attention.self.key.bias"
TWINS = ("pt", "tf", "flax")
WORDS = [f"w{i}" for i in range(94)]  # with [PAD] [UNK] [CLS] [SEP] [MASK]: 99 tokens


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    tok = BertTokenizer(path)
    assert len(tok) == TINY["vocab_size"]
    return tok


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory):
    config = BertConfig(**{**TINY, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0})
    directory = tmp_path_factory.mktemp("pretraining")
    save_pretrained(directory, config, random_canonical_weights(config, HEAD, seed=3), architecture=HEAD)
    return directory


@pytest.fixture(scope="module")
def batches(tokenizer):
    """Three collated pretraining batches, each [B=4, T=24] (pad_to_multiple_of keeps T fixed)."""
    rng = np.random.default_rng(0)
    documents = [
        [" ".join(rng.choice(WORDS, size=rng.integers(3, 9))) for _ in range(rng.integers(2, 7))]
        for _ in range(8)
    ]
    examples = create_pretraining_examples(documents, tokenizer, max_seq_length=24, seed=1)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.3, pad_to_multiple_of=24, seed=2)
    out = [collator(examples[4 * i : 4 * i + 4]) for i in range(3)]
    assert all(b["input_ids"].shape == (4, 24) for b in out)
    assert all(set(b["next_sentence_label"].tolist()) <= {0, 1} and (b["labels"] != -100).any() for b in out)
    return out


# ---- one training loop per twin: losses, canonical gradients per step, canonical weights after ------------
def train_pt(directory, batches, optimizer):
    import torch

    from conversion.names import from_format
    from conversion.pt import aliases, to_canonical

    model, _, _ = load_twin("pt").load_model(HEAD, str(directory))
    model.train()
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=SGD_LR)
    else:
        opt = torch.optim.AdamW(
            model.parameters(), lr=ADAMW_LR, betas=BETAS, eps=EPS, weight_decay=WEIGHT_DECAY
        )
    owner = aliases(model)
    losses, grads = [], []
    for batch in batches:
        opt.zero_grad()
        loss = model(**{k: torch.from_numpy(v) for k, v in batch.items()}).loss
        loss.backward()
        step = {}
        for name, p in model.named_parameters():
            canonical = from_format("pt", name).name
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            step[owner.get(canonical, canonical)] = g.detach().numpy().copy()
        losses.append(float(loss.detach()))
        grads.append(step)
        opt.step()
    return losses, grads, to_canonical(model)


def train_tf(directory, batches, optimizer, keras_eps="corrected"):
    import keras
    import tensorflow as tf

    from conversion.tf import keras_weights, to_canonical

    model, _, _ = load_twin("tf").load_model(HEAD, str(directory))
    weights = keras_weights(model)
    variables = [w.variable for w in weights.values()]
    if optimizer == "sgd":
        opt = keras.optimizers.SGD(learning_rate=SGD_LR)
    else:
        opt = keras.optimizers.AdamW(
            learning_rate=ADAMW_LR, beta_1=BETAS[0], beta_2=BETAS[1], epsilon=EPS, weight_decay=WEIGHT_DECAY
        )
    losses, grads = [], []
    for t, batch in enumerate(batches, start=1):
        inputs = {k: tf.constant(v.astype(np.int32)) for k, v in batch.items()}
        with tf.GradientTape() as tape:
            loss = model(**inputs, training=True).loss
        g = tape.gradient(loss, variables)
        g = [tf.zeros_like(v) if x is None else tf.convert_to_tensor(x) for x, v in zip(g, variables)]
        grads.append({name: w.placement.to_canonical(x.numpy()) for (name, w), x in zip(weights.items(), g)})
        losses.append(float(loss))
        if optimizer == "adamw" and keras_eps == "corrected":
            opt.epsilon = EPS * math.sqrt(1 - BETAS[1] ** t)  # Keras' eps is on sqrt(v), not sqrt(v_hat)
        opt.apply_gradients(zip(g, variables))
    return losses, grads, to_canonical(model)


def train_flax(directory, batches, optimizer):
    import jax
    import optax

    from conversion.flax import params_to_canonical

    model, _, _ = load_twin("flax").load_model(HEAD, str(directory))
    params = model.params
    if optimizer == "sgd":
        tx = optax.sgd(SGD_LR)
    else:
        tx = optax.adamw(ADAMW_LR, b1=BETAS[0], b2=BETAS[1], eps=EPS, weight_decay=WEIGHT_DECAY)
    state = tx.init(params)

    def loss_fn(p, batch):
        return model(**batch, params=p, train=False).loss

    value_and_grad = jax.jit(jax.value_and_grad(loss_fn))
    losses, grads = [], []
    for batch in batches:
        loss, g = value_and_grad(params, {k: v.astype(np.int32) for k, v in batch.items()})
        losses.append(float(loss))
        grads.append(params_to_canonical(g))
        updates, state = tx.update(g, state, params)
        params = optax.apply_updates(params, updates)
    return losses, grads, params_to_canonical(params)


TRAIN = {"pt": train_pt, "tf": train_tf, "flax": train_flax}
_RUNS: dict = {}


def run(twin, directory, batches, optimizer, steps):
    key = (twin, optimizer, steps)
    if key not in _RUNS:
        _RUNS[key] = TRAIN[twin](directory, batches[:steps], optimizer)
    return _RUNS[key]


def worst(a: dict, b: dict, skip: str | None = None) -> tuple[float, str]:
    """(largest absolute difference, its canonical name) over the names of a and b (except `skip`)."""
    assert sorted(a) == sorted(b), "both twins hold the same canonical weights"
    diffs = {
        k: float(np.max(np.abs(np.asarray(a[k], np.float64) - np.asarray(b[k], np.float64))))
        for k in a
        if skip is None or not k.endswith(skip)
    }
    name = max(diffs, key=diffs.get)
    return diffs[name], name


@pytest.mark.parametrize("steps", [1, 3], ids=["one-step", "three-steps"])
@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_twins_train_alike(weights_dir, batches, optimizer, steps):
    """Every pair of twins, every step: loss, every canonical gradient and the weights after the steps.

    Measured worst over the pairs on CPU (fp32), 1 / 3 steps: SGD loss 0 / 9.5e-7, gradients 6.0e-7 /
    1.5e-6, weights 1.2e-7 / 1.5e-7; AdamW loss 0 / 1.9e-6, gradients 6.0e-7 / 9.2e-7, weights 6.4e-7 /
    6.3e-7 (key biases excluded, see the module docstring). The largest gradients differences sit in
    weights whose gradient sums over all B x T positions (token-type embeddings, pooler, NSP head).
    """
    runs = {twin: run(twin, weights_dir, batches, optimizer, steps) for twin in TWINS}
    report = []
    for a, b in (("pt", "tf"), ("pt", "flax"), ("tf", "flax")):
        (loss_a, grads_a, w_a), (loss_b, grads_b, w_b) = runs[a], runs[b]
        loss_diff = max(abs(x - y) for x, y in zip(loss_a, loss_b))
        grad_diff, grad_name = max(worst(ga, gb) for ga, gb in zip(grads_a, grads_b))
        weight_diff, _ = worst(w_a, w_b, KEY_BIAS if optimizer == "adamw" else None)
        report.append(f"{a}-{b}: loss {loss_diff:.1e} grad {grad_diff:.1e} ({grad_name}) w {weight_diff:.1e}")
        assert loss_diff < ATOL and grad_diff < ATOL and weight_diff < ATOL, report[-1]
    print(f"{optimizer} x{steps}: " + "; ".join(report))
    key_bias = [g[k] for run in runs.values() for g in run[1] for k in g if k.endswith(KEY_BIAS)]
    assert len(key_bias) == 3 * steps * TINY["num_hidden_layers"]
    assert max(np.abs(g).max() for g in key_bias) < 1e-6  # noise around the true gradient 0
    losses = runs["pt"][0]
    assert all(math.isfinite(x) and x > 1.0 for x in losses)  # MLM + NSP cross-entropies, V = 99
    # the step moved every weight that has a gradient: the comparison is not between untouched copies
    start = random_canonical_weights(BertConfig(**TINY), HEAD, seed=3)
    moved = [k for k, g in runs["pt"][1][0].items() if np.abs(g).max() > 1e-6]
    unmoved = [k for k in moved if np.array_equal(runs["pt"][2][k], start[k])]
    assert len(moved) > 30 and not unmoved, unmoved


def test_losses_follow_the_optimizer(weights_dir, batches):
    """Three AdamW steps on the same batch lower the loss in every twin (sanity of the loop itself)."""
    same = [batches[0]] * 3
    for twin in TWINS:
        losses = TRAIN[twin](weights_dir, same, "adamw")[0]
        assert losses[0] > losses[1] > losses[2], (twin, losses)


def test_keras_epsilon_convention(weights_dir, batches):
    """Keras' epsilon at EPS (not corrected) is a different optimizer: after one step its weights differ
    from torch's by more than the contract; corrected, they agree (test_twins_train_alike)."""
    _, _, keras_plain = train_tf(weights_dir, batches[:1], "adamw", keras_eps="plain")
    _, _, torch_weights = run("pt", weights_dir, batches, "adamw", 1)
    assert worst(keras_plain, torch_weights, KEY_BIAS)[0] > ATOL

"""The canonical tensors a BERT model of a given config and head owns, with their shapes.

This is what every twin builds, stated once without a framework, so the converter can check a checkpoint
against its config before (or without) loading it anywhere. The twins' own parameter lists are tested to
equal it. A pruned config (`pruned_heads`) narrows each layer's self-attention to its own N_l heads.

Shape legend (canonical layout, dense weights [out, in]): V vocabulary size, H hidden size, I
intermediate size, N heads (N_l in layer l after pruning), D head size, Y labels.
"""

from __future__ import annotations

from collections.abc import Collection

from bert_common.config import BertConfig
from bert_common.heads import get_head
from bert_common.model_api import layer_head_counts
from conversion.canonical import word_embeddings_name
from conversion.names import TIED_DECODER_WEIGHT


def _dense(prefix: str, n_out: int, n_in: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.weight": (n_out, n_in), f"{prefix}.bias": (n_out,)}


def _layer_norm(prefix: str, width: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.weight": (width,), f"{prefix}.bias": (width,)}


def _attention(
    prefix: str, config: BertConfig, heads: int, *, relative: bool = True
) -> dict[str, tuple[int, ...]]:
    H, D = config.hidden_size, config.attention_head_size
    inner = heads * D  # pruned heads shrink the projections
    shapes = {}
    for name in ("query", "key", "value"):
        shapes.update(_dense(f"{prefix}.self.{name}", inner, H))
    if relative and config.position_embedding_type in ("relative_key", "relative_key_query"):
        shapes[f"{prefix}.self.distance_embedding.weight"] = (2 * config.max_position_embeddings - 1, D)
    shapes.update(_dense(f"{prefix}.output.dense", H, inner))
    shapes.update(_layer_norm(f"{prefix}.output.LayerNorm", H))
    return shapes


def base_model_shapes(config: BertConfig, *, pooler: bool = True) -> dict[str, tuple[int, ...]]:
    """Canonical name -> shape for `BertModel` (no `bert.` prefix); layer l's query / key / value are
    [N_l * D, H] and its attention output dense [H, N_l * D].

    Raises:
        ValueError: config.pruned_heads removes every head of a layer.
    """
    H, inner = config.hidden_size, config.intermediate_size
    shapes: dict[str, tuple[int, ...]] = {
        "embeddings.word_embeddings.weight": (config.vocab_size, H),
        "embeddings.position_embeddings.weight": (config.max_position_embeddings, H),
        "embeddings.token_type_embeddings.weight": (config.type_vocab_size, H),
        **_layer_norm("embeddings.LayerNorm", H),
    }
    # N_l per layer: config.pruned_heads removed (the rule every twin builds with; cross-attention keeps N)
    heads = layer_head_counts(config.num_hidden_layers, config.num_attention_heads, config.pruned_heads)
    for i in range(config.num_hidden_layers):
        layer = f"encoder.layer.{i}"
        shapes.update(_attention(f"{layer}.attention", config, heads[i]))
        if config.add_cross_attention:
            # cross-attention is absolute in every twin, as in Transformers: no distance embedding
            shapes.update(
                _attention(f"{layer}.crossattention", config, config.num_attention_heads, relative=False)
            )
        shapes.update(_dense(f"{layer}.intermediate.dense", inner, H))
        shapes.update(_dense(f"{layer}.output.dense", H, inner))
        shapes.update(_layer_norm(f"{layer}.output.LayerNorm", H))
    if pooler:
        shapes.update(_dense("pooler.dense", H, H))
    return shapes


def model_shapes(config: BertConfig, head: str) -> dict[str, tuple[int, ...]]:
    """Canonical name -> shape of every weight the head model `head` owns (tied decoder excluded)."""
    spec = get_head(head)
    base = base_model_shapes(config, pooler=spec.pooler)
    if spec.name == "BertModel":
        return base
    H, V = config.hidden_size, config.vocab_size
    shapes = {f"bert.{name}": shape for name, shape in base.items()}
    if "cls.predictions." in spec.head_prefixes:
        shapes.update(_dense("cls.predictions.transform.dense", H, H))
        shapes.update(_layer_norm("cls.predictions.transform.LayerNorm", H))
        shapes["cls.predictions.bias"] = (V,)
        if not config.tie_word_embeddings:
            shapes["cls.predictions.decoder.weight"] = (V, H)
    if "cls.seq_relationship." in spec.head_prefixes:
        shapes.update(_dense("cls.seq_relationship", 2, H))
    if spec.name in ("BertForSequenceClassification", "BertForTokenClassification"):
        shapes.update(_dense("classifier", config.num_labels, H))
    if spec.name == "BertForMultipleChoice":
        shapes.update(_dense("classifier", 1, H))
    if spec.name == "BertForQuestionAnswering":
        shapes.update(_dense("qa_outputs", 2, H))
    return shapes


def tied_weights(head: str, config: BertConfig, expected: Collection[str]) -> dict[str, str]:
    """The tied-decoder rule, for every twin: canonical name -> the weight it is tied to.

    A head that scores the vocabulary with `cls.predictions.decoder` (pretraining, masked and causal LM)
    shares that matrix with the word embeddings when `config.tie_word_embeddings` (Transformers'
    default), so a checkpoint's copy of it is dropped on loading and it is never written.
    expected: the model's canonical names (to spell the word-embedding name with or without `bert.`).
    """
    if get_head(head).tied_decoder and config.tie_word_embeddings:
        return {TIED_DECODER_WEIGHT: word_embeddings_name(expected)}
    return {}

"""conversion: BERT weights between PyTorch, Keras, Flax and every on-disk format, through one name table.

Below the twins, above bert_common: nothing here imports a twin, the application (bert_zoo), or a
deep-learning framework at import time; each mapping imports its framework when it runs. The hub is the
canonical weights, `dict[Transformers PyTorch name, numpy.ndarray]` with dense matrices `[out, in]`:

    names.py      the one name table: to_format / from_format -> Placement(name, transpose)
    canonical.py  fit a state to a model: legacy names, the "bert." prefix, shapes -> LoadReport
    shapes.py     the shape of every tensor of every head for a config
    checkpoint.py a directory: detect_format, read_weights / write_weights, load_ / save_pretrained
    formats/      one module per on-disk format (safetensors, pytorch_bin, tf_h5, flax_msgpack, google_tf1)
    pt.py tf.py flax.py   the framework adapters (a model's parameters <-> canonical)

One weight from tf_model.h5 into Flax, `FlaxBertForMaskedLM.from_pretrained(dir)` (H hidden size):

  tf_model.h5   /bert/tf_bert_for_masked_lm/bert/encoder/layer_._0/attention/self/query/kernel:0
      |                                        [H, H] stored [in, out]
      | loading.load_into(Flax adapter, cls, dir) -> checkpoint.load_pretrained -> read_weights
      | detect_format(dir) == "tf-h5" -> formats.tf_h5.read_tf_h5
      | drop the model scope and ":0"          bert/encoder/layer_._0/attention/self/query/kernel
      | names.from_format("tf_h5", name)      Placement("bert.encoder.layer.0.attention.self.query.weight",
      |                                                 transpose=True)
      v placement.to_canonical(array)          [in, out] -> [out, in]
  canonical     {"bert.encoder.layer.0.attention.self.query.weight": [out, in]}     (= model.safetensors)
      | canonical.fit_to_model(state, shapes)  legacy names, "bert." prefix, shape vs the model -> LoadReport
      | the Flax adapter (flax.py)             names.to_format("flax", ...) -> ".../query/kernel", transpose
      v                                        [out, in] -> [in, out], cast to param_dtype
  Flax params   bert/encoder/layer/0/attention/self/query/kernel  [in, out]
      |                                        (scan_layers=True: stacked under encoder/layer/scanned)
      v FlaxBertSelfAttention.setup: self.query = dense(...), the attribute name is the parameter path

`python -m conversion.names CANONICAL_NAME` prints a tensor's four spellings and layouts. The package
attributes below are imported on first use, so `python -m conversion.names` and `import conversion` stay
light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conversion.canonical import LoadReport, ShapeMismatchError, fit_to_model, normalize_legacy_names
    from conversion.formats import CheckpointError, read_safetensors, write_safetensors
    from conversion.names import FORMATS, Placement, UnmappedNameError, from_format, to_format

# Package attributes by the module that defines them (imported on first use).
_FROM_NAMES = ("FORMATS", "Placement", "UnmappedNameError", "from_format", "to_format")
_FROM_CANONICAL = ("LoadReport", "ShapeMismatchError", "fit_to_model", "normalize_legacy_names")
_FROM_FORMATS = ("CheckpointError", "read_safetensors", "write_safetensors")

__all__ = [
    "FORMATS",
    "CheckpointError",
    "LoadReport",
    "Placement",
    "ShapeMismatchError",
    "UnmappedNameError",
    "fit_to_model",
    "from_format",
    "normalize_legacy_names",
    "read_safetensors",
    "to_format",
    "write_safetensors",
]


def __getattr__(name: str) -> Any:
    if name in _FROM_NAMES:
        from conversion import names as module
    elif name in _FROM_CANONICAL:
        from conversion import canonical as module
    elif name in _FROM_FORMATS:
        from conversion import formats as module
    else:
        raise AttributeError(f"module 'conversion' has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value
    return value

"""Rules written once for the three twins: output flags, generate arguments, the head table, the
registry and the tied-decoder rule."""

from __future__ import annotations

import pytest

from bert_common.generation import DEFAULT_MAX_NEW_TOKENS, resolve_generation_args
from bert_common.heads import HEADS, LOSS_FUNCTIONS, build_registry
from bert_common.outputs import MaskedLMOutput, finish_output, resolve_output_flags
from conversion.shapes import tied_weights
from tests.common.head_spec import tiny


def test_output_flags_default_to_the_config_and_only_decoders_cache():
    encoder = tiny(output_hidden_states=True)
    flags = resolve_output_flags(encoder, use_cache=True)
    assert (flags.output_attentions, flags.output_hidden_states, flags.use_cache, flags.return_dict) == (
        False,
        True,
        False,
        True,
    )
    decoder = tiny(is_decoder=True, return_dict=False)
    flags = resolve_output_flags(decoder, output_hidden_states=False)
    assert flags.use_cache is True and flags.return_dict is False and flags.output_hidden_states is False


def test_finish_output_gives_the_dataclass_or_the_tuple_without_none():
    output = MaskedLMOutput(loss=None, logits=1.0)
    assert finish_output(output, None, tiny()) is output
    assert finish_output(output, False, tiny()) == (1.0,)


def test_generation_arguments_resolve_as_transformers_does():
    config = tiny(is_decoder=True, eos_token_id=5)
    args = resolve_generation_args(config, 4)
    assert args.max_new_tokens == DEFAULT_MAX_NEW_TOKENS and args.top_k == 0 and args.top_p == 1.0
    assert args.eos_token_id == 5 and args.pad_token_id == 0
    assert resolve_generation_args(config, 4, max_length=10).max_new_tokens == 6
    assert resolve_generation_args(config, 4, max_length=10, max_new_tokens=3).max_new_tokens == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_new_tokens": 0}, "max_new_tokens must be >= 1"),
        ({"max_length": 4}, "leaves no room after the prompt of 4 tokens"),
        ({"max_new_tokens": 61}, "longer than max_position_embeddings=64"),
        ({"do_sample": True, "temperature": 0.0}, "temperature must be > 0"),
        ({"top_k": -1}, "top_k must be >= 0"),
        ({"top_p": 1.5}, r"top_p must be in \(0, 1\]"),
        ({"eos_token_id": 99}, r"eos_token_id=99 is outside the vocabulary \[0, 99\)"),
        ({"pad_token_id": -1}, r"pad_token_id=-1 is outside the vocabulary"),
    ],
)
def test_generation_arguments_out_of_range_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        resolve_generation_args(tiny(is_decoder=True), 4, **kwargs)
    with pytest.raises(ValueError, match="needs a decoder"):
        resolve_generation_args(tiny(), 4)


def test_the_head_table_names_eight_losses_and_every_head_but_the_base_has_labels():
    assert len(LOSS_FUNCTIONS) == 8
    for head in HEADS.values():
        assert (head.loss is None) == (head.name == "BertModel") == (not head.labels)
    assert HEADS["BertForMultipleChoice"].input_rank == 3
    assert HEADS["BertForQuestionAnswering"].labels == ("start_positions", "end_positions")


def test_build_registry_needs_one_class_per_head():
    classes = [type(f"X{name}", (), {"head_name": name}) for name in HEADS]
    registry = build_registry(classes)
    assert set(registry) == set(HEADS) and registry["BertModel"].__name__ == "XBertModel"
    with pytest.raises(ValueError, match="no class for the head"):
        build_registry(classes[1:])
    with pytest.raises(ValueError, match="two classes for BertModel"):
        build_registry([*classes, type("Y", (), {"head_name": "BertModel"})])


def test_the_tied_decoder_rule():
    expected = ["bert.embeddings.word_embeddings.weight", "cls.predictions.bias"]
    tied = {"cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight"}
    for head in ("BertForMaskedLM", "BertForPreTraining", "BertLMHeadModel"):
        assert tied_weights(head, tiny(), expected) == tied
        assert tied_weights(head, tiny(tie_word_embeddings=False), expected) == {}
    assert tied_weights("BertForSequenceClassification", tiny(), expected) == {}

"""bert_common.packing: the kept tokens, their order, the jit buckets and the rule for when packing pays.
Expected values are worked out by hand from the masks below."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from bert_common import packing

# Row 0 right-padded, row 1 left-padded (position 0 is padding but kept for the pooler), row 2 with a hole.
MASK = np.array([[1, 1, 1, 0], [0, 0, 1, 1], [1, 0, 1, 1]], np.int32)


def test_kept_positions_are_the_attended_ones_and_position_zero():
    expected = np.array([[1, 1, 1, 0], [1, 0, 1, 1], [1, 0, 1, 1]], bool)
    np.testing.assert_array_equal(packing.kept_positions(MASK), expected)


def test_pack_order_lists_kept_tokens_in_reading_order_then_the_rest():
    order, count = packing.pack_order(MASK)
    # kept flat positions b * 4 + t: 0 1 2 | 4 6 7 | 8 10 11; then 3 5 9
    np.testing.assert_array_equal(order, [0, 1, 2, 4, 6, 7, 8, 10, 11, 3, 5, 9])
    assert int(count) == 9
    np.testing.assert_array_equal(packing.pack_index(MASK), [0, 1, 2, 4, 6, 7, 8, 10, 11])


def test_pack_order_traces_with_jax_numpy_and_agrees():
    order, count = packing.pack_order(jnp.asarray(MASK), xp=jnp)
    np.testing.assert_array_equal(np.asarray(order), [0, 1, 2, 4, 6, 7, 8, 10, 11, 3, 5, 9])
    assert int(count) == 9


def test_bucket_sizes_are_eighths_rounded_up_to_multiples_of_eight():
    assert packing.bucket_sizes(4096) == (512, 1024, 1536, 2048, 2560, 3072, 3584, 4096)
    assert packing.bucket_sizes(12) == (8, 12)  # ceil(12 k / 8) rounded up to 8, capped at 12
    assert packing.bucket_for(9, 12) == 12 and packing.bucket_for(8, 12) == 8
    # 16 x 256 with 2193 kept tokens (the ragged batch, bench_stats.make_batch): 5/8 of 4096
    assert packing.bucket_for(2193, 4096) == 2560
    assert int(packing.bucket_index(jnp.int32(2193), 4096, xp=jnp)) == 4
    assert int(packing.bucket_index(np.int32(512), 4096)) == 0


def test_worth_packing_follows_the_padding_fraction():
    assert packing.padding_fraction(MASK) == pytest.approx(4 / 12)
    assert packing.worth_packing(MASK)
    assert not packing.worth_packing(np.ones((2, 8), np.int32))
    assert not packing.worth_packing(MASK, threshold=0.5)
    assert not packing.worth_packing(None)
    assert not packing.worth_packing(np.ones((2, 3, 3), np.int32))


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="padding_free needs a 2-D attention_mask"):
        packing.kept_positions(np.ones((2, 3, 3), np.int32))
    with pytest.raises(ValueError, match="non-empty"):
        packing.pack_order(np.ones((0, 3), np.int32))
    with pytest.raises(ValueError, match="total must be at least 1"):
        packing.bucket_sizes(0)
    with pytest.raises(ValueError, match="count must be in"):
        packing.bucket_for(13, 12)
    with pytest.raises(ValueError, match="threshold must be in"):
        packing.worth_packing(MASK, threshold=1.0)


def test_bucket_size_is_exact_integer_ceiling_for_ints_and_traced_scalars():
    # 27 positions: step k gives ceil(27 k / 8) rounded up to 8, capped at 27 -> 8 8 16 16 24 24 24 27
    assert [packing.bucket_size(27, k) for k in range(1, 9)] == [8, 8, 16, 16, 24, 24, 24, 27]
    assert packing.bucket_sizes(27) == (8, 16, 24, 27)
    traced = [int(packing.bucket_size(jnp.int32(27), k, jnp.minimum)) for k in range(1, 9)]
    assert traced == [8, 8, 16, 16, 24, 24, 24, 27]


def test_check_padding_free_accepts_bools_and_none_where_allowed():
    assert packing.check_padding_free(True) is True
    assert packing.check_padding_free(None, allow_none=True) is None
    with pytest.raises(TypeError, match="padding_free must be a bool, got None"):
        packing.check_padding_free(None)
    with pytest.raises(TypeError, match=r"padding_free must be a bool or None, got np.True_|got True"):
        packing.check_padding_free(np.bool_(True), allow_none=True)

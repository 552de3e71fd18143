import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sciml.rt.numbers import (
    DECIMAL_POINT,
    MINUS,
    PLUS,
    NumberTokenizer,
    PropertySpec,
    UnknownPropertyError,
    decode_number,
    digit_token,
    parse_digit_token,
)


def test_paper_example():
    spec = PropertySpec("qed", 0.0, 1.0, precision=4)
    assert spec.encode(0.3936) == ["_0_0_", "_._", "_3_-1_", "_9_-2_", "_3_-3_", "_6_-4_"]
    assert spec.decode(spec.encode(0.3936)).value == 0.3936


def test_signed_fixed_width():
    spec = PropertySpec("logs", -12.0, 3.0, precision=2)
    assert spec.width == 1 + 2 + 1 + 2
    assert spec.encode(-3.456) == [MINUS, "_0_1_", "_3_0_", DECIMAL_POINT, "_4_-1_", "_6_-2_"]
    assert spec.encode(1.0)[0] == PLUS
    assert spec.encode(-0.001) == spec.encode(0.0)  # rounds to +0.00, never "-0.00"
    assert spec.decode(spec.encode(-11.99)).value == -11.99


def test_precision_zero_and_rounding_up_widens_integer_part():
    assert PropertySpec("n", 0, 50, precision=0).encode(7) == ["_0_1_", "_7_0_"]
    assert PropertySpec("x", 0, 9.99996, precision=4).int_places == 2


@settings(max_examples=300, deadline=None)
@given(st.floats(-999.0, 999.0, allow_nan=False), st.integers(0, 6))
def test_round_trip_is_exact(value, precision):
    spec = PropertySpec("p", -999.0, 999.0, precision)
    tokens = spec.encode(value)
    assert len(tokens) == spec.width
    decoded = spec.decode(tokens)
    assert decoded.ok
    assert decoded.value == float(f"{value:.{precision}f}") + 0.0 == spec.round(value)
    assert spec.encode(decoded.value) == tokens  # idempotent on the rounded value


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=2, max_size=2))
def test_several_properties_round_trip(values):
    numbers = NumberTokenizer([PropertySpec("a", 0, 1, 3), PropertySpec("b", 0, 1, 2)])
    block = numbers.encode({"a": values[0], "b": values[1]})
    assert len(block) == numbers.block_length
    decoded = numbers.decode(block)
    assert decoded["a"].value == round(values[0], 3) or decoded["a"].value == float(
        f"{values[0]:.3f}"
    )
    assert decoded["b"].value == float(f"{values[1]:.2f}")


@pytest.mark.parametrize(
    "tokens, reason",
    [
        (["_1_0_", DECIMAL_POINT, DECIMAL_POINT, "_5_-1_"], "more than one decimal point"),
        (["_1_0_", "_5_-1_"], "fractional digits without a decimal point"),
        (["_1_0_", DECIMAL_POINT, "_5_-2_"], "has place -2; expected -1"),
        (["_1_1_", DECIMAL_POINT], "does not follow the units digit"),
        (["_1_0_", PLUS], "is not first"),
        (["C", "_1_0_"], "is not a number token"),
        ([], "no number tokens"),
        ([MINUS], "no digit tokens"),
        (["_1_0_", DECIMAL_POINT], "without fractional digits"),
        (["_5_-1_"], "fractional place"),
        ([None, 3], "not a number token"),
    ],
)
def test_malformed_runs_are_nan_with_reason(tokens, reason):
    decoded = decode_number(tokens)
    assert math.isnan(decoded.value) and not decoded.ok
    assert reason in decoded.reason


def test_spec_decode_checks_width_and_sign():
    spec = PropertySpec("s", -1, 1, 2)
    assert "needs 5 number tokens" in spec.decode(["_1_0_"]).reason
    assert (
        "sign token first"
        in spec.decode(["_1_0_", DECIMAL_POINT, "_0_-1_", "_0_-2_", "_0_-3_"]).reason
    )
    assert math.isnan(decode_number(12).value)


def test_out_of_range_refused_or_clipped():
    spec = PropertySpec("qed", 0, 1, 2)
    with pytest.raises(ValueError, match=r"outside the trained range \[0, 1\]"):
        spec.encode(1.5)
    with pytest.warns(UserWarning, match="clipped to 1"):
        assert spec.decode(spec.encode(1.5, out_of_range="clip")).value == 1.0
    with pytest.raises(ValueError, match="not finite"):
        spec.encode(float("nan"))


def test_unknown_property_lists_known_ones():
    numbers = NumberTokenizer([PropertySpec("qed", 0, 1), PropertySpec("logp", -5, 10)])
    with pytest.raises(
        UnknownPropertyError, match="unknown property 'sol'; this model knows: qed, logp"
    ):
        numbers.encode({"sol": 1.0})


def test_missing_value_is_masked_run_and_block_layout():
    numbers = NumberTokenizer([PropertySpec("a", -1, 1, 1), PropertySpec("b", 0, 1, 1)])
    block = numbers.encode({"b": 0.5})
    assert block[:5] == ["<a>", "[MASK]", "[MASK]", DECIMAL_POINT, "[MASK]"]
    assert block[-1] == "|" and numbers.offsets() == {"a": 1, "b": 6}
    assert NumberTokenizer.from_dict(numbers.to_dict()) == numbers


def test_digit_token_helpers_and_bad_specs():
    assert parse_digit_token(digit_token(7, -3)) == (7, -3)
    assert parse_digit_token("_x_1_") is None
    with pytest.raises(ValueError):
        digit_token(10, 0)
    with pytest.raises(ValueError, match="vmin < vmax"):
        PropertySpec("a", 1, 1)
    with pytest.raises(ValueError, match="property name"):
        PropertySpec("<a>", 0, 1)

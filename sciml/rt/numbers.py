"""Numbers as digit-place tokens: the Regression Transformer's property notation.

A property value is written as a fixed-width run of tokens, one per digit, each carrying
its decimal place: with 4 decimals, ``0.3936`` becomes
``_0_0_ _._ _3_-1_ _9_-2_ _3_-3_ _6_-4_``. A property whose range includes negative
values starts with a sign token, ``_+_`` or ``_-_``. The width of every property is fixed
by its :class:`PropertySpec` (range and precision), so in every sequence the *k*-th
number token of a property always means the same place; that is what lets the collator
mask "all digit tokens" by position and the decoder restrict each position to the ten
digits of its place.

Decoding never raises on a malformed token run (two decimal points, a digit out of place,
an unknown token): it returns NaN together with the reason.

Examples
--------
>>> spec = PropertySpec("qed", 0.0, 1.0, precision=4)
>>> spec.encode(0.3936)
['_0_0_', '_._', '_3_-1_', '_9_-2_', '_3_-3_', '_6_-4_']
>>> spec.decode(spec.encode(0.3936)).value
0.3936
>>> decode_number(["_1_0_", "_._", "_._", "_5_-1_"]).reason
'more than one decimal point'
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DECIMAL_POINT",
    "MINUS",
    "PLUS",
    "SEPARATOR",
    "DecodedNumber",
    "NumberTokenizer",
    "PropertySpec",
    "UnknownPropertyError",
    "decode_number",
    "digit_token",
    "parse_digit_token",
]

DECIMAL_POINT = "_._"
PLUS = "_+_"
MINUS = "_-_"
#: Separates the property block from the molecule.
SEPARATOR = "|"

_DIGIT = re.compile(r"^_(\d)_(-?\d+)_$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class UnknownPropertyError(KeyError):
    """A property name that the model was not trained on (the message lists the known ones)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def digit_token(digit: int, place: int) -> str:
    """Return the token of ``digit`` at decimal ``place`` (``10**place``), e.g. ``_3_-1_``."""
    if not 0 <= int(digit) <= 9:
        raise ValueError(f"digit must be 0..9, got {digit}")
    return f"_{int(digit)}_{int(place)}_"


def parse_digit_token(token: str) -> tuple[int, int] | None:
    """Return ``(digit, place)`` of a digit token, or None for any other string."""
    match = _DIGIT.match(token) if isinstance(token, str) else None
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True)
class DecodedNumber:
    """Result of decoding a token run: a value, or NaN and why.

    Attributes
    ----------
    value : float
        The number, NaN when the tokens are not a number.
    reason : str
        Empty when ``value`` is a number; otherwise what was wrong.
    """

    value: float
    reason: str = ""

    @property
    def ok(self) -> bool:
        """True when the tokens formed a number."""
        return not self.reason


def _fail(reason: str) -> DecodedNumber:
    return DecodedNumber(math.nan, reason)


def decode_number(tokens: Sequence[str]) -> DecodedNumber:
    """Decode any run of number tokens, checking it is a well-formed number.

    Well-formed means: an optional sign first, then digits whose places decrease by one
    from left to right, with one decimal point between places 0 and -1 if there are
    fractional digits. Never raises.

    Parameters
    ----------
    tokens : sequence of str
        Number tokens (no property tag).

    Returns
    -------
    DecodedNumber
    """
    try:
        tokens = list(tokens)
    except TypeError:
        return _fail(f"not a token sequence: {type(tokens).__name__}")
    if not tokens:
        return _fail("no number tokens")
    sign = ""
    if tokens[0] in (PLUS, MINUS):
        sign = "-" if tokens[0] == MINUS else ""
        tokens = tokens[1:]
    text: list[str] = []
    expected_place: int | None = None
    n_points = 0
    for i, token in enumerate(tokens):
        if token == DECIMAL_POINT:
            n_points += 1
            if n_points > 1:
                return _fail("more than one decimal point")
            if expected_place != -1:
                return _fail(f"decimal point at position {i} does not follow the units digit")
            text.append(".")
            continue
        if token in (PLUS, MINUS):
            return _fail(f"sign token {token} at position {i} is not first")
        parsed = parse_digit_token(token)
        if parsed is None:
            return _fail(f"{token!r} at position {i} is not a number token")
        digit, place = parsed
        if expected_place is None:
            if place < 0:
                return _fail(f"first digit has fractional place {place}; expected place >= 0")
        elif place != expected_place:
            return _fail(
                f"digit {token} at position {i} has place {place}; expected {expected_place}"
            )
        if place == -1 and n_points == 0:
            return _fail("fractional digits without a decimal point")
        text.append(str(digit))
        expected_place = place - 1
    if expected_place is None:
        return _fail("no digit tokens")
    if expected_place >= 0:
        return _fail(f"digits stop at place {expected_place + 1}; the units digit is missing")
    if text[-1] == ".":
        return _fail("decimal point without fractional digits")
    return DecodedNumber(float(sign + "".join(text)))


@dataclass(frozen=True)
class PropertySpec:
    """How one property is written: name, trained range and number of decimals.

    Parameters
    ----------
    name : str
        Property name; the tag token is ``<name>``.
    vmin, vmax : float
        The range the model is trained on; :meth:`encode` refuses (or clips) values
        outside it. A negative ``vmin`` adds a sign token.
    precision : int
        Decimal places kept (values are rounded half-to-even on their exact binary value).

    Attributes
    ----------
    int_places : int
        Digits before the decimal point.
    signed : bool
        Whether the run starts with a sign token.
    width : int
        Number tokens per value (sign, digits and decimal point).
    """

    name: str
    vmin: float
    vmax: float
    precision: int = 4

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(
                f"property name must be letters, digits and '_' (starting with a "
                f"letter), got {self.name!r}"
            )
        if not (math.isfinite(self.vmin) and math.isfinite(self.vmax) and self.vmax > self.vmin):
            raise ValueError(
                f"{self.name}: need finite vmin < vmax, got [{self.vmin}, {self.vmax}]"
            )
        if not 0 <= int(self.precision) <= 12:
            raise ValueError(f"{self.name}: precision must be 0..12, got {self.precision}")

    @property
    def tag(self) -> str:
        """The property tag token, ``<name>``."""
        return f"<{self.name}>"

    @property
    def signed(self) -> bool:
        return self.vmin < 0

    @property
    def int_places(self) -> int:
        # Format the bounds as encode does, so rounding up (9.99996 -> 10.0000) is covered.
        widest = max(abs(self.vmin), abs(self.vmax))
        return len(f"{widest:.{self.precision}f}".split(".")[0])

    @property
    def width(self) -> int:
        return int(self.signed) + self.int_places + (1 + self.precision if self.precision else 0)

    def places(self) -> list[int | None]:
        """Place of each number token: an int for digits, None for sign and decimal point."""
        out: list[int | None] = [None] if self.signed else []
        out += list(range(self.int_places - 1, -1, -1))
        if self.precision:
            out += [None] + list(range(-1, -self.precision - 1, -1))
        return out

    def value_slots(self) -> list[int]:
        """Positions (within the run) of the tokens carrying the value: sign and digits."""
        slots = [0] if self.signed else []
        return slots + [i for i, p in enumerate(self.places()) if p is not None]

    def slot_choices(self) -> list[list[str]]:
        """For each position of the run, the tokens allowed there."""
        out = []
        for i, place in enumerate(self.places()):
            if place is not None:
                out.append([digit_token(d, place) for d in range(10)])
            elif self.signed and i == 0:
                out.append([PLUS, MINUS])
            else:
                out.append([DECIMAL_POINT])
        return out

    def tokens(self) -> list[str]:
        """Every token this property can use (tag first)."""
        seen = [self.tag]
        for choices in self.slot_choices():
            seen += [t for t in choices if t not in seen]
        return seen

    def check_value(self, value: float, out_of_range: Literal["raise", "clip"] = "raise") -> float:
        """Return ``value`` inside ``[vmin, vmax]``: raise or clip (with a warning) otherwise."""
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name}: value {value!r} is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{self.name}: value {value} is not finite")
        if self.vmin <= value <= self.vmax:
            return value
        if out_of_range == "clip":
            clipped = min(max(value, self.vmin), self.vmax)
            warnings.warn(
                f"{self.name}={value} is outside the trained range "
                f"[{self.vmin}, {self.vmax}]; clipped to {clipped}",
                stacklevel=3,
            )
            return clipped
        if out_of_range != "raise":
            raise ValueError(f"out_of_range must be 'raise' or 'clip', got {out_of_range!r}")
        raise ValueError(
            f"{self.name}={value} is outside the trained range "
            f"[{self.vmin}, {self.vmax}]; pass out_of_range='clip' to clip it"
        )

    def encode(self, value: float, out_of_range: Literal["raise", "clip"] = "raise") -> list[str]:
        """Value to its fixed-width number tokens (without the tag).

        Raises
        ------
        ValueError
            Non-finite value, or outside ``[vmin, vmax]`` with ``out_of_range="raise"``.
        """
        value = self.check_value(value, out_of_range)
        text = f"{abs(value):.{self.precision}f}"
        negative = value < 0 and float(text) != 0.0  # -0.00001 rounds to +0.0000
        int_part, _, frac_part = text.partition(".")
        int_part = int_part.rjust(self.int_places, "0")
        out = [MINUS if negative else PLUS] if self.signed else []
        out += [digit_token(int(c), self.int_places - 1 - i) for i, c in enumerate(int_part)]
        if self.precision:
            out.append(DECIMAL_POINT)
            out += [digit_token(int(c), -1 - i) for i, c in enumerate(frac_part)]
        return out

    def decode(self, tokens: Sequence[str]) -> DecodedNumber:
        """Decode a run written for this property; wrong width gives NaN with a reason."""
        try:
            tokens = list(tokens)
        except TypeError:
            return _fail(f"not a token sequence: {type(tokens).__name__}")
        if len(tokens) != self.width:
            return _fail(f"{self.name} needs {self.width} number tokens, got {len(tokens)}")
        if self.signed and tokens[0] not in (PLUS, MINUS):
            return _fail(f"{self.name} needs a sign token first, got {tokens[0]!r}")
        return decode_number(tokens)

    def round(self, value: float) -> float:
        """``value`` as :meth:`encode` then :meth:`decode` would return it."""
        return float(f"{float(value):.{self.precision}f}") + 0.0

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "vmin": float(self.vmin),
            "vmax": float(self.vmax),
            "precision": int(self.precision),
        }


class NumberTokenizer:
    """Writes and reads the property block of a sequence: ``<p1> digits <p2> digits ... |``.

    Parameters
    ----------
    specs : sequence of PropertySpec
        Properties in the order they are written.

    Examples
    --------
    >>> numbers = NumberTokenizer([PropertySpec("qed", 0, 1, 4)])
    >>> numbers.encode({"qed": 0.3936})[:3]
    ['<qed>', '_0_0_', '_._']
    >>> numbers.decode(numbers.encode({"qed": 0.3936}))
    {'qed': DecodedNumber(value=0.3936, reason='')}
    """

    def __init__(self, specs: Sequence[PropertySpec]) -> None:
        specs = list(specs)
        if not specs:
            raise ValueError("NumberTokenizer needs at least one PropertySpec")
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate property names: {names}")
        self.specs = specs
        self._by_name = {s.name: s for s in specs}

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.specs]

    def spec(self, name: str) -> PropertySpec:
        """Return the spec of ``name``; :class:`UnknownPropertyError` lists the known names."""
        try:
            return self._by_name[name]
        except (KeyError, TypeError):
            raise UnknownPropertyError(
                f"unknown property {name!r}; this model knows: {', '.join(self.names)}"
            ) from None

    def check_names(self, names: Iterable[str]) -> None:
        """Raise :class:`UnknownPropertyError` if any name is not a known property."""
        for name in names:
            self.spec(name)

    @property
    def block_length(self) -> int:
        """Tokens in the property block, tags and separator included."""
        return sum(1 + s.width for s in self.specs) + 1

    def offsets(self) -> dict[str, int]:
        """Position of each property's first number token within the block."""
        out, pos = {}, 0
        for spec in self.specs:
            out[spec.name] = pos + 1
            pos += 1 + spec.width
        return out

    def vocabulary(self) -> list[str]:
        """All tokens the block can use, in a fixed order (separator first)."""
        seen = [SEPARATOR]
        for spec in self.specs:
            seen += [t for t in spec.tokens() if t not in seen]
        return seen

    def encode(
        self,
        values: Mapping[str, float],
        mask_token: str = "[MASK]",
        out_of_range: Literal["raise", "clip"] = "raise",
    ) -> list[str]:
        """The property block for ``values``; missing or NaN values become ``mask_token`` runs.

        Raises
        ------
        UnknownPropertyError
            ``values`` names a property this tokenizer does not know.
        """
        self.check_names(values)
        out: list[str] = []
        for spec in self.specs:
            out.append(spec.tag)
            value = values.get(spec.name, math.nan)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                runs = spec.slot_choices()
                out += [c[0] if len(c) == 1 else mask_token for c in runs]
            else:
                out += spec.encode(value, out_of_range)
        out.append(SEPARATOR)
        return out

    def decode(self, block: Sequence[str]) -> dict[str, DecodedNumber]:
        """Read every property from a block (tags must be where the specs put them)."""
        block = list(block)
        out = {}
        for spec, start in zip(self.specs, self.offsets().values(), strict=True):
            if start - 1 >= len(block) or block[start - 1] != spec.tag:
                out[spec.name] = _fail(f"tag {spec.tag} not found at position {start - 1}")
                continue
            out[spec.name] = spec.decode(block[start : start + spec.width])
        return out

    def to_dict(self) -> dict:
        return {"specs": [s.to_dict() for s in self.specs]}

    @classmethod
    def from_dict(cls, state: Mapping) -> NumberTokenizer:
        return cls([PropertySpec(**s) for s in state["specs"]])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NumberTokenizer) and self.specs == other.specs

    __hash__ = None

    def __repr__(self) -> str:
        inner = ", ".join(f"{s.name}[{s.vmin}, {s.vmax}]@{s.precision}" for s in self.specs)
        return f"NumberTokenizer({inner})"

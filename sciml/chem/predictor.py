"""Predict with any saved molecular model, in bounded memory.

:func:`predict_chunks` is the one chunked prediction loop: it predicts an input chunk by
chunk, numbers rows and invalid SMILES by their position in the whole input, and applies
the ``errors`` policy across chunks. :class:`MolecularPropertyPredictor` (lists, Series or
files, in Python) and ``sciml predict`` (CSV files, with resume) both run it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sciml.chem.models import MoleculeModel, load_model
from sciml.chem.smiles import InvalidSmiles, InvalidSmilesError, check_errors_arg

__all__ = ["MolecularPropertyPredictor", "PredictedChunk", "predict_chunks"]


@dataclass(frozen=True)
class PredictedChunk:
    """The predictions of one input chunk (see :func:`predict_chunks`).

    Attributes
    ----------
    start : int
        Position of the chunk's first molecule in the whole input.
    size : int
        Molecules in the chunk (invalid ones included).
    frame : pandas.DataFrame
        :meth:`MoleculeModel.predict`'s output for the chunk. Index: the chunk's labels when
        it is a Series, else positions in the whole input (named ``row``).
    invalid : list of InvalidSmiles
        The chunk's invalid rows (kept as NaN rows or left out, as ``errors`` says), with
        positions in the whole input.
    """

    start: int
    size: int
    frame: pd.DataFrame
    invalid: list[InvalidSmiles]


def predict_chunks(
    model: MoleculeModel,
    chunks: Iterable[pd.Series | Sequence[object]],
    *,
    errors: str = "raise",
    targets: Sequence[str] | None = None,
    return_std: bool = False,
    interval: float | None = None,
    domain: bool = False,
    start: int = 0,
) -> Iterator[PredictedChunk]:
    """Predict an input chunk by chunk: the loop behind every bulk prediction in sciml.

    Each chunk is predicted by ``model.predict`` with the options given here, and its
    :class:`PredictedChunk` is yielded before the next chunk is read, so memory holds one
    chunk at a time and a caller can pair each result with data of its own for that chunk.

    Parameters
    ----------
    model : MoleculeModel
        A fitted model.
    chunks : iterable of pandas.Series or sequences
        Consecutive parts of the input. A Series' index labels its output rows; otherwise
        rows are labelled by their position in the whole input.
    errors : {"raise", "skip", "nan"}
        Invalid SMILES: ``"raise"`` stops yielding at the first chunk with one, only checks
        the chunks after it, and then raises :class:`~sciml.chem.smiles.InvalidSmilesError`
        listing every invalid row of the input; ``"skip"`` drops their rows; ``"nan"`` keeps
        them as NaN rows.
    targets, return_std, interval, domain
        As in :meth:`MoleculeModel.predict`.
    start : int
        Position of the first chunk's first molecule (a resumed run's rows already done).

    Yields
    ------
    PredictedChunk
        One per chunk, in input order (none after an invalid SMILES under ``"raise"``).

    Raises
    ------
    InvalidSmilesError
        With ``errors="raise"``, after the last chunk, when any row is invalid; its
        positions and total count the whole input.
    """
    check_errors_arg(errors)
    offset, failed = start, []
    for chunk in chunks:
        labelled = isinstance(chunk, pd.Series)
        size = len(chunk)
        if failed:  # errors="raise" and an invalid SMILES seen: check the rest, to list all
            bad = model.check_inputs(list(chunk))[1]
            failed += [InvalidSmiles(b.index + offset, b.value, b.reason) for b in bad]
            offset += size
            continue
        try:
            frame = model.predict(
                chunk if labelled else list(chunk),
                errors=errors,
                targets=targets,
                return_std=return_std,
                interval=interval,
                domain=domain,
            )
        except InvalidSmilesError as exc:
            failed = [InvalidSmiles(b.index + offset, b.value, b.reason) for b in exc.invalid]
            offset += size
            continue
        if not labelled:
            frame.index = pd.Index(frame.index + offset, name="row")
        invalid = [InvalidSmiles(i + offset, v, r) for i, v, r in frame.attrs.get("invalid", [])]
        yield PredictedChunk(offset, size, frame, invalid)
        offset += size
    if failed:
        raise InvalidSmilesError(failed, total=offset)


class MolecularPropertyPredictor:
    """Predict endpoints of many molecules with a saved model, in bounded memory.

    Examples
    --------
    >>> predictor = MolecularPropertyPredictor.load("runs/adme_model")  # doctest: +SKIP
    >>> predictor.predict(["CCO", "c1ccccc1O"])  # doctest: +SKIP
    """

    def __init__(self, model: MoleculeModel):
        if not model.is_fitted:
            raise ValueError("the model is not fitted")
        self.model = model

    @classmethod
    def load(
        cls, path: str | os.PathLike, precision: str | None = None
    ) -> MolecularPropertyPredictor:
        """Load a model folder written by ``save`` (any registered molecular model kind).

        ``precision`` (``"auto"``, ``"fp32"`` or ``"bf16"``) overrides the inference precision
        of a model that has one (the transformer); other kinds of model refuse it.
        """
        options = {} if precision is None else {"precision": precision}
        return cls(load_model(path, **options))

    @property
    def endpoints(self) -> list[str]:
        """Endpoints the model predicts (column names, physical units as fitted)."""
        return list(self.model.targets)

    @property
    def uncertainty_method(self) -> str:
        """What the ``<endpoint>_std`` columns measure."""
        method = getattr(self.model, "uncertainty_method", None)
        return method or "spread over the model's ensemble members"

    def predict(
        self,
        smiles: str | os.PathLike | Sequence[str] | pd.Series,
        *,
        errors: str = "raise",
        endpoints: Sequence[str] | None = None,
        uncertainty: bool = True,
        chunk_size: int = 10_000,
        smiles_column: str = "smiles",
        domain: bool = False,
        interval: float | None = None,
    ) -> pd.DataFrame:
        """Predict endpoints in physical units (plus ``<endpoint>_std`` uncertainty columns).

        Parameters
        ----------
        smiles : list, pandas.Series or path
            Molecules; a path is read lazily in chunks: ``.csv``/``.csv.gz`` (column
            ``smiles_column``) or a one-SMILES-per-line file (``.smi``, ``.txt``, ``.gz``).
        errors : {"raise", "skip", "nan"}
            Invalid SMILES: raise listing all of them (positions in the whole input), drop
            their rows, or keep all-NaN rows.
        endpoints : sequence of str, optional
            Subset of :attr:`endpoints`; an unknown name raises ``KeyError`` listing them.
        uncertainty : bool
            Add the ``_std`` columns (see :attr:`uncertainty_method`).
        chunk_size : int
            Molecules held in memory at once (besides the output frame).
        smiles_column : str
            SMILES column of a CSV input.
        domain : bool
            Add the applicability-domain columns ``max_tanimoto``, ``in_domain`` and
            ``note`` (:meth:`MoleculeModel.predict`).
        interval : float, optional
            Add conformal ``<endpoint>_lower``/``_upper`` columns of this coverage (e.g.
            0.9), as ``sciml predict --interval`` does; needs a calibrated model
            (:meth:`MoleculeModel.predict`).

        Returns
        -------
        pandas.DataFrame
            Index: the Series' index, else the input position. ``attrs["invalid"]`` lists
            ``(position, value, reason)``; ``attrs["uncertainty"]`` names the method.
        """
        check_errors_arg(errors)
        if endpoints is not None:
            unknown = [e for e in endpoints if e not in self.endpoints]
            if unknown:
                raise KeyError(
                    f"unknown endpoint(s) {unknown}; this model predicts {self.endpoints}"
                )
        chunks = predict_chunks(
            self.model,
            _chunks(smiles, chunk_size, smiles_column),
            errors=errors,
            targets=endpoints,
            return_std=uncertainty,
            interval=interval,
            domain=domain,
        )
        frames, invalid = [], []
        for done in chunks:
            frames.append(done.frame)
            invalid += [(b.index, b.value, b.reason) for b in done.invalid]
        columns = list(endpoints or self.endpoints)
        if uncertainty:
            columns += [f"{c}_std" for c in columns]
        result = pd.concat(frames) if frames else pd.DataFrame(columns=columns, dtype=float)
        result.attrs["invalid"] = invalid
        result.attrs["uncertainty"] = self.uncertainty_method if uncertainty else None
        return result


def _chunks(source, size: int, column: str) -> Iterator[pd.Series | list]:
    """Yield the input in parts of at most ``size`` SMILES (files are read lazily).

    A Series comes as Series (its index labels the rows); anything else as lists.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"no SMILES file at {path} (pass SMILES strings as a list)")
        from sciml._io import check_input_file, compression_of, read_csv_chunks, reading

        check_input_file(path)
        name = path.name.lower().removesuffix(".gz")
        if name.endswith((".csv", ".tsv")):
            sep = "\t" if name.endswith(".tsv") else ","
            for part in read_csv_chunks(path, size, sep=sep, usecols=[column]):
                yield list(part[column])
            return
        import gzip

        opener = gzip.open if compression_of(path) == "gzip" else open
        buffer: list[str] = []
        with reading(path), opener(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                fields = line.split(maxsplit=1)
                if fields:
                    buffer.append(fields[0])
                if len(buffer) == size:
                    yield buffer
                    buffer = []
        if buffer:
            yield buffer
        return
    if isinstance(source, pd.Series):
        for start in range(0, len(source), size):
            yield source.iloc[start : start + size]
        return
    items = list(source)
    for start in range(0, len(items), size):
        yield items[start : start + size]

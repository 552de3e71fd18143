"""Predict with any saved molecular model, in bounded memory.

:class:`MolecularPropertyPredictor` wraps a fitted :class:`~sciml.chem.models.MoleculeModel`
of any kind and predicts lists, Series or files in chunks, so memory does not grow with
the input.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from sciml.chem.models import MoleculeModel, load_model
from sciml.chem.smiles import InvalidSmiles, InvalidSmilesError, check_errors_arg

__all__ = ["MolecularPropertyPredictor"]


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
        frames, invalid, bad, offset = [], [], [], 0
        for chunk in _chunks(smiles, chunk_size, smiles_column):
            labelled = isinstance(smiles, pd.Series)
            try:
                frame = self.model.predict(
                    chunk if labelled else list(chunk),
                    errors=errors,
                    targets=endpoints,
                    return_std=uncertainty,
                    domain=domain,
                )
            except InvalidSmilesError as exc:
                bad += [InvalidSmiles(b.index + offset, b.value, b.reason) for b in exc.invalid]
                offset += len(chunk)
                continue
            if not labelled:
                frame.index = pd.Index(frame.index + offset, name="row")
            invalid += [(i + offset, v, r) for i, v, r in frame.attrs.get("invalid", [])]
            frames.append(frame)
            offset += len(chunk)
        if bad:
            raise InvalidSmilesError(bad, total=offset)
        columns = list(endpoints or self.endpoints)
        if uncertainty:
            columns += [f"{c}_std" for c in columns]
        result = pd.concat(frames) if frames else pd.DataFrame(columns=columns, dtype=float)
        result.attrs["invalid"] = invalid
        result.attrs["uncertainty"] = self.uncertainty_method if uncertainty else None
        return result


def _chunks(source, size: int, column: str) -> Iterator[pd.Series]:
    """Yield the input as Series of at most ``size`` SMILES (files are read lazily)."""
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
                yield part[column].reset_index(drop=True)
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
                    yield pd.Series(buffer)
                    buffer = []
        if buffer:
            yield pd.Series(buffer)
        return
    if isinstance(source, pd.Series):
        for start in range(0, len(source), size):
            yield source.iloc[start : start + size]
        return
    items = list(source)
    for start in range(0, len(items), size):
        yield pd.Series(items[start : start + size])

"""Molecules: data sets, SMILES handling, tokenizer, descriptors and splits.

Laid out by pipeline stage:

- :mod:`sciml.chem.datasets` -- named data sets and users' files as DataFrames;
- :mod:`sciml.chem.smiles` -- parsing, canonicalisation, standardisation, error reporting;
- :mod:`sciml.chem.tokenizer` -- atom-level regex SMILES tokenizer with a JSON vocabulary;
- :mod:`sciml.chem.descriptors` -- RDKit descriptors (cached, parallel) and Morgan fingerprints;
- :mod:`sciml.chem.splits` -- random, scaffold and Butina splits, (repeated) k-fold.

Only NumPy, pandas and RDKit are imported here; torch is imported lazily where needed.
"""

from sciml.chem.datasets import (
    DatasetInfo,
    Endpoint,
    FangSplit,
    dataset_info,
    dataset_names,
    load_csv,
    load_dataset,
    load_fang_split,
    load_smiles_file,
)
from sciml.chem.descriptors import compute_descriptors, descriptor_names, morgan_fingerprints
from sciml.chem.smiles import (
    InvalidSmiles,
    InvalidSmilesError,
    SmilesBatch,
    canonicalize,
    canonicalize_batch,
    parse_batch,
    parse_smiles,
    standardize_mol,
)
from sciml.chem.splits import (
    butina_clusters,
    butina_split,
    group_kfold,
    group_split,
    kfold,
    murcko_scaffolds,
    random_split,
    repeated_kfold,
    scaffold_split,
)
from sciml.chem.tokenizer import (
    EncodedBatch,
    SmilesTokenizer,
    TokenizationError,
    VocabularyMismatchError,
    tokenize_smiles,
)

__all__ = [
    "DatasetInfo",
    "EncodedBatch",
    "Endpoint",
    "FangSplit",
    "InvalidSmiles",
    "InvalidSmilesError",
    "SmilesBatch",
    "SmilesTokenizer",
    "TokenizationError",
    "VocabularyMismatchError",
    "butina_clusters",
    "butina_split",
    "canonicalize",
    "canonicalize_batch",
    "compute_descriptors",
    "dataset_info",
    "dataset_names",
    "descriptor_names",
    "group_kfold",
    "group_split",
    "kfold",
    "load_csv",
    "load_dataset",
    "load_fang_split",
    "load_smiles_file",
    "morgan_fingerprints",
    "murcko_scaffolds",
    "parse_batch",
    "parse_smiles",
    "random_split",
    "repeated_kfold",
    "scaffold_split",
    "standardize_mol",
    "tokenize_smiles",
]

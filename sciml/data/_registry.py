"""The registry of public data files: where each comes from and its checksum."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RemoteFile", "REGISTRY", "FANG_ENDPOINTS"]

_ADME_REPO = (
    "https://raw.githubusercontent.com/molecularinformatics/Computational-ADME/"
    "b00df003de117ce9e5b381afd886095c5f2af2d5"
)
_CHEMBL_REPO = (
    "https://raw.githubusercontent.com/gmattedi/SmilesTransformer/"
    "ad416f9b6ea59d14daa0193ffe2e134e186cf617/data/chembl_30"
)
_FIGSHARE = "https://ndownloader.figshare.com/files"
_MOSES_REPO = (
    "https://raw.githubusercontent.com/molecularsets/moses/"
    "b94468cab4590ced03a98c26a35d3c1e0647d9c9/moses/dataset/data"
)
_MOSES_CITATION = (
    "Polykovskiy, D. et al. Molecular Sets (MOSES): A Benchmarking Platform for Molecular "
    "Generation Models. Front. Pharmacol. 11, 565644 (2020)."
)
_MOSES_SHA = {
    "train": "786f0313aa6b9ba5514df685f885742a70ea8d86f1a4fa48115f7f80a634265c",
    "test": "f896fbf3764f88d94670b9959e5872c600c12152a18233823e820761b7a791b2",
}


_CHEMPROP_DATA = (
    "https://raw.githubusercontent.com/chemprop/chemprop/"
    "f814b63ee66d574d9357366bf6c08c11a1b24478/data"
)
_MOLECULENET_CITATION = (
    "Wu, Z. et al. MoleculeNet: a benchmark for molecular machine learning. Chem. Sci. 9, "
    "513 (2018)."
)
#: MoleculeNet's binary classification sets as redistributed by chemprop.
_MOLECULENET_CLS_SHA = {
    "tox21.csv": "b58cc1f683e78e3c7a1bf7116e9aac0119804018d100f7b8cdb0857941c31aca",
    "clintox.csv": "cc561402d058a0d996a9f5e5d02bc20f6652b7003525b32c3598b8da4b24e9b7",
    "sider.csv": "71efc6ac4ca82d6545bc512509863281be0f17234afd7adaf71a71899988302e",
    "bace.csv": "847be1e38d3798c60df03e1aaf2ccd0f09f9ed89407de78e80463aa637088532",
    "HIV.csv.gz": "0a4a7390d6f22035c293e8e0d500655d76233b35f0f68ab128f3ceccdd97a297",
}


@dataclass(frozen=True)
class RemoteFile:
    """One public data file.

    Attributes
    ----------
    name : str
        Registry name passed to :func:`sciml.data.get_path`.
    relpath : str
        Path under the data directory or cache (``$SCIML_DATA_DIR/<relpath>``).
    url : str
        Upstream address, pinned to a commit where the host allows it.
    sha256 : str or None
        Expected checksum. ``None`` only for files whose upstream publishes none; the
        checksum of the first download is then recorded next to the file.
    licence : str
        Licence of the upstream file.
    citation : str
        Reference to cite when using the data.
    """

    name: str
    relpath: str
    url: str
    sha256: str | None
    licence: str
    citation: str


_FANG_CITATION = (
    "Fang, C. et al. Prospective Validation of Machine Learning Algorithms for ADME "
    "Prediction: An Industrial Perspective. J. Chem. Inf. Model. 63, 3263 (2023)."
)
_CHEMBL_CITATION = "Mendez, D. et al. ChEMBL: towards direct deposition of bioassay data. NAR 2019."
_GUACAMOL_CITATION = (
    "Brown, N. et al. GuacaMol: Benchmarking Models for de Novo Molecular Design. JCIM 2019."
)

#: Endpoint keys of the authors' own 80/20 split, in the order of the paper's tables.
FANG_ENDPOINTS = ("HLM", "RLM", "MDR1_ER", "Sol", "hPPB", "rPPB")

_FANG_SHA = {
    ("HLM", "test"): "b26b2a2199602b954d66b5daba4ca69c35916d5028b23091b229fc93efcd1dc1",
    ("HLM", "train"): "00bad049ea72cda9fef62dd9f68411673b4de3cbf977efb948befd1ae3338819",
    ("MDR1_ER", "test"): "c17a168d9e9d8ed0de67a1ab0191a795ae75181163b5d902db3a7f33ab42f303",
    ("MDR1_ER", "train"): "5facb20d38628111469644db338a5351fa9e766adba4715292760f5a05ea07cc",
    ("RLM", "test"): "7467799c8727be5599b0a76b08f60fbeec92bf9533cc8213a511b9f0b977b1c1",
    ("RLM", "train"): "38144705d2809b08ba548bf6660a37b9ee30bd09eeef208e67af13a9fac27c26",
    ("Sol", "test"): "8f9efd2deef045ddcfbcd871d458d3b619fa80463094fd0ae9dec3a2fa69718f",
    ("Sol", "train"): "61386580c8d74867c9d7bdcccc0fc59943f872e1afb8f541ba3a92d1af270e08",
    ("hPPB", "test"): "191a89a583571977b34297a61b724797cbdd288a3e80175edc8c62814a7ed089",
    ("hPPB", "train"): "3f35823e1e8d156acef5d2a3e1ea506af4fc3b351ab804f6f5cadd5cba5ab77a",
    ("rPPB", "test"): "9b3f624fe33c3979855cce4144b8c95d50b70de09b06d60448962170bfd952b4",
    ("rPPB", "train"): "546b6ccc0ef67702df367328e90f64266564c627d8ad59e7fe228c8344f77537",
}


def _build() -> dict[str, RemoteFile]:
    files = [
        RemoteFile(
            "biogen_adme",
            "biogen_adme/ADME_public_set_3521.csv",
            f"{_ADME_REPO}/ADME_public_set_3521.csv",
            "2cfabc2667740c224487876c33b23124159ef43294e0f9e4d926cb6276c95a3b",
            "MIT",
            _FANG_CITATION,
        ),
        RemoteFile(
            "esol",
            "esol/delaney-processed.csv",
            # MoleculeNet's processed file, as first uploaded to this repository; the checksum is
            # of that copy (DeepChem's mirror of the same table may differ byte for byte).
            "https://raw.githubusercontent.com/ajia90/smilestransformer/"
            "d1b3d45df4fc565accbe53b006ce567934a732e4/delaney-processed.csv",
            "8c06a76f0c6487d29ab0f903e6a7a7139f189ab3c1178f159c8be8964602f189",
            "public research data (MoleculeNet)",
            "Delaney, J. S. ESOL: Estimating Aqueous Solubility Directly from Molecular "
            "Structure. JCICS 2004; Wu, Z. et al. MoleculeNet. Chem. Sci. 2018.",
        ),
        RemoteFile(
            "chembl30_valid",
            "chembl30/chembl30_valid.csv.gz",
            f"{_CHEMBL_REPO}/chembl_30_chemreps_proc_valid.csv.gz",
            "90d9a258d89cd386558bfec2a725fdfd175aeaf102d8df448d03fae527c4df3c",
            "CC BY-SA 3.0 (ChEMBL)",
            _CHEMBL_CITATION,
        ),
        RemoteFile(
            "chembl30_test",
            "chembl30/chembl30_test.csv.gz",
            f"{_CHEMBL_REPO}/chembl_30_chemreps_proc_test.csv.gz",
            "e5cf407858136828249371ecae500f96e5c7d79f649b1c6d37b2a865b1bce5a8",
            "CC BY-SA 3.0 (ChEMBL)",
            _CHEMBL_CITATION,
        ),
    ]
    for (endpoint, split), sha in _FANG_SHA.items():
        files.append(
            RemoteFile(
                f"biogen_adme_fang/{endpoint}_{split}",
                f"biogen_adme/fang_split/ADME_{endpoint}_{split}.csv",
                f"{_ADME_REPO}/MPNN/ADME_{endpoint}_{split}.csv",
                sha,
                "MIT",
                _FANG_CITATION,
            )
        )
    for split, file_id in (
        ("train", 13612760),
        ("valid", 13612766),
        ("test", 13612757),
        ("all", 13612745),
    ):
        files.append(
            RemoteFile(
                f"guacamol_{split}",
                f"guacamol/guacamol_v1_{split}.smiles",
                f"{_FIGSHARE}/{file_id}",
                None,
                "MIT (GuacaMol; molecules from ChEMBL, CC BY-SA 3.0)",
                _GUACAMOL_CITATION,
            )
        )
    for name, sha in _MOLECULENET_CLS_SHA.items():
        files.append(
            RemoteFile(
                f"moleculenet_{name.split('.')[0].lower()}",
                f"moleculenet_cls/{name}",
                f"{_CHEMPROP_DATA}/{name}",
                sha,
                "MoleculeNet research data (files from the chemprop repository, MIT)",
                _MOLECULENET_CITATION,
            )
        )
    for split, sha in _MOSES_SHA.items():
        files.append(
            RemoteFile(
                f"moses_{split}",
                f"moses/{split}.csv.gz",
                f"{_MOSES_REPO}/{split}.csv.gz",
                sha,
                "MIT",
                _MOSES_CITATION,
            )
        )
    return {f.name: f for f in files}


#: All registered files by name.
REGISTRY: dict[str, RemoteFile] = _build()

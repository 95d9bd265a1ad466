"""Rating data: the dataset type, loaders for MovieLens and any ratings file, the paper's subset."""

from attnrec.data.dataset import IdMap, RatingDataset, from_frame, id_key
from attnrec.data.download import cache_dir, download_movielens
from attnrec.data.loaders import (
    DUPLICATE_POLICIES,
    load_dataset,
    load_ml1m,
    load_ml100k,
    load_movielens_csv,
    load_ratings_file,
)
from attnrec.data.subset import paper_subset

__all__ = [
    "DUPLICATE_POLICIES",
    "IdMap",
    "RatingDataset",
    "cache_dir",
    "download_movielens",
    "from_frame",
    "id_key",
    "load_dataset",
    "load_ml1m",
    "load_ml100k",
    "load_movielens_csv",
    "load_ratings_file",
    "paper_subset",
]

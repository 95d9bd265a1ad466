"""Loaders for the MovieLens releases and for any ratings file (CSV, TSV, Parquet).

Every loader returns one :class:`~attnrec.data.dataset.RatingDataset`. Files are read with pandas
(ids as text first, then converted) and checked; a problem raises a one-line
:class:`~attnrec.errors.DataError` naming the file, the row and the field, and what to do. The
row is the 1-based line number a user sees in an editor, counting a header line (for Parquet,
the 1-based row number).

Ids are kept as given: a text column whose every value is a plain integer (``"42"``, not
``"042"``) becomes ``int``; any other text stays ``str``. Parquet columns keep their type.

Duplicate (user, item) pairs are resolved by the ``duplicates`` policy, and a
:class:`~attnrec.errors.DuplicateRatingsWarning` says how many rows were merged away:

* ``"latest"`` (default): keep the rating with the latest timestamp; ties, and files without
  timestamps, keep the one that comes last in the file.
* ``"first"``: keep the rating that comes first in the file (timestamps are ignored).
* ``"mean"``: keep the mean of the ratings (and the latest timestamp).
* ``"error"``: raise a :class:`~attnrec.errors.DataError` naming the first duplicate pair.

The rating scale is declared (MovieLens: 1-5, or 0.5-5 for the CSV releases) or, when not
given, detected as the (min, max) of the ratings. Ratings must be > 0 (0 means unrated).
"""

from __future__ import annotations

import csv
import logging
import os
import re
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from attnrec.data.dataset import RatingDataset, from_frame, id_key
from attnrec.errors import ConfigError, DataError, DataWarning, DuplicateRatingsWarning

logger = logging.getLogger(__name__)

DuplicatePolicy = Literal["latest", "first", "mean", "error"]
DUPLICATE_POLICIES: tuple[str, ...] = ("latest", "first", "mean", "error")
DATA_DIR_ENV = "ATTNREC_DATA_DIR"

_FIELDS = ("user", "item", "rating", "timestamp")
_PLAIN_INT = r"-?(?:0|[1-9][0-9]{0,17})"
_PARQUET_SUFFIXES = (".parquet", ".pq")
_SNIFF_DELIMITERS = ",\t;| "
_PARSER_ERROR = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


# --------------------------------------------------------------------------- MovieLens formats


def load_ml100k(folder: str | Path, duplicates: DuplicatePolicy = "latest") -> RatingDataset:
    """Load MovieLens 100K: ``u.data`` (tab-separated) and titles from ``u.item`` (latin-1).

    Args:
        folder: the extracted ``ml-100k`` folder.
        duplicates: the duplicate policy (see the module docstring).

    Returns:
        The dataset, scale (1, 5), named ``ml-100k``.
    """
    folder = Path(folder)
    path = folder / "u.data"
    # read the headerless ratings and give the columns their meaning
    table = _read_text(path, sep="\t", header=False)
    frame = _select_positional(table, path, ("user", "item", "rating", "timestamp"))
    # titles: id|title|release date|... in latin-1
    titles = _read_titles(folder / "u.item", sep="|", encoding="latin-1", header=False)
    return _finish(frame, path, (1.0, 5.0), titles, "ml-100k", duplicates, infer_ints=True)


def load_ml1m(folder: str | Path, duplicates: DuplicatePolicy = "latest") -> RatingDataset:
    """Load MovieLens 1M: ``ratings.dat`` (``user::item::rating::ts``) and ``movies.dat``.

    Args:
        folder: the extracted ``ml-1m`` folder.
        duplicates: the duplicate policy (see the module docstring).

    Returns:
        The dataset, scale (1, 5), named ``ml-1m``.
    """
    folder = Path(folder)
    path = folder / "ratings.dat"
    # read the headerless '::'-separated ratings
    table = _read_text(path, sep="::", header=False, encoding="latin-1")
    frame = _select_positional(table, path, ("user", "item", "rating", "timestamp"))
    # titles: id::title::genres in latin-1
    titles = _read_titles(folder / "movies.dat", sep="::", encoding="latin-1", header=False)
    return _finish(frame, path, (1.0, 5.0), titles, "ml-1m", duplicates, infer_ints=True)


def load_movielens_csv(
    folder: str | Path, duplicates: DuplicatePolicy = "latest", name: str | None = None
) -> RatingDataset:
    """Load a CSV MovieLens release (latest, latest-small, 20M, 25M).

    Reads ``ratings.csv`` (``userId,movieId,rating,timestamp`` with a header, half stars) and
    titles from ``movies.csv`` (``movieId,title,genres``, UTF-8, quoted titles).

    Args:
        folder: the extracted release folder.
        duplicates: the duplicate policy (see the module docstring).
        name: the dataset name for reports; defaults to the folder name.

    Returns:
        The dataset, scale (0.5, 5).
    """
    folder = Path(folder)
    path = folder / "ratings.csv"
    # read the ratings with their header and map the MovieLens column names
    table = _read_text(path, sep=",", header=True)
    columns = {"user": "userId", "item": "movieId", "rating": "rating", "timestamp": "timestamp"}
    frame = _select_named(table, path, columns)
    # titles: movieId,title,genres (quoted when the title has commas)
    titles = _read_titles(folder / "movies.csv", sep=",", encoding="utf-8", header=True)
    label = name or folder.name
    dataset = _finish(frame, path, (0.5, 5.0), titles, label, duplicates, infer_ints=True)
    _warn_untitled(dataset, folder / "movies.csv")
    return dataset


def _warn_untitled(dataset: RatingDataset, titles_path: Path) -> None:
    """Warn about rated items that the titles file does not list (they are kept, untitled)."""
    if not dataset.titles:
        return
    untitled = [raw for raw in dataset.items.raw_ids if id_key(raw) not in dataset.titles]
    if untitled:
        shown = ", ".join(map(str, untitled[:5])) + (" ..." if len(untitled) > 5 else "")
        warnings.warn(
            f"{titles_path}: {len(untitled)} rated item(s) have no title ({shown}); "
            "they are kept without a title",
            DataWarning,
            stacklevel=3,
        )


# --------------------------------------------------------------------------- any ratings file


def load_ratings_file(
    path: str | Path,
    user_col: str | int = "user",
    item_col: str | int = "item",
    rating_col: str | int = "rating",
    timestamp_col: str | int | None = None,
    sep: str | None = None,
    rating_scale: tuple[float, float] | None = None,
    titles: Mapping[Any, str] | None = None,
    duplicates: DuplicatePolicy = "latest",
    encoding: str = "utf-8",
) -> RatingDataset:
    """Load ratings from a CSV, TSV or Parquet file with a column mapping.

    Text files have a header row naming the columns; give integer column positions (0-based)
    instead for a file without a header. The separator is ``sep`` when given, else taken from
    the extension (``.csv`` comma, ``.tsv``/``.tab`` tab) or sniffed from the first lines.

    Args:
        path: the ratings file (``.parquet``/``.pq`` is read as Parquet).
        user_col: column of the user ids.
        item_col: column of the item ids.
        rating_col: column of the ratings (numbers > 0).
        timestamp_col: column of the timestamps (numbers), used by ``duplicates="latest"``.
        sep: the separator of a text file; detected when None.
        rating_scale: (lowest, highest) rating; detected from the data when None.
        titles: item id -> title, when known.
        duplicates: the duplicate policy (see the module docstring).
        encoding: the text encoding of a text file.

    Returns:
        The dataset, named after the file.

    Raises:
        DataError: the file is missing, empty or malformed (the message names row and field).
    """
    path = Path(path)
    mapping = {"user": user_col, "item": item_col, "rating": rating_col}
    if timestamp_col is not None:
        mapping["timestamp"] = timestamp_col
    # read the table: Parquet as typed columns, text as strings
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        table = _read_parquet(path)
        infer_ints = False
    else:
        headerless = all(isinstance(c, int) for c in mapping.values())
        separator = sep or _detect_separator(path, encoding)
        table = _read_text(path, separator, header=not headerless, encoding=encoding)
        infer_ints = True
    # pick the mapped columns, then validate and build
    frame = _select_named(table, path, mapping)
    title_map = {id_key(k): str(v) for k, v in (titles or {}).items()}
    name = path.stem
    return _finish(frame, path, rating_scale, title_map, name, duplicates, infer_ints=infer_ints)


def dataset_from_frame(
    frame: pd.DataFrame,
    rating_scale: tuple[float, float] | None = None,
    duplicates: DuplicatePolicy = "latest",
    source: str = "DataFrame",
    titles: Mapping[Any, str] | None = None,
) -> RatingDataset:
    """Validate a DataFrame with columns user, item, rating [, timestamp] and build a dataset.

    Rows in messages are 1-based positions in the frame; ``source`` names it in messages.
    """
    missing = [c for c in ("user", "item", "rating") if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)}; the frame has "
            f"{', '.join(map(str, frame.columns)) or 'no columns'} (need user, item, rating)"
        )
    if frame.empty:
        raise DataError(f"{source}: no ratings (the frame is empty)")
    columns = [c for c in _FIELDS if c in frame.columns]
    selected = frame[columns].reset_index(drop=True).copy()
    selected["_line"] = np.arange(1, len(selected) + 1)
    title_map = {id_key(k): str(v) for k, v in (titles or {}).items()}
    return _finish(
        selected, Path(source), rating_scale, title_map, source, duplicates, infer_ints=False
    )


# --------------------------------------------------------------------------- dispatch


def load_dataset(
    name_or_path: str | Path,
    data_dir: str | Path | None = None,
    download: bool = True,
    **mapping: Any,
) -> RatingDataset:
    """Load a MovieLens release by name, a MovieLens folder, or a ratings file.

    Names: ``ml-100k``, ``ml-1m``, ``ml-latest-small``, ``ml-latest``, ``ml-20m``, ``ml-25m``.
    A named release is looked for in ``data_dir``, else in the folder named by the environment
    variable ``ATTNREC_DATA_DIR``; either folder may be the extracted release itself or contain
    it as a subfolder of the same name. When neither has it, it is downloaded (and cached) unless
    ``download`` is False.

    Args:
        name_or_path: a release name, a folder holding a MovieLens release, or a ratings file.
        data_dir: a local folder holding the release (see above).
        download: whether a named release missing locally may be downloaded.
        **mapping: for a ratings file, the keyword arguments of :func:`load_ratings_file`; for a
            release or folder only ``duplicates``.

    Returns:
        The dataset.

    Raises:
        DataError: unknown name, missing path or unrecognised folder.
        ConfigError: column-mapping options given for a MovieLens release.
        DownloadError: the release could not be downloaded.
    """
    text = str(name_or_path)
    # a known release name: find the folder locally or download it
    if text in _RELEASES:
        options = _release_options(text, mapping)
        folder = _locate_release(text, data_dir, download)
        return _load_release(text, folder, text, **options)
    # a path: a folder in a MovieLens format, or a ratings file
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        release = _detect_release(path)
        label = release if release in ("ml-100k", "ml-1m") else path.name
        return _load_release(release, path, label, **_release_options(str(path), mapping))
    if path.is_file():
        return load_ratings_file(path, **mapping)
    raise DataError(
        f"{text}: no such file or folder, and not a dataset name; "
        f"use one of {', '.join(_RELEASES)} or a path to a ratings file or MovieLens folder"
    )


_Loader = Callable[..., RatingDataset]


# name -> (loader, marker file that identifies an extracted folder)
_RELEASES: dict[str, tuple[_Loader, str]] = {
    "ml-100k": (load_ml100k, "u.data"),
    "ml-1m": (load_ml1m, "ratings.dat"),
    "ml-latest-small": (load_movielens_csv, "ratings.csv"),
    "ml-latest": (load_movielens_csv, "ratings.csv"),
    "ml-20m": (load_movielens_csv, "ratings.csv"),
    "ml-25m": (load_movielens_csv, "ratings.csv"),
}


def _release_options(what: str, mapping: dict[str, Any]) -> dict[str, Any]:
    """Only ``duplicates`` applies to a MovieLens release; column mappings do not."""
    extra = sorted(set(mapping) - {"duplicates"})
    if extra:
        raise ConfigError(
            f"{what}: options {', '.join(extra)} apply only to a ratings file, "
            "not to a MovieLens release; pass the path of the ratings file instead"
        )
    return dict(mapping)


def _load_release(release: str, folder: Path, label: str, **options: Any) -> RatingDataset:
    """Load ``folder`` in the format of ``release`` and name the dataset ``label``."""
    loader, _ = _RELEASES[release]
    logger.info("loading %s (%s format) from %s", label, release, folder)
    dataset = loader(folder, **options)
    dataset.name = label
    return dataset


def _detect_release(folder: Path) -> str:
    """The release format of a folder, from the files it holds."""
    # the first marker present decides
    for name, marker in (("ml-100k", "u.data"), ("ml-1m", "ratings.dat")):
        if (folder / marker).is_file():
            return name
    if (folder / "ratings.csv").is_file():
        return "ml-latest-small"
    raise DataError(
        f"{folder}: folder has none of u.data, ratings.dat, ratings.csv; "
        "pass the path of the ratings file itself (with the column mapping)"
    )


def _locate_release(name: str, data_dir: str | Path | None, download: bool) -> Path:
    """The folder of a named release: data_dir, else $ATTNREC_DATA_DIR, else a download."""
    # an explicit folder must hold the release
    if data_dir is not None:
        found = _local_release(name, Path(data_dir).expanduser())
        if found is None:
            raise DataError(
                f"{data_dir}: neither the {name} folder nor a folder containing {name}/ "
                f"(looked for {_RELEASES[name][1]}); point --data-dir at the extracted release"
            )
        return found
    # the environment variable, read now (never at import)
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        found = _local_release(name, Path(env).expanduser())
        if found is not None:
            return found
        logger.warning("%s=%s does not hold %s; trying the download cache", DATA_DIR_ENV, env, name)
    # download (cached)
    if not download:
        raise DataError(
            f"{name}: not found locally and download=False; "
            f"pass --data-dir PATH or set {DATA_DIR_ENV}=PATH to the extracted release"
        )
    from attnrec.data.download import download_movielens

    return download_movielens(name)


def _local_release(name: str, root: Path) -> Path | None:
    """``root`` itself or ``root/name`` when it holds the release's marker file."""
    marker = _RELEASES[name][1]
    if (root / name / marker).is_file():
        return root / name
    # root is the release itself, unless it is named as another release
    is_other = root.name in _RELEASES and root.name != name
    if (root / marker).is_file() and not is_other:
        return root
    return None


# --------------------------------------------------------------------------- reading


class _Table:
    """Raw columns as read, with the 1-based line (or row) number of each row."""

    def __init__(
        self, frame: pd.DataFrame, lines: np.ndarray, header: bool, sep: str | None
    ) -> None:
        self.frame = frame
        self.lines = lines
        self.header = header
        self.sep = sep  # None for Parquet


def _read_text(
    path: Path, sep: str, header: bool, encoding: str = "utf-8", quoting: int = csv.QUOTE_MINIMAL
) -> _Table:
    """Read a text table as strings, every line kept so row numbers are file line numbers."""
    _require_file(path)
    # read every field as text; only empty fields are missing
    frame = _parse_text(path, sep, encoding, quoting)
    lines = np.arange(1, len(frame) + 1, dtype=np.int64)
    # the header row names the columns
    if header:
        names = [_header_name(v, i) for i, v in enumerate(frame.iloc[0].tolist())]
        frame = frame.iloc[1:].set_axis(names, axis=1)
        lines = lines[1:]
    # drop blank lines (all fields missing), keeping the line numbers of the others
    keep = ~frame.isna().all(axis=1).to_numpy()
    frame, lines = frame.loc[keep].reset_index(drop=True), lines[keep]
    if frame.empty:
        what = "a header but no ratings" if header else "no ratings"
        raise DataError(f"{path}: the file has {what}; expected one rating per line")
    return _Table(frame, lines, header, sep)


def _parse_text(path: Path, sep: str, encoding: str, quoting: int) -> pd.DataFrame:
    """pandas.read_csv with every field as text, turning parser errors into DataError."""
    engine: Literal["c", "python"] = "python" if len(sep) > 1 else "c"
    try:
        return pd.read_csv(
            path,
            sep=re.escape(sep) if len(sep) > 1 else sep,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=False,
            encoding=encoding,
            quoting=quoting,
            engine=engine,
        )
    except pd.errors.EmptyDataError as error:
        raise DataError(f"{path}: the file is empty; expected one rating per line") from error
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path}: not valid {encoding} text ({error.reason} at byte {error.start}); "
            "pass the file's encoding (e.g. encoding='latin-1'; --encoding on the command line)"
        ) from error
    except pd.errors.ParserError as error:
        raise _column_count_error(path, sep, str(error)) from error


def _column_count_error(path: Path, sep: str, message: str) -> DataError:
    """A one-line DataError from pandas' 'Expected N fields in line L, saw M'."""
    match = _PARSER_ERROR.search(message)
    if match is None:
        first = message.strip().splitlines()[0] if message.strip() else "parse error"
        return DataError(f"{path}: cannot parse the file ({first}); check the separator {sep!r}")
    expected, line, saw = (int(g) for g in match.groups())
    if expected == 1:
        return _separator_error(path, sep)
    return DataError(
        f"{path}, row {line}: {saw} fields where the first line has {expected} "
        f"(separator {sep!r}); quote fields that contain the separator or fix the line"
    )


def _separator_error(path: Path, sep: str) -> DataError:
    """Every line parsed as one column: name the separator that the first line seems to use."""
    first = _first_line(path)
    guess = next((s for s in ("::", "\t", ",", ";", "|") if s != sep and s in first), None)
    hint = f"the file seems to use {guess!r}: pass sep={guess!r}" if guess else "pass sep=..."
    hint += " (--sep on the command line)"
    return DataError(
        f"{path}, row 1: every line parsed as a single column with separator {sep!r} "
        f"(row 1 is {first[:60]!r}); {hint}"
    )


def _first_line(path: Path) -> str:
    with path.open(encoding="utf-8", errors="replace") as handle:
        return handle.readline().rstrip("\r\n")


def _header_name(value: object, position: int) -> str:
    """A header cell as a column name (an empty cell is named by its position)."""
    return f"column {position + 1}" if pd.isna(value) else str(value).strip()


def _read_parquet(path: Path) -> _Table:
    """Read a Parquet file; row numbers are 1-based row positions."""
    _require_file(path)
    try:
        frame = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several unrelated types for a bad file
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(f"{path}: not a readable Parquet file ({reason})") from error
    if frame.empty:
        raise DataError(f"{path}: the file has no ratings; expected one rating per row")
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    return _Table(frame, np.arange(1, len(frame) + 1, dtype=np.int64), header=True, sep=None)


def _require_file(path: Path) -> None:
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise DataError(f"{path}: the ratings file {what}; check the path (or pass --data-dir)")


def _detect_separator(path: Path, encoding: str) -> str:
    """Separator from the extension (.csv, .tsv, .tab), else sniffed from the first lines."""
    # the extension decides when it is a known one
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return ","
    if suffix in (".tsv", ".tab"):
        return "\t"
    # sniff the first lines
    _require_file(path)
    with path.open(encoding=encoding, errors="replace") as handle:
        sample = "".join(handle.readline() for _ in range(20))
    if "::" in sample.split("\n", 1)[0]:
        return "::"
    try:
        return csv.Sniffer().sniff(sample, delimiters=_SNIFF_DELIMITERS).delimiter
    except csv.Error:
        logger.debug("could not sniff the separator of %s; assuming ','", path)
        return ","


# --------------------------------------------------------------------------- selecting columns


def _select_positional(table: _Table, path: Path, fields: tuple[str, ...]) -> pd.DataFrame:
    """Headerless file: check the column count, then name the columns by position."""
    # one column where several are expected: the separator is wrong
    width = table.frame.shape[1]
    if width == 1 and len(fields) > 1:
        raise _separator_error(path, str(table.sep))
    if width != len(fields):
        raise DataError(
            f"{path}, row {table.lines[0]}: {width} fields, expected {len(fields)} "
            f"({', '.join(fields)}); check that this is the right file and separator"
        )
    frame = table.frame.set_axis(list(fields), axis=1)
    frame.attrs["columns"] = {f: f for f in fields}
    frame["_line"] = table.lines
    return frame


def _select_named(table: _Table, path: Path, mapping: Mapping[str, str | int]) -> pd.DataFrame:
    """Pick the mapped columns (by header name, or by position without a header)."""
    available = list(table.frame.columns)
    # one column where several are needed: the separator is wrong
    if len(available) == 1 and len(mapping) > 1 and table.sep is not None:
        raise _separator_error(path, table.sep)
    # every mapped column must exist
    shown = ", ".join(repr(c) for c in available)
    for field, column in mapping.items():
        if column not in available:
            raise DataError(
                f"{path}: no column {column!r} for field '{field}' (available columns: {shown}); "
                f"pass {field}_col=<one of them> (--{field}-col on the command line)"
            )
    # rename to the logical fields, remembering the file's names for messages
    frame = pd.DataFrame({field: table.frame[column] for field, column in mapping.items()})
    names = {f: str(c) if table.header else f for f, c in mapping.items()}
    frame.attrs["columns"] = names
    frame["_line"] = table.lines
    return frame


# --------------------------------------------------------------------------- validation


def _finish(
    frame: pd.DataFrame,
    path: Path,
    rating_scale: tuple[float, float] | None,
    titles: dict[str, str],
    name: str,
    duplicates: str,
    infer_ints: bool,
) -> RatingDataset:
    """Validate the selected columns, resolve duplicates, and build the dataset."""
    # check the policy and the scale before reading further
    if duplicates not in DUPLICATE_POLICIES:
        raise ConfigError(
            f"duplicates={duplicates!r} is not a policy; use one of {', '.join(DUPLICATE_POLICIES)}"
        )
    scale = _check_scale(rating_scale)
    # validate: no missing values, typed ids, numeric ratings in the scale
    frame = _strip_text(frame)
    _check_missing(frame, path)
    for field in ("user", "item"):
        frame[field] = _convert_ids(frame[field], infer_ints)
    frame["rating"] = _numeric(frame, path, "rating")
    if "timestamp" in frame.columns:
        frame["timestamp"] = _numeric(frame, path, "timestamp")
    _check_ratings(frame, path, scale)
    # resolve duplicate (user, item) pairs by the policy
    frame = _resolve_duplicates(frame, path, duplicates)
    # build the dataset; the scale is declared or detected
    columns = [c for c in ("user", "item", "rating", "timestamp") if c in frame.columns]
    dataset = from_frame(frame[columns], rating_scale=scale, titles=titles, name=name)
    logger.info("%s", dataset.describe())
    return dataset


def _check_scale(scale: tuple[float, float] | None) -> tuple[float, float] | None:
    if scale is None:
        return None
    low, high = float(scale[0]), float(scale[1])
    if not (np.isfinite(low) and np.isfinite(high)) or low >= high or low <= 0:
        raise ConfigError(
            f"rating_scale={scale!r}: need 0 < lowest < highest (0 means 'unrated'), e.g. (1, 5)"
        )
    return (low, high)


def _field(frame: pd.DataFrame, field: str) -> str:
    """The file's name of a field, for messages."""
    return str(frame.attrs.get("columns", {}).get(field, field))


def _strip_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Strip spaces around text values; a blank value counts as missing."""
    frame = frame.copy()
    for field in [c for c in frame.columns if c != "_line"]:
        column = frame[field]
        if pd.api.types.is_string_dtype(column) or column.dtype == object:
            text = column.where(column.isna(), column.astype(str).str.strip())
            frame[field] = text.mask(text == "")
    return frame


def _check_missing(frame: pd.DataFrame, path: Path) -> None:
    """Every user, item, rating (and timestamp, when mapped) must be present."""
    for field in [c for c in frame.columns if c != "_line"]:
        missing = frame[field].isna().to_numpy()
        if missing.any():
            line = int(frame["_line"].iloc[int(np.argmax(missing))])
            raise DataError(
                f"{path}, row {line}, field '{_field(frame, field)}': missing value "
                f"({int(missing.sum())} rows in all); fill it in or remove the row"
            )


def _convert_ids(column: pd.Series, infer_ints: bool) -> pd.Series:
    """Text ids that are all plain integers become int64; anything else is kept as given."""
    is_text = pd.api.types.is_string_dtype(column) or column.dtype == object
    if not is_text:
        return column
    text = column.astype(str)
    if infer_ints and bool(text.str.fullmatch(_PLAIN_INT).all()):
        return text.astype(np.int64)
    return text.astype(object)


def _numeric(frame: pd.DataFrame, path: Path, field: str) -> pd.Series:
    """A column as float64; the first non-numeric (or infinite) value raises DataError."""
    values = pd.to_numeric(frame[field], errors="coerce").astype(np.float64)
    bad = ~np.isfinite(values.to_numpy())
    if bad.any():
        at = int(np.argmax(bad))
        line, raw = int(frame["_line"].iloc[at]), frame[field].iloc[at]
        expected = "a number" if field == "rating" else "a number (e.g. unix seconds)"
        raise DataError(
            f"{path}, row {line}, field '{_field(frame, field)}': {raw!r} is not {expected}; "
            "fix the value, or check the column mapping and separator"
        )
    return values


def _check_ratings(frame: pd.DataFrame, path: Path, scale: tuple[float, float] | None) -> None:
    """Ratings must be > 0, and inside the declared scale when one is declared."""
    ratings = frame["rating"].to_numpy()
    # 0 and below mean 'unrated' in the sparse matrix
    bad = ratings <= 0
    problem = "is not above 0 (0 means 'unrated'); shift the scale to start above 0"
    # outside the declared scale
    if scale is not None and not bad.any():
        bad = (ratings < scale[0]) | (ratings > scale[1])
        problem = (
            f"is outside the declared scale {scale[0]:g}-{scale[1]:g}; "
            "fix the value or declare the right rating_scale"
        )
    if bad.any():
        at = int(np.argmax(bad))
        line = int(frame["_line"].iloc[at])
        raise DataError(
            f"{path}, row {line}, field '{_field(frame, 'rating')}': {ratings[at]:g} {problem}"
        )


def _resolve_duplicates(frame: pd.DataFrame, path: Path, policy: str) -> pd.DataFrame:
    """Resolve duplicate (user, item) pairs by the policy, warning with the count."""
    # find the rows that share a (user, item) pair
    pair = ["user", "item"]
    repeated = frame.duplicated(subset=pair, keep=False).to_numpy()
    if not repeated.any():
        return frame
    n_pairs = int((~frame.loc[repeated].duplicated(subset=pair)).sum())
    # error: name the first duplicate pair and both rows
    if policy == "error":
        raise _duplicate_error(frame, path, repeated)
    # resolve by the policy
    if policy == "mean":
        aggregations = {"rating": "mean", "_line": "min"}
        if "timestamp" in frame.columns:
            aggregations["timestamp"] = "max"
        resolved = frame.groupby(pair, sort=False, as_index=False).agg(aggregations)
    elif policy == "first":
        resolved = frame.drop_duplicates(subset=pair, keep="first")
    else:
        ordered = frame
        if "timestamp" in frame.columns:
            ordered = frame.sort_values("timestamp", kind="stable")
        resolved = ordered.drop_duplicates(subset=pair, keep="last")
    # warn with the count
    dropped = len(frame) - len(resolved)
    warnings.warn(
        f"{path}: {dropped} duplicate ratings over {n_pairs} (user, item) pairs "
        f"resolved with duplicates={policy!r}",
        DuplicateRatingsWarning,
        stacklevel=2,
    )
    logger.info("%s: resolved %d duplicate ratings (%s)", path, dropped, policy)
    return resolved.reset_index(drop=True)


def _duplicate_error(frame: pd.DataFrame, path: Path, repeated: np.ndarray) -> DataError:
    rows = frame.loc[repeated]
    first = rows.iloc[0]
    same = rows[(rows["user"] == first["user"]) & (rows["item"] == first["item"])]
    line_a, line_b = (int(v) for v in same["_line"].iloc[:2])
    user, item = _field(frame, "user"), _field(frame, "item")
    n_extra = int(frame.duplicated(subset=["user", "item"]).sum())
    return DataError(
        f"{path}, rows {line_a} and {line_b}, fields '{user}' and '{item}': user "
        f"{first['user']!r} rates item {first['item']!r} twice ({n_extra} duplicates in all); "
        "pass duplicates='latest', 'first' or 'mean' to resolve them"
    )


# --------------------------------------------------------------------------- titles


def _read_titles(path: Path, sep: str, encoding: str, header: bool) -> dict[str, str]:
    """Item id key -> title from the first two columns of a titles file (empty when absent)."""
    if not path.is_file():
        logger.warning("%s not found; items will have no titles", path)
        return {}
    # read without quoting for the MovieLens formats that have none
    quoting = csv.QUOTE_MINIMAL if sep == "," else csv.QUOTE_NONE
    table = _read_text(path, sep, header=header, encoding=encoding, quoting=quoting)
    frame = table.frame.iloc[:, :2].dropna()
    return {
        id_key(str(raw).strip()): str(title).strip()
        for raw, title in zip(frame.iloc[:, 0], frame.iloc[:, 1], strict=True)
    }

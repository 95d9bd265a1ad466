"""Loaders: every MovieLens format, any ratings file, validation messages, duplicates."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from attnrec.data import (
    load_dataset,
    load_ml1m,
    load_ml100k,
    load_movielens_csv,
    load_ratings_file,
)
from attnrec.data import loaders as loaders_module
from attnrec.errors import ConfigError, DataError, DataWarning, DuplicateRatingsWarning

MISERABLES = "Misérables, Les (1995)"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def make_ml100k(folder: Path) -> Path:
    write(folder / "u.data", "1\t1\t5\t874965758\n1\t2\t3\t876893171\n2\t1\t4\t878542960\n")
    write(
        folder / "u.item",
        f"1|Toy Story (1995)|01-Jan-1995||http://x|0|0\n2|{MISERABLES}|01-Jan-1995||http://y|0|1\n",
        encoding="latin-1",
    )
    return folder


def make_ml1m(folder: Path) -> Path:
    write(folder / "ratings.dat", "1::10::5::978300760\n1::20::3::978302109\n2::10::4::978301968\n")
    write(
        folder / "movies.dat",
        f"10::{MISERABLES}::Drama|Musical\n20::Star Wars: Episode IV (1977)::Action\n",
        encoding="latin-1",
    )
    return folder


def make_csv_release(folder: Path) -> Path:
    write(
        folder / "ratings.csv",
        "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,11,3.5,964981247\n"
        "2,11,0.5,964982224\n",
    )
    write(
        folder / "movies.csv",
        "movieId,title,genres\n1,Toy Story (1995),Animation\n"
        '11,"American President, The (1995)",Comedy|Drama|Romance\n',
    )
    return folder


def one_line_error(excinfo: pytest.ExceptionInfo[DataError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------- MovieLens formats


def test_ml100k_ratings_titles_and_scale(tmp_path: Path) -> None:
    dataset = load_ml100k(make_ml100k(tmp_path / "ml-100k"))
    assert (dataset.n_users, dataset.n_items, dataset.n_ratings) == (2, 2, 3)
    assert dataset.rating_scale == (1.0, 5.0)
    assert dataset.name == "ml-100k"
    assert dataset.title(2) == MISERABLES
    assert dataset.title("1") == "Toy Story (1995)"
    assert dataset.users.raw_ids == [1, 2]
    assert dataset.timestamps is not None
    assert dataset.ratings[dataset.user_index(1), dataset.item_index(2)] == 3


def test_ml1m_double_colon_and_latin1(tmp_path: Path) -> None:
    dataset = load_ml1m(make_ml1m(tmp_path / "ml-1m"))
    assert (dataset.n_users, dataset.n_items, dataset.n_ratings) == (2, 2, 3)
    assert dataset.rating_scale == (1.0, 5.0)
    assert dataset.title(10) == MISERABLES
    assert dataset.title(20) == "Star Wars: Episode IV (1977)"


def test_movielens_csv_quoted_titles_and_half_stars(tmp_path: Path) -> None:
    dataset = load_movielens_csv(make_csv_release(tmp_path / "ml-latest-small"))
    assert dataset.rating_scale == (0.5, 5.0)
    assert dataset.name == "ml-latest-small"
    assert dataset.title(11) == "American President, The (1995)"
    frame = dataset.to_frame()
    assert sorted(frame["rating"]) == [0.5, 3.5, 4.0]


def test_ml100k_without_titles_file_still_loads(tmp_path: Path) -> None:
    folder = make_ml100k(tmp_path / "ml-100k")
    (folder / "u.item").unlink()
    assert load_ml100k(folder).titles == {}


# --------------------------------------------------------------------------- ratings files


def test_csv_with_string_ids_keeps_strings(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "user,item,rating\nu1,i1,4\nu2,i1,2\n007,i2,1\n")
    dataset = load_ratings_file(path)
    assert dataset.users.raw_ids == ["007", "u1", "u2"]
    assert dataset.user_index("u2") == 2
    assert dataset.rating_scale == (1.0, 4.0)  # detected


def test_int_ids_stay_ints_and_lookup_accepts_both_spellings(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "user,item,rating\n1,10,4\n2,10,2\n")
    dataset = load_ratings_file(path)
    assert dataset.users.raw_ids == [1, 2]
    assert all(isinstance(raw, int) for raw in dataset.items.raw_ids)
    assert dataset.user_index("1") == dataset.user_index(1) == 0
    assert dataset.item_index("10") == dataset.item_index(10) == 0


def test_tsv_by_extension_with_mapping_and_timestamps(tmp_path: Path) -> None:
    path = write(tmp_path / "r.tsv", "who\twhat\tstars\twhen\n1\t5\t4.5\t100\n2\t5\t3\t200\n")
    dataset = load_ratings_file(
        path, user_col="who", item_col="what", rating_col="stars", timestamp_col="when"
    )
    assert dataset.n_ratings == 2
    assert dataset.timestamps is not None
    assert sorted(dataset.timestamps.tolist()) == [100.0, 200.0]


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_separator_is_sniffed_without_extension(tmp_path: Path, sep: str) -> None:
    lines = ["user", "item", "rating"], ["1", "2", "3"], ["2", "2", "4"], ["3", "1", "5"]
    path = write(tmp_path / "ratings.txt", "".join(sep.join(line) + "\n" for line in lines))
    assert load_ratings_file(path).n_ratings == 3


def test_headerless_file_by_positions_and_explicit_sep(tmp_path: Path) -> None:
    path = write(tmp_path / "r.dat", "1::10::5::978300760\n2::10::4::978301968\n")
    dataset = load_ratings_file(path, user_col=0, item_col=1, rating_col=2, timestamp_col=3)
    assert (dataset.n_users, dataset.n_items) == (2, 1)
    explicit = load_ratings_file(path, user_col=0, item_col=1, rating_col=2, sep="::")
    assert explicit.n_ratings == 2


def test_parquet_keeps_column_types(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    frame = pd.DataFrame({"u": ["1", "2"], "i": [10, 20], "r": [4.0, 2.5]})
    frame.to_parquet(path)
    dataset = load_ratings_file(path, user_col="u", item_col="i", rating_col="r")
    assert dataset.users.raw_ids == ["1", "2"]  # strings in Parquet stay strings
    assert dataset.items.raw_ids == [10, 20]
    assert dataset.user_index(1) == 0


def test_titles_mapping(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "user,item,rating\n1,10,4\n")
    dataset = load_ratings_file(path, titles={10: MISERABLES})
    assert dataset.title("10") == MISERABLES


def test_declared_scale_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "user,item,rating\n1,10,4\n2,10,3\n")
    assert load_ratings_file(path, rating_scale=(1, 10)).rating_scale == (1.0, 10.0)


def test_bad_declared_scale_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "user,item,rating\n1,10,4\n")
    with pytest.raises(ConfigError, match="rating_scale"):
        load_ratings_file(path, rating_scale=(5, 1))


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("content", "row", "field", "words"),
    [
        ("user,item,rating\n1,10,4\n2,10,abc\n", 3, "rating", "not a number"),
        ("user,item,rating\n1,10,4\n\n2,10,x\n", 4, "rating", "not a number"),  # blank line
        ("user,item,rating\n1,10,4\n2,10,9\n", 3, "rating", "outside the declared scale"),
        ("user,item,rating\n1,10,4\n2,10,0\n", 3, "rating", "not above 0"),
        ("user,item,rating\n1,10,4\n,10,3\n", 3, "user", "missing value"),
        ("user,item,rating\n1,10,4\n2, ,3\n", 3, "item", "missing value"),
        ("user,item,rating\n1,10,4\n2,10\n", 3, "rating", "missing value"),
        ("user,item,rating\n1,10,4\n2,10,\n", 3, "rating", "missing value"),
    ],
)
def test_value_errors_name_file_row_and_field(
    tmp_path: Path, content: str, row: int, field: str, words: str
) -> None:
    path = write(tmp_path / "ratings_bad.csv", content)
    with pytest.raises(DataError) as excinfo:
        load_ratings_file(path, rating_scale=(1, 5))
    message = one_line_error(excinfo)
    assert "ratings_bad.csv" in message
    assert f"row {row}," in message
    assert f"field '{field}'" in message
    assert words in message


def test_errors_use_the_file_column_names(tmp_path: Path) -> None:
    path = write(tmp_path / "mine.csv", "uid,mid,stars,ts\n1,10,4,100\n2,10,5,oops\n")
    with pytest.raises(DataError) as excinfo:
        load_ratings_file(path, "uid", "mid", "stars", timestamp_col="ts")
    message = one_line_error(excinfo)
    assert "mine.csv, row 3, field 'ts'" in message
    assert "'oops'" in message


def test_ml100k_rating_outside_scale(tmp_path: Path) -> None:
    folder = make_ml100k(tmp_path / "ml-100k")
    write(folder / "u.data", "1\t1\t5\t874965758\n1\t2\t6\t876893171\n")
    with pytest.raises(DataError) as excinfo:
        load_ml100k(folder)
    message = one_line_error(excinfo)
    assert "u.data, row 2, field 'rating'" in message
    assert "1-5" in message


def test_ml100k_wrong_separator_every_line_one_column(tmp_path: Path) -> None:
    folder = make_ml100k(tmp_path / "ml-100k")
    write(folder / "u.data", "1,1,5,874965758\n1,2,3,876893171\n")
    with pytest.raises(DataError) as excinfo:
        load_ml100k(folder)
    message = one_line_error(excinfo)
    assert "u.data, row 1" in message
    assert "single column" in message
    assert "sep=','" in message


def test_csv_wrong_separator_every_line_one_column(tmp_path: Path) -> None:
    path = write(tmp_path / "ratings.csv", "user\titem\trating\n1\t10\t4\n")
    with pytest.raises(DataError) as excinfo:
        load_ratings_file(path)
    message = one_line_error(excinfo)
    assert "ratings.csv, row 1" in message
    assert "single column" in message
    assert "sep='\\t'" in message


def test_wrong_column_count_names_the_row(tmp_path: Path) -> None:
    path = write(tmp_path / "ratings.csv", "user,item,rating\n1,10,4\n2,10,3,extra\n")
    with pytest.raises(DataError) as excinfo:
        load_ratings_file(path)
    message = one_line_error(excinfo)
    assert "ratings.csv, row 3" in message
    assert "4 fields" in message


def test_ml1m_wrong_column_count(tmp_path: Path) -> None:
    folder = make_ml1m(tmp_path / "ml-1m")
    write(folder / "ratings.dat", "1::10::5::978300760\n1::20::3\n")
    with pytest.raises(DataError) as excinfo:
        load_ml1m(folder)
    message = one_line_error(excinfo)
    assert "ratings.dat, row 2, field 'timestamp'" in message


def test_headerless_file_with_the_wrong_width(tmp_path: Path) -> None:
    folder = make_ml100k(tmp_path / "ml-100k")
    write(folder / "u.data", "1\t1\t5\n1\t2\t3\n")
    with pytest.raises(DataError) as excinfo:
        load_ml100k(folder)
    message = one_line_error(excinfo)
    assert "u.data, row 1" in message
    assert "3 fields, expected 4" in message


@pytest.mark.parametrize(
    ("content", "words"), [("", "is empty"), ("user,item,rating\n", "header but no ratings")]
)
def test_empty_files(tmp_path: Path, content: str, words: str) -> None:
    path = write(tmp_path / "empty.csv", content)
    with pytest.raises(DataError) as excinfo:
        load_ratings_file(path)
    message = one_line_error(excinfo)
    assert "empty.csv" in message
    assert words in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError) as excinfo:
        load_ratings_file(tmp_path / "nowhere.csv")
    message = one_line_error(excinfo)
    assert "nowhere.csv" in message
    assert "does not exist" in message


def test_missing_ml100k_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"u\.data: the ratings file does not exist"):
        load_ml100k(tmp_path / "absent")


def test_missing_column_lists_the_available_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "userId,movieId,rating\n1,10,4\n")
    with pytest.raises(DataError) as excinfo:
        load_ratings_file(path)
    message = one_line_error(excinfo)
    assert "r.csv" in message
    assert "no column 'user' for field 'user'" in message
    assert "'userId', 'movieId', 'rating'" in message


def test_not_utf8_suggests_an_encoding(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "user,item,rating\nAmélie,10,4\n", encoding="latin-1")
    with pytest.raises(DataError, match="encoding='latin-1'"):
        load_ratings_file(path)
    assert load_ratings_file(path, encoding="latin-1").users.raw_ids == ["Amélie"]


# --------------------------------------------------------------------------- duplicates

DUPLICATED = (
    "user,item,rating,ts\n"
    "1,10,3,100\n"  # row 2
    "1,10,5,50\n"  # row 3: older
    "2,10,2,10\n"  # row 4
    "1,10,4,100\n"  # row 5: ties row 2 on time, later in the file
)


def load_duplicated(tmp_path: Path, policy: str, timestamps: bool = True) -> float:
    path = write(tmp_path / "dup.csv", DUPLICATED)
    with pytest.warns(DuplicateRatingsWarning, match="2 duplicate ratings over 1") as record:
        dataset = load_ratings_file(
            path,
            timestamp_col="ts" if timestamps else None,
            duplicates=policy,  # type: ignore[arg-type]
        )
    assert len(record) == 1
    assert dataset.n_ratings == 2
    return float(dataset.ratings[dataset.user_index(1), dataset.item_index(10)])


@pytest.mark.parametrize(
    ("policy", "timestamps", "expected"),
    [
        ("latest", True, 4.0),  # latest time 100, tie with row 2 -> last in the file
        ("latest", False, 4.0),  # no timestamps -> last in the file
        ("first", True, 3.0),
        ("mean", True, 4.0),
    ],
)
def test_duplicate_policies(tmp_path: Path, policy: str, timestamps: bool, expected: float) -> None:
    assert load_duplicated(tmp_path, policy, timestamps) == expected


def test_latest_keeps_the_latest_timestamp_not_the_last_row(tmp_path: Path) -> None:
    path = write(tmp_path / "dup.csv", "user,item,rating,ts\n1,10,5,200\n1,10,2,100\n")
    with pytest.warns(DuplicateRatingsWarning, match="1 duplicate ratings over 1"):
        dataset = load_ratings_file(path, timestamp_col="ts")
    assert dataset.ratings[0, 0] == 5
    assert dataset.timestamps is not None
    assert dataset.timestamps.tolist() == [200.0]


def test_mean_keeps_the_latest_timestamp(tmp_path: Path) -> None:
    path = write(tmp_path / "dup.csv", "user,item,rating,ts\n1,10,5,200\n1,10,2,100\n")
    with pytest.warns(DuplicateRatingsWarning):
        dataset = load_ratings_file(path, timestamp_col="ts", duplicates="mean")
    assert dataset.ratings[0, 0] == pytest.approx(3.5)
    assert dataset.timestamps is not None
    assert dataset.timestamps.tolist() == [200.0]


def test_duplicates_error_names_both_rows(tmp_path: Path) -> None:
    path = write(tmp_path / "dup.csv", DUPLICATED)
    with pytest.raises(DataError) as excinfo:
        load_ratings_file(path, duplicates="error")
    message = one_line_error(excinfo)
    assert "dup.csv, rows 2 and 3, fields 'user' and 'item'" in message
    assert "2 duplicates in all" in message


def test_unknown_duplicate_policy(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "user,item,rating\n1,10,4\n")
    with pytest.raises(ConfigError, match="duplicates='max'"):
        load_ratings_file(path, duplicates="max")  # type: ignore[arg-type]


def test_no_warning_without_duplicates(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "user,item,rating\n1,10,4\n1,11,4\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_ratings_file(path)


# --------------------------------------------------------------------------- load_dataset


def test_load_dataset_detects_folder_formats(tmp_path: Path) -> None:
    assert load_dataset(make_ml100k(tmp_path / "a")).name == "ml-100k"
    assert load_dataset(make_ml1m(tmp_path / "b")).title(10) == MISERABLES
    assert load_dataset(make_csv_release(tmp_path / "c")).rating_scale == (0.5, 5.0)


def test_load_dataset_file_with_mapping(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", "u,i,r\n1,10,4\n")
    dataset = load_dataset(path, user_col="u", item_col="i", rating_col="r")
    assert dataset.n_ratings == 1


def test_load_dataset_name_from_data_dir_itself_or_parent(tmp_path: Path) -> None:
    folder = make_ml100k(tmp_path / "ml-100k")
    assert load_dataset("ml-100k", data_dir=folder).n_ratings == 3
    assert load_dataset("ml-100k", data_dir=tmp_path).n_ratings == 3
    named = load_dataset("ml-latest-small", data_dir=make_csv_release(tmp_path / "local-copy"))
    assert named.name == "ml-latest-small"


def test_load_dataset_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_ml1m(tmp_path / "ml-1m")
    monkeypatch.setenv("ATTNREC_DATA_DIR", str(tmp_path))
    assert load_dataset("ml-1m", download=False).n_ratings == 3
    monkeypatch.setenv("ATTNREC_DATA_DIR", str(tmp_path / "ml-1m"))
    assert load_dataset("ml-1m", download=False).n_ratings == 3


def test_env_var_folder_of_another_release_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATTNREC_DATA_DIR", str(make_csv_release(tmp_path / "ml-latest-small")))
    with pytest.raises(DataError, match="ATTNREC_DATA_DIR=PATH"):
        load_dataset("ml-25m", download=False)


def test_load_dataset_missing_data_dir(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="--data-dir"):
        load_dataset("ml-100k", data_dir=tmp_path)


def test_load_dataset_downloads_when_not_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = make_ml100k(tmp_path / "cache" / "ml-100k")
    asked: list[str] = []

    def fake_download(name: str) -> Path:
        asked.append(name)
        return folder

    monkeypatch.delenv("ATTNREC_DATA_DIR", raising=False)
    monkeypatch.setattr("attnrec.data.download.download_movielens", fake_download)
    assert load_dataset("ml-100k").n_ratings == 3
    assert asked == ["ml-100k"]


def test_load_dataset_unknown_name_and_release_options(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="ml-100k"):
        load_dataset("ml-999k")
    with pytest.raises(ConfigError, match="user_col"):
        load_dataset(make_ml100k(tmp_path / "ml-100k"), user_col="x")


def test_folder_without_known_files(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(DataError, match=r"none of u\.data"):
        load_dataset(tmp_path)


def test_env_var_is_read_at_call_time() -> None:
    assert loaders_module.DATA_DIR_ENV == "ATTNREC_DATA_DIR"
    assert not hasattr(loaders_module, "DATA_DIR")


# --------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_real_ml100k(data_root: Path) -> None:
    folder = data_root / "ml-100k"
    if not folder.is_dir():
        pytest.skip(f"{folder} missing")
    dataset = load_dataset("ml-100k", data_dir=data_root)
    assert (dataset.n_users, dataset.n_items, dataset.n_ratings) == (943, 1682, 100_000)
    assert dataset.rating_scale == (1.0, 5.0)
    assert dataset.title(1) == "Toy Story (1995)"
    assert dataset.title("1") == "Toy Story (1995)"
    assert dataset.timestamps is not None


@pytest.mark.realdata
def test_real_ml_latest_small_scale_and_titles(data_root: Path) -> None:
    folder = data_root / "ml-latest-small"
    if not folder.is_dir():
        pytest.skip(f"{folder} missing")
    dataset = load_dataset("ml-latest-small", data_dir=data_root)
    assert dataset.rating_scale == (0.5, 5.0)
    assert dataset.title(1) == "Toy Story (1995)"
    assert np.isin(dataset.ratings.data, np.arange(1, 11) / 2).all()


@pytest.mark.realdata
def test_real_ml_latest_small_counts_match_the_file(data_root: Path) -> None:
    """Counts equal an independent read of the file; rated items absent from movies.csv
    (the shared copy has one, item 999999) are kept, untitled, with a warning."""
    folder = data_root / "ml-latest-small"
    with (folder / "ratings.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with (folder / "movies.csv").open(newline="", encoding="utf-8") as handle:
        titled = {row["movieId"] for row in csv.DictReader(handle)}
    untitled = {row["movieId"] for row in rows} - titled
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = load_dataset(folder)
    assert dataset.n_ratings == len(rows)
    assert dataset.n_users == len({row["userId"] for row in rows})
    assert dataset.n_items == len({row["movieId"] for row in rows})
    if untitled:
        messages = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
        assert any(f"{len(untitled)} rated item(s) have no title" in m for m in messages)
        assert all(dataset.title(item) is None for item in untitled)

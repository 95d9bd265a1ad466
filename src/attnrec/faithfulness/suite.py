"""The whole faithfulness suite: ``run_suite(run, ...)`` and the battery it runs on each model.

The battery (permutation, uniform and Dirichlet replacement, adversarial search, agreement with
leave-one-out and gradient x input, ERASER, explanation metrics) runs on the run's own model,
trained on all the data, for a seeded sample of users. For held-out accuracy and robustness the
suite splits the ratings itself (seeded per-user 80/20), trains the run's architecture on the
80% for every lambda of the ablation and every seed, and runs the battery again on each
lambda's model; held-out NDCG@10 under each attention replacement is measured there.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from attnrec.data.dataset import RatingDataset
from attnrec.errors import ConfigError
from attnrec.explain.delta_rule import DEFAULT_DELTA
from attnrec.faithfulness.adversarial import AdversarialConfig, adversarial_test
from attnrec.faithfulness.agreement import agreement_test
from attnrec.faithfulness.eraser import LEVELS, eraser_test
from attnrec.faithfulness.explanation_metrics import explanation_test
from attnrec.faithfulness.permutation import permutation_test
from attnrec.faithfulness.protocol import AttentionModel, NetworkAdapter
from attnrec.faithfulness.replacement import heldout_ndcg, replacement_test
from attnrec.faithfulness.robustness import (
    HoldoutModel,
    seed_jsd,
    split_dataset,
    train_holdout_model,
)
from attnrec.faithfulness.stats import StatTest, holm, wilcoxon_one_sample, wilcoxon_paired

logger = logging.getLogger(__name__)

#: short names of the two families in column names
SHORT = {"recommendation": "rec", "similarity": "sim"}


class SuiteConfig(BaseModel):
    """Settings of the faithfulness suite."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    sample_users: int | None = Field(100, ge=2)
    """Users the battery runs on, a seeded random sample; None runs on every user."""

    n_permutations: int = Field(100, ge=1)
    """Permutations per user and family (Jain and Wallace use 100)."""

    n_dirichlet: int = Field(100, ge=1)
    """Random Dirichlet draws per user and family."""

    concentration: float = Field(1.0, gt=0.0)
    """Concentration of the Dirichlet draws (1: uniform over the simplex)."""

    epsilon: float = Field(0.05, gt=0.0, lt=1.0)
    """Largest TVD of y^ an adversarial attention may cause."""

    adversarial_restarts: int = Field(3, ge=1)
    """Random restarts of the adversarial search."""

    adversarial_steps: int = Field(30, ge=1)
    """Adam steps per restart of the adversarial search."""

    loo_max_items: int | None = Field(30, ge=2)
    """Leave-one-out removes at most this many (random) rated items per user; None: all."""

    eraser_levels: tuple[float, ...] = LEVELS
    """Rationale sizes of ERASER, in percent of the user's rated items."""

    eraser_random: int = Field(3, ge=1)
    """Random rationales per level, the baseline of ERASER."""

    n: int = Field(10, ge=1)
    """Length of the top-n list of the explanation metrics (and the NDCG cut-off)."""

    delta: float = Field(DEFAULT_DELTA, ge=0.0, le=1.0)
    """Delta of the delta-rule (attention and rating thresholds) for the explanations."""

    seeds: tuple[int, ...] = (0, 1, 2)
    """Training seeds of the seed-variance study; the first also trains the lambda models.
    Empty: no retraining at all (no held-out NDCG, no ablation)."""

    lambdas: tuple[float, ...] = (0.0, 1.0, 10.0)
    """Values of lambda of the ablation, each trained on the 80% split."""

    retrain_epochs: int | None = Field(None, ge=1)
    """Cap on the epochs of the retrained models (None: the run's own TrainConfig); a time
    saver that leaves the retrained models less trained than the run's."""

    holdout_fraction: float = Field(0.2, gt=0.0, lt=1.0)
    """Share of each user's ratings the suite holds out for NDCG."""

    ndcg_draws: int = Field(5, ge=1)
    """Random draws averaged per user for the held-out NDCG of random replacements."""

    seed: int = 0
    """Seed of the user sample, the split and every random draw of the battery."""


@dataclass
class Battery:
    """The battery's results on one model, for the sampled users."""

    label: str
    per_user: pd.DataFrame
    """One row per sampled user, every per-user measure as a column."""
    elements: pd.DataFrame
    """Agreement values per attended element (scatter of attention vs leave-one-out)."""
    eraser_curve: pd.DataFrame
    """ERASER per user, level and method."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of each test."""


@dataclass
class SuiteResult:
    """Everything the suite measured; ``report.write_report`` turns it into files."""

    config: SuiteConfig
    run_label: str
    dataset: str
    users: np.ndarray
    batteries: dict[str, Battery]
    """By model label: "run" and "lambda=<value>"."""
    ndcg: dict[str, pd.DataFrame]
    """Held-out NDCG per user under each replacement, by model label."""
    seed_variance: pd.DataFrame | None
    """Per-user JSD between seeds' coefficients (None without at least two seeds)."""
    holdout_models: list[dict[str, Any]]
    """Lambda, seed, best epoch and seconds of every retrained model."""
    tests: list[StatTest] = field(default_factory=list)
    headline: pd.DataFrame | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    raw_ids: list[Any] = field(default_factory=list)


def run_battery(
    model: AttentionModel, users: np.ndarray, config: SuiteConfig, label: str
) -> Battery:
    """Every attention and explanation test on one model for ``users``."""
    seconds: dict[str, float] = {}
    parts: list[pd.DataFrame] = []

    def timed(name: str, call: Any) -> Any:
        started = time.perf_counter()
        result = call()
        seconds[name] = time.perf_counter() - started
        logger.info("%s: %s took %.1fs", label, name, seconds[name])
        return result

    # permutation and replacement: output change per family
    permuted = timed(
        "permutation", lambda: permutation_test(model, users, config.n_permutations, config.seed)
    )
    replaced = timed(
        "replacement",
        lambda: replacement_test(
            model, users, config.n_dirichlet, config.concentration, config.seed
        ),
    )
    for family, frame in permuted.items():
        parts.append(_prefixed(frame, f"perm_{SHORT[family]}", keep_attention=True))
    for kind, families in replaced.items():
        for family, frame in families.items():
            parts.append(_prefixed(frame, f"{kind}_{SHORT[family]}"))

    # adversarial search
    adversarial = AdversarialConfig(
        epsilon=config.epsilon,
        restarts=config.adversarial_restarts,
        steps=config.adversarial_steps,
    )
    found = timed("adversarial", lambda: adversarial_test(model, users, adversarial, config.seed))
    for family, frame in found.items():
        columns = ["adversarial_jsd", "adversarial_tvd", "adversarial_max_attention"]
        renamed = frame[["user", *columns]].rename(
            columns={c: c.replace("adversarial", f"adv_{SHORT[family]}") for c in columns}
        )
        parts.append(renamed)

    # agreement, ERASER, explanation metrics
    agreement, elements = timed(
        "agreement", lambda: agreement_test(model, users, config.loo_max_items, config.seed)
    )
    eraser, curve = timed(
        "eraser",
        lambda: eraser_test(model, users, config.eraser_levels, config.eraser_random, config.seed),
    )
    explanations = timed(
        "explanations",
        lambda: explanation_test(model, users, config.n, config.delta, config.seed),
    )
    parts += [agreement, eraser.add_prefix("eraser_").rename(columns={"eraser_user": "user"})]
    parts.append(explanations)

    per_user = parts[0]
    for part in parts[1:]:
        per_user = per_user.merge(part, on="user", how="left")
    return Battery(label, per_user, elements, curve, seconds)


def _prefixed(frame: pd.DataFrame, prefix: str, keep_attention: bool = False) -> pd.DataFrame:
    """The measures of an intervention frame, renamed ``<prefix>_<measure>``."""
    measures = ["tvd", "jsd", "top10_overlap", "top1_change_rate"]
    out = frame[["user", *measures]].rename(columns={m: f"{prefix}_{m}" for m in measures})
    if keep_attention:
        family = prefix.split("_")[-1]
        out[f"max_attention_{family}"] = frame["max_attention"].to_numpy()
        out[f"n_attended_{family}"] = frame["n_attended"].to_numpy()
    return out


def draw_users(profiles: Any, size: int | None, seed: int) -> np.ndarray:
    """A sorted, seeded random sample of users with at least two rated items."""
    eligible = np.flatnonzero(np.diff(profiles.indptr) >= 2)
    if size is None or size >= len(eligible):
        return eligible
    return np.sort(np.random.default_rng(seed).choice(eligible, size, replace=False))


def run_suite(
    run: Any,
    dataset: RatingDataset | None = None,
    out: Path | str | None = None,
    sample_users: int | None = None,
    seeds: tuple[int, ...] | None = None,
    lambdas: tuple[float, ...] | None = None,
    config: SuiteConfig | None = None,
    **settings: Any,
) -> SuiteResult:
    """Run the faithfulness suite on a run folder (or a fitted recommender) and write a report.

    Args:
        run: a run folder written by ``attnrec.runs.write_run``, or a fitted
            ``DualAttentionRecommender``.
        dataset: the ratings to split for held-out NDCG and retraining; default: the run's own
            (a run folder stores its whole rating matrix). It must have the run's users and items.
        out: folder for report.md, figures and data files; None writes nothing.
        sample_users, seeds, lambdas: shortcuts for the SuiteConfig fields of the same name.
        config: every other setting (defaults: ``SuiteConfig()``).
        **settings: any SuiteConfig field, e.g. ``n_permutations=20``.

    Returns:
        The SuiteResult (also written to ``out`` when given).
    """
    started = time.perf_counter()
    config = _resolve_config(config, sample_users, seeds, lambdas, settings)
    model = _load(run)
    dataset = dataset or model.dataset_
    _check_dataset(model, dataset)
    label = str(run) if isinstance(run, (str, Path)) else "in-memory model"

    # the battery on the run's own model
    adapter = NetworkAdapter.from_recommender(model)
    users = sample_users_of(adapter, config)
    logger.info("faithfulness battery on %d users of %s", len(users), dataset.name)
    batteries = {"run": run_battery(adapter, users, config, "run")}
    timings = {"battery run": sum(batteries["run"].seconds.values())}

    # retrained models on the suite's own split: every lambda, then every seed
    ndcg: dict[str, pd.DataFrame] = {}
    variance = None
    trained: dict[tuple[float, int], HoldoutModel] = {}
    if config.seeds:
        split = split_dataset(dataset, config.holdout_fraction, config.seed)
        base_lambda = float(model.model_config.alignment_lambda)

        def holdout(lam: float, seed: int) -> HoldoutModel:
            key = (float(lam), int(seed))
            if key not in trained:
                tick = time.perf_counter()
                settings = model.train_config
                if config.retrain_epochs is not None:
                    settings = settings.model_copy(update={"epochs": config.retrain_epochs})
                trained[key] = train_holdout_model(split, model.model_config, settings, lam, seed)
                timings[f"train lambda={lam:g} seed={seed}"] = time.perf_counter() - tick
            return trained[key]

        first = config.seeds[0]
        for lam in config.lambdas:
            fitted = holdout(lam, first)
            name = f"lambda={lam:g}"
            tick = time.perf_counter()
            ndcg[name] = heldout_ndcg(
                fitted.adapter,
                np.arange(dataset.n_users),
                split.heldout,
                config.n,
                config.ndcg_draws,
                config.concentration,
                config.seed,
            )
            batteries[name] = run_battery(fitted.adapter, users, config, name)
            timings[f"battery {name}"] = time.perf_counter() - tick
        for seed in config.seeds:
            fitted = holdout(base_lambda, seed)
            name = f"lambda={base_lambda:g} seed={seed}"
            if seed != first or base_lambda not in [float(v) for v in config.lambdas]:
                ndcg[name] = heldout_ndcg(
                    fitted.adapter,
                    np.arange(dataset.n_users),
                    split.heldout,
                    config.n,
                    replacements=False,
                )
        if len(config.seeds) >= 2:
            tick = time.perf_counter()
            adapters = [trained[(base_lambda, s)].adapter for s in config.seeds]
            variance = seed_jsd(adapters, users)
            timings["seed variance"] = time.perf_counter() - tick

    result = SuiteResult(
        config=config,
        run_label=label,
        dataset=dataset.name,
        users=users,
        batteries=batteries,
        ndcg=ndcg,
        seed_variance=variance,
        holdout_models=[
            {
                "lambda": m.alignment_lambda,
                "seed": m.seed,
                "best_epoch": m.best_epoch,
                "seconds": m.seconds,
            }
            for m in trained.values()
        ],
        raw_ids=[dataset.users.raw(u) for u in users],
    )
    result.tests = holm(statements(result, float(model.model_config.alignment_lambda)))
    result.headline = headline_table(result)
    timings["total"] = time.perf_counter() - started
    result.seconds = timings
    if out is not None:
        from attnrec.faithfulness.report import write_report

        write_report(result, Path(out))
    logger.info("faithfulness suite done in %.1fs", timings["total"])
    return result


def sample_users_of(model: AttentionModel, config: SuiteConfig) -> np.ndarray:
    """The suite's user sample for a model (users with at least two rated items)."""
    return draw_users(model.profiles, config.sample_users, config.seed)


def _resolve_config(
    config: SuiteConfig | None,
    sample: int | None,
    seeds: tuple[int, ...] | None,
    lambdas: tuple[float, ...] | None,
    settings: dict[str, Any],
) -> SuiteConfig:
    """One SuiteConfig from a base config, the shortcuts and keyword settings."""
    fields = dict(config.model_dump() if config else {})
    if sample is not None:
        fields["sample_users"] = sample
    if seeds is not None:
        fields["seeds"] = tuple(seeds)
    if lambdas is not None:
        fields["lambdas"] = tuple(lambdas)
    for name, value in settings.items():
        if name not in SuiteConfig.model_fields:
            known = ", ".join(sorted(SuiteConfig.model_fields))
            raise ConfigError(f"unknown faithfulness setting {name!r}; known: {known}")
        fields[name] = value
    try:
        return SuiteConfig(**fields)
    except ValueError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        raise ConfigError("; ".join(lines[1:3]) if len(lines) > 1 else str(error)) from None


def _load(run: Any) -> Any:
    """A fitted DualAttentionRecommender from a run folder or as given."""
    if isinstance(run, (str, Path)):
        from attnrec.runs import load_run

        return load_run(run)
    run._check_fitted()
    return run


def _check_dataset(model: Any, dataset: RatingDataset) -> None:
    """The dataset must have the run's users and items, in the same order."""
    if (dataset.n_users, dataset.n_items) != (model.dataset_.n_users, model.dataset_.n_items):
        raise ConfigError(
            f"dataset {dataset.name!r} has {dataset.n_users} users and {dataset.n_items} items, "
            f"the run has {model.dataset_.n_users} and {model.dataset_.n_items}; "
            "give the data the run was trained on"
        )
    if dataset.users.raw_ids != model.dataset_.users.raw_ids:
        raise ConfigError(
            f"dataset {dataset.name!r} lists its users in another order than the run; "
            "give the data the run was trained on"
        )


# ----------------------------------------------------------------------------------------------
# statements and the headline table


def statements(result: SuiteResult, base_lambda: float) -> list[StatTest]:
    """Every statement of the report, each with its Wilcoxon signed-rank test."""
    eps = result.config.epsilon
    tests: list[StatTest] = []
    for name, battery in result.batteries.items():
        u = battery.per_user
        tag = f"[{name}] "

        # the paper's claim: permuting the coefficients changes y^ (at all, and beyond epsilon)
        for family in ("rec", "sim"):
            tests.append(
                wilcoxon_one_sample(
                    u[f"perm_{family}_tvd"],
                    0.0,
                    tag + f"permuting alpha_{family} changes y^ (the paper's claim)",
                    "median TVD(permuted) - 0",
                )
            )
            tests.append(
                wilcoxon_one_sample(
                    u[f"perm_{family}_top1_change_rate"],
                    0.0,
                    tag + f"permuting alpha_{family} changes the top-1 item",
                    "top-1 change rate - 0",
                )
            )
            tests.append(
                wilcoxon_one_sample(
                    u[f"perm_{family}_tvd"],
                    eps,
                    tag + f"permuting alpha_{family} moves y^ by more than epsilon in TVD",
                    f"median TVD(permuted) - {eps:g}",
                )
            )
        tests.append(
            wilcoxon_paired(
                u["perm_rec_tvd"],
                u["perm_sim_tvd"],
                tag + "permuting alpha_rec moves y^ differently from permuting alpha_sim",
                "TVD(perm rec) - TVD(perm sim)",
                "two-sided",
            )
        )
        tests.append(
            wilcoxon_paired(
                u["perm_rec_tvd"],
                u["uniform_rec_tvd"],
                tag + "a permutation of alpha_rec moves y^ more than making it uniform",
                "TVD(perm rec) - TVD(uniform rec)",
            )
        )

        # agreement with other importance measures
        for column, words in (
            ("tau_loo_tvd", "alpha_rec ranks rated items like leave-one-out (TVD of y^)"),
            ("tau_loo_score", "alpha_rec ranks rated items like leave-one-out (top score)"),
            ("tau_grad_input", "alpha_rec ranks rated items like gradient x input"),
            ("tau_sim_loo_tvd", "alpha_sim ranks neighbours like their ablation (TVD)"),
        ):
            tests.append(wilcoxon_one_sample(u[column], 0.0, tag + words, "Kendall tau - 0"))

        # ERASER against random rationales
        tests.append(
            wilcoxon_paired(
                u["eraser_comprehensiveness_attention"],
                u["eraser_comprehensiveness_random"],
                tag + "removing the most attended items lowers y^_top more than random items",
                "AOPC comprehensiveness(attention - random)",
            )
        )
        tests.append(
            wilcoxon_paired(
                u["eraser_sufficiency_attention"],
                u["eraser_sufficiency_random"],
                tag + "the most attended items alone keep y^_top better than random items",
                "AOPC sufficiency(attention - random)",
                "less",
            )
        )

        # explanations
        tests.append(
            wilcoxon_paired(
                u["fidelity_attention"],
                u["fidelity_cosine"],
                tag + "attention-weighted neighbour votes reproduce the top-n better than cosine",
                "fidelity(attention) - fidelity(cosine)",
            )
        )
        tests.append(
            wilcoxon_paired(
                u["pn"],
                u["pn_random"],
                tag + "removing the supporters drops the item more often than random neighbours",
                "PN - PN(random)",
            )
        )

        # adversarial attention against natural seed variation
        if (
            result.seed_variance is not None
            and name == f"lambda={base_lambda:g}"
            and result.config.seeds
        ):
            merged = u.merge(result.seed_variance, on="user")
            tests.append(
                wilcoxon_paired(
                    merged["adv_rec_jsd"],
                    merged["seed_jsd_rec"],
                    tag + f"alpha_rec within TVD {eps:g} can differ more than between seeds",
                    "JSD(adversarial) - JSD(other seeds)",
                )
            )

    # held-out accuracy of each replacement against the learned coefficients
    for name, frame in result.ndcg.items():
        if "ndcg_uniform_rec" not in frame:
            continue
        for column in [c for c in frame.columns if c.startswith("ndcg_") and c != "ndcg_learned"]:
            kind, family = column.split("_")[1:]
            tests.append(
                wilcoxon_paired(
                    frame["ndcg_learned"],
                    frame[column],
                    f"[{name}] learned alpha_{family} ranks held-out items better than {kind}",
                    f"NDCG@{result.config.n}(learned - {kind})",
                )
            )

    # the lambda ablation, paired by user
    labels = [n for n in result.batteries if n.startswith("lambda=")]
    if len(labels) >= 2:
        low = labels[0]
        for other in labels[1:]:
            a, b = result.batteries[other].per_user, result.batteries[low].per_user
            for column, words in (
                ("perm_rec_tvd", "permutation of alpha_rec moves y^"),
                ("tau_loo_tvd", "alpha_rec agrees with leave-one-out"),
                ("eraser_comprehensiveness_attention_norm", "the attended items are comprehensive"),
            ):
                tests.append(
                    wilcoxon_paired(
                        a[column],
                        b[column],
                        f"[{other} vs {low}] {words} differently",
                        f"{column}({other} - {low})",
                        "two-sided",
                    )
                )
            na, nb = result.ndcg[other], result.ndcg[low]
            tests.append(
                wilcoxon_paired(
                    na["ndcg_learned"],
                    nb["ndcg_learned"],
                    f"[{other} vs {low}] held-out NDCG@{result.config.n} differs",
                    f"NDCG({other} - {low})",
                    "two-sided",
                )
            )
    return tests


COMP_ATTENTION = "eraser_comprehensiveness_attention_norm"
COMP_RANDOM = "eraser_comprehensiveness_random_norm"

#: rows of the headline table: (label, source, column, statistic)
HEADLINE_ROWS: list[tuple[str, str, str, str]] = [
    ("held-out NDCG@10, learned attention", "ndcg", "ndcg_learned", "mean"),
    ("held-out NDCG@10, alpha_rec uniform", "ndcg", "ndcg_uniform_rec", "mean"),
    ("held-out NDCG@10, alpha_rec Dirichlet", "ndcg", "ndcg_dirichlet_rec", "mean"),
    ("held-out NDCG@10, alpha_rec permuted", "ndcg", "ndcg_permuted_rec", "mean"),
    ("held-out NDCG@10, alpha_sim uniform", "ndcg", "ndcg_uniform_sim", "mean"),
    ("held-out NDCG@10, alpha_sim Dirichlet", "ndcg", "ndcg_dirichlet_sim", "mean"),
    ("held-out NDCG@10, alpha_sim permuted", "ndcg", "ndcg_permuted_sim", "mean"),
    ("max alpha_rec (median user)", "user", "max_attention_rec", "median"),
    ("1 / size of N(u) (median user)", "user", "inverse_n_rec", "median"),
    ("permuted alpha_rec: median TVD of y^", "user", "perm_rec_tvd", "median"),
    ("permuted alpha_rec: median JSD of y^", "user", "perm_rec_jsd", "median"),
    ("permuted alpha_rec: top-10 overlap", "user", "perm_rec_top10_overlap", "median"),
    ("permuted alpha_rec: top-1 change rate", "user", "perm_rec_top1_change_rate", "mean"),
    ("uniform alpha_rec: median TVD of y^", "user", "uniform_rec_tvd", "median"),
    ("Dirichlet alpha_rec: median TVD of y^", "user", "dirichlet_rec_tvd", "median"),
    ("permuted alpha_sim: median TVD of y^", "user", "perm_sim_tvd", "median"),
    ("permuted alpha_sim: median JSD of y^", "user", "perm_sim_jsd", "median"),
    ("permuted alpha_sim: top-10 overlap", "user", "perm_sim_top10_overlap", "median"),
    ("permuted alpha_sim: top-1 change rate", "user", "perm_sim_top1_change_rate", "mean"),
    ("adversarial alpha_rec: median JSD at TVD<=eps", "user", "adv_rec_jsd", "median"),
    ("adversarial alpha_sim: median JSD at TVD<=eps", "user", "adv_sim_jsd", "median"),
    ("tau(alpha_rec, leave-one-out TVD)", "user", "tau_loo_tvd", "median"),
    ("tau(alpha_rec, leave-one-out top score)", "user", "tau_loo_score", "median"),
    ("tau(alpha_rec, gradient x input)", "user", "tau_grad_input", "median"),
    ("tau(alpha_sim, ablation TVD)", "user", "tau_sim_loo_tvd", "median"),
    ("ERASER comprehensiveness (norm.), attention", "user", COMP_ATTENTION, "mean"),
    ("ERASER comprehensiveness (norm.), random", "user", COMP_RANDOM, "mean"),
    ("ERASER sufficiency (norm.), attention", "user", "eraser_sufficiency_attention_norm", "mean"),
    ("ERASER sufficiency (norm.), random", "user", "eraser_sufficiency_random_norm", "mean"),
    ("mean explainability precision@10", "user", "mep", "mean"),
    ("mean explainability recall@10", "user", "mer", "mean"),
    ("model fidelity@10, attention-weighted votes", "user", "fidelity_attention", "mean"),
    ("model fidelity@10, cosine-weighted votes", "user", "fidelity_cosine", "mean"),
    ("probability of necessity (supporters)", "user", "pn", "mean"),
    ("probability of necessity (random neighbours)", "user", "pn_random", "mean"),
    ("probability of sufficiency (supporters)", "user", "ps", "mean"),
]


def headline_table(result: SuiteResult) -> pd.DataFrame:
    """Rows: the measures of ``HEADLINE_ROWS``; columns: the models."""
    columns: dict[str, list[float]] = {}
    for name, battery in result.batteries.items():
        users = battery.per_user.assign(inverse_n_rec=1.0 / battery.per_user["n_attended_rec"])
        values = []
        for _label, source, column, statistic in HEADLINE_ROWS:
            frame = users if source == "user" else result.ndcg.get(name)
            if frame is None or column not in frame:
                values.append(float("nan"))
                continue
            series = frame[column].astype(float)
            values.append(float(series.median() if statistic == "median" else series.mean()))
        columns[name] = values
    index = [f"{label} ({statistic})" for label, _, _, statistic in HEADLINE_ROWS]
    return pd.DataFrame(columns, index=pd.Index(index, name="measure"))

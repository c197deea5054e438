"""Regenerate the synthetic sample files of c2c_analysis, byte for byte.

    python data/sample/make_sample_data.py            # rewrites data/sample/*.csv
    python data/sample/make_sample_data.py --out DIR  # writes them to DIR instead

Writes ``outcomes.csv``, ``students.csv`` and ``indicators.csv``. Reads
``tacoma_published.csv`` (real published figures, kept as printed) so that Tacoma's modelled
graduation, enrollment and completion series agree with every published figure used, to the
precision printed. Everything else is synthetic: five partnerships (four fictional) whose
students are simulated one by one and then counted, so that every dimension of a year adds up
to the same cohort. See README.md in this folder for what is real and what is modelled.

The same seed, numpy and pandas give the same bytes; tests/test_datasets.py checks it.
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from c2c_analysis.schema import COLUMNS, NOT_REPORTED, RACE_ETHNICITY_2007

SEED = 20_261_122
YEARS = tuple(range(2010, 2020))
HERE = Path(__file__).resolve().parent
SYNTHETIC = "synthetic (data/sample/make_sample_data.py)"
MODELLED = (
    "modelled Tacoma series (counts and unpublished rates modelled; see data/sample/README.md)"
)

RACES = RACE_ETHNICITY_2007  # the seven categories, in the schema's order
# Logit effects of race on every outcome: the opportunity gaps the sample should show.
RACE_EFFECT = dict(zip(RACES, (-0.8, 0.3, -0.6, -0.5, -0.6, 0.0, -0.2), strict=True))

# partnership: (students per grade in 2010, yearly growth, race shares, low-income share,
#               English learner share)
PARTNERSHIPS = {
    "tacoma": (2080, 0.004, (0.02, 0.11, 0.18, 0.15, 0.03, 0.42, 0.09), 0.60, 0.08),
    "harbor_city": (6400, 0.006, (0.01, 0.09, 0.25, 0.28, 0.01, 0.31, 0.05), 0.65, 0.15),
    "riverton": (1300, 0.010, (0.01, 0.04, 0.08, 0.25, 0.01, 0.55, 0.06), 0.50, 0.10),
    "lakeside_county": (650, -0.004, (0.02, 0.03, 0.03, 0.15, 0.01, 0.70, 0.06), 0.42, 0.05),
    "north_valley": (170, -0.010, (0.10, 0.01, 0.01, 0.22, 0.004, 0.616, 0.04), 0.58, 0.12),
}
# outcome: (2010 all-student rate before effects, logit trend a year by partnership)
OUTCOME_BASE = {
    "kindergarten_readiness": 0.47,
    "early_grade_reading": 0.60,
    "middle_grade_math": 0.50,
    "hs_graduation": 0.80,
    "postsecondary_enrollment": 0.62,
    "postsecondary_completion": 0.55,
    "employment": 0.70,
}
TREND = {
    "tacoma": 0.04,
    "harbor_city": 0.02,
    "riverton": 0.0,
    "lakeside_county": 0.01,
    "north_valley": -0.015,
}
LEVEL = {
    "tacoma": -0.1,
    "harbor_city": -0.2,
    "riverton": 0.1,
    "lakeside_county": 0.25,
    "north_valley": -0.05,
}
ASSESSED = ("early_grade_reading", "middle_grade_math")  # the state test changed in 2015

# Years without rows: an assessment that began in 2012, an outcome tracked from 2014, a
# completion not yet observable, and two years the partnerships could not report.
MISSING = {
    ("tacoma", "kindergarten_readiness", 2010),
    ("tacoma", "kindergarten_readiness", 2011),
    ("riverton", "middle_grade_math", 2015),
    ("lakeside_county", "early_grade_reading", 2013),
    *((p, "employment", y) for p in PARTNERSHIPS for y in YEARS if y < 2014),
    *((p, "postsecondary_completion", 2019) for p in PARTNERSHIPS),
}
# The (fictional) state source withheld north_valley's cells under 10 students, 2010-2012.
SOURCE_SUPPRESSED = ("north_valley", (2010, 2011, 2012), 10)

# Tacoma's modelled four-year graduation rates (percent) where nothing was published; the
# published figures (tacoma_published.csv) replace these wherever they exist. The "all"
# series is matched exactly; White, Asian, Two or more races and Not reported absorb the
# difference between it and the groups held to a target.
TACOMA_MODEL = {
    "All students": dict(
        zip(YEARS, (55.0, 61.7, 67.5, 72.6, 78.3, 82.6, 85.0, 86.1, 89.3, 89.6), strict=True)
    ),
    "Black": dict(
        zip(YEARS, (47.0, 53.0, 59.4, 66.0, 73.8, 81.0, 83.0, 84.0, 87.0, 87.5), strict=True)
    ),
    "American Indian/Alaska Native": dict(
        zip(YEARS, (38.0, 43.0, 48.6, 58.0, 68.2, 72.0, 75.0, 77.0, 80.0, 80.0), strict=True)
    ),
    "Hispanic/Latino": dict(
        zip(YEARS, (46.0, 52.0, 57.5, 62.0, 67.0, 80.0, 82.0, 83.5, 87.0, 87.5), strict=True)
    ),
    "Native Hawaiian/Other Pacific Islander": dict(
        zip(YEARS, (44.0, 49.0, 54.0, 62.0, 70.0, 80.0, 80.0, 82.0, 85.0, 85.0), strict=True)
    ),
    "White": dict(
        zip(YEARS, (61.0, 67.0, 72.0, 77.0, 81.0, 84.0, 87.0, 88.0, 91.0, 91.0), strict=True)
    ),
    "Asian": dict(
        zip(YEARS, (63.0, 69.0, 74.0, 79.0, 83.0, 87.0, 89.0, 90.0, 92.0, 92.0), strict=True)
    ),
    "Two or more races": dict(
        zip(YEARS, (55.0, 61.0, 66.0, 71.0, 76.0, 81.0, 84.0, 85.0, 88.0, 88.0), strict=True)
    ),
    NOT_REPORTED: dict.fromkeys(YEARS, 60.0),
}
TACOMA_ABSORB = ("White", "Asian", "Two or more races", NOT_REPORTED)
TACOMA_ENROLLMENT = dict(zip(YEARS, (58, 57, 56, 55, 54, 53, 51, 49, 50, 51), strict=True))
TACOMA_COMPLETION = dict(zip(YEARS, (57, 57, 56, 56, 55, 55, 54, 53, 53, 52), strict=True))
PUBLISHED_GROUP = {  # tacoma_published.csv group names -> ours
    "All students": "All students",
    "Low income (free/reduced-price meals)": "Low income",
    "Students with disabilities (special education)": "Students with disabilities",
}
# Where sources conflict (see tacoma_published.README.md) the figure the README recommends.
PUBLISHED_SOURCES = {"S01", "S03", "S04", "S06", "S09", "S12", "S14", "S19"}
EXCLUDED_CONFLICTS = {
    ("All students", 2010, "S13"),
    ("Black", 2012, "S06"),
    ("Hispanic/Latino", 2012, "S06"),
}

SCHOOL_DAYS = {9: 15, 10: 21, 11: 17, 12: 15, 1: 19, 2: 18, 3: 20, 4: 17, 5: 21, 6: 12}
STRATEGY_START = pd.Timestamp("2017-01-01")  # tacoma's attendance and ninth-grade strategy


# --- published targets ----------------------------------------------------------------------


def published_targets(path: Path) -> dict[tuple[str, str, int], tuple[Decimal, str]]:
    """(measure, our group, class_of) -> (value in percent as printed, source id)."""
    table = pd.read_csv(path, dtype=str)
    tacoma = table[table["geography"].str.startswith("Tacoma")]
    out: dict[tuple[str, str, int], tuple[Decimal, str]] = {}
    for row in tacoma.itertuples(index=False):
        group = PUBLISHED_GROUP.get(row.student_group, row.student_group)
        year = int(row.class_of)
        if (
            row.source_id not in PUBLISHED_SOURCES
            or (group, year, row.source_id) in EXCLUDED_CONFLICTS
        ):
            continue
        if year not in YEARS:
            continue
        out[(row.measure, group, year)] = (Decimal(row.value_pct), row.source_id)
    return out


def agrees(k: int, n: int, printed: Decimal) -> bool:
    """Does k/n, in percent, print as ``printed`` at the precision it was printed with?"""
    step = Decimal(1).scaleb(printed.as_tuple().exponent)
    return abs(Decimal(100 * k) / Decimal(n) - printed) <= step / 2


def exact_count(n: int, printed: Decimal) -> int | None:
    k = int((printed * n / 100).to_integral_value())
    for candidate in (k, k - 1, k + 1):
        if 0 <= candidate <= n and agrees(candidate, n, printed):
            return candidate
    return None


def representable_n(n: int, printed: Decimal) -> tuple[int, int]:
    """The nearest cohort size to ``n`` for which some count prints as ``printed``."""
    for step in range(0, 200):
        for size in (n + step, n - step):
            if size > 0 and (k := exact_count(size, printed)) is not None:
                return size, k
    raise ValueError(f"no cohort size near {n} gives {printed}%")


# --- simulation -----------------------------------------------------------------------------


def race_counts(rng: np.random.Generator, partnership: str, year: int, n: int) -> dict[str, int]:
    shares = np.array(PARTNERSHIPS[partnership][2], dtype=float)
    drift = year - YEARS[0]
    shares[3] *= 1 + 0.025 * drift  # the Hispanic/Latino share grows
    shares[5] *= 1 - 0.012 * drift  # the White share shrinks
    shares = np.append(shares / shares.sum() * 0.997, 0.003)  # a few with race not reported
    counts = rng.multinomial(n, shares)
    return dict(zip((*RACES, NOT_REPORTED), counts.tolist(), strict=True))


def people(
    rng: np.random.Generator,
    partnership: str,
    races: dict[str, int],
    *,
    low_income: int | None = None,
    disability: int | None = None,
) -> pd.DataFrame:
    """Students of one cohort with their demographics and the traits outcomes depend on.

    ``low_income`` and ``disability``, when given, are exact counts (Tacoma's calibration
    needs cohort sizes that can show the published rates); otherwise each is drawn.
    """
    race = np.repeat(np.array(list(races), dtype=object), list(races.values()))
    n = len(race)
    effect = np.array([RACE_EFFECT.get(r, 0.0) for r in race])
    li_share = PARTNERSHIPS[partnership][3]
    li_weight = expit(logit(li_share) - 1.2 * effect)
    el_weight = PARTNERSHIPS[partnership][4] * np.where(
        np.isin(race, ["Hispanic/Latino", "Asian", "Native Hawaiian/Other Pacific Islander"]),
        2.6,
        0.45,
    )

    def exact(count: int, weight: np.ndarray) -> np.ndarray:
        chosen = rng.choice(n, size=count, replace=False, p=weight / weight.sum())
        flag = np.zeros(n, dtype=bool)
        flag[chosen] = True
        return flag

    li = exact(low_income, li_weight) if low_income is not None else rng.random(n) < li_weight
    swd_weight = np.full(n, 0.13) * np.where(li, 1.25, 0.8)
    swd = exact(disability, swd_weight) if disability is not None else rng.random(n) < swd_weight
    el = rng.random(n) < np.clip(el_weight, 0, 0.9)
    female = rng.random(n) < 0.49
    prior = rng.normal(0.3 * effect - 0.45 * li - 0.3 * el - 0.7 * swd + 0.25, 0.9)
    absence = expit(logit(0.065) + 0.35 * li + 0.3 * swd - 0.15 * prior + rng.normal(0, 0.55, n))
    return pd.DataFrame(
        {
            "race_ethnicity": race,
            "gender": np.where(female, "Female", "Male"),
            "low_income": li.astype(int),
            "english_learner": el.astype(int),
            "disability": swd.astype(int),
            "attendance_rate": np.round(1 - absence, 3),
            "prior_score": np.round(prior, 2),
        }
    )


def propensity(cohort: pd.DataFrame, outcome: str) -> np.ndarray:
    """Logit contributions of each student's traits to an outcome."""
    effect = cohort["race_ethnicity"].map(RACE_EFFECT).fillna(0.0).to_numpy()
    el = 0.9 if outcome == "kindergarten_readiness" else 0.5
    return (
        effect
        - 0.55 * cohort["low_income"].to_numpy()
        - el * cohort["english_learner"].to_numpy()
        - 0.9 * cohort["disability"].to_numpy()
        + 0.2 * (cohort["gender"].to_numpy() == "Female")
        + 0.35 * cohort["prior_score"].to_numpy()
        + 6.0 * (cohort["attendance_rate"].to_numpy() - 0.93)
    )


def draw(rng: np.random.Generator, eta: np.ndarray, rate: float) -> np.ndarray:
    """Bernoulli outcomes whose expected mean is ``rate`` (intercept found by bisection)."""
    lo, hi = -10.0, 10.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if expit(mid + eta).mean() < rate else (lo, mid)
    return rng.random(len(eta)) < expit(lo + eta)


def top_k(rng: np.random.Generator, eta: np.ndarray, k: int) -> np.ndarray:
    """Exactly ``k`` successes, chosen with probability rising with ``eta`` (Gumbel top-k)."""
    flag = np.zeros(len(eta), dtype=bool)
    if k > 0:
        flag[np.argsort(-(eta + rng.gumbel(size=len(eta))), kind="stable")[:k]] = True
    return flag


def cohort_size(rng: np.random.Generator, partnership: str, year: int, outcome: str) -> int:
    base, growth = PARTNERSHIPS[partnership][:2]
    scale = {
        "kindergarten_readiness": 1.06,
        "early_grade_reading": 1.04,
        "middle_grade_math": 1.0,
    }.get(outcome, 1.0)
    return int(rng.poisson(base * scale * (1 + growth) ** (year - YEARS[0])))


def expected_rate(rng: np.random.Generator, partnership: str, outcome: str, year: int) -> float:
    shift = -0.35 if outcome in ASSESSED and year >= 2015 else 0.0
    value = (
        logit(OUTCOME_BASE[outcome])
        + LEVEL[partnership]
        + TREND[partnership] * (year - YEARS[0])
        + shift
        + rng.normal(0, 0.06)
    )
    return float(expit(value))


# --- Tacoma's calibrated graduating classes -----------------------------------------------------


def tacoma_class(
    rng: np.random.Generator, year: int, targets: dict[tuple[str, str, int], tuple[Decimal, str]]
) -> pd.DataFrame:
    grad = "four_year_graduation_rate"
    n_total = cohort_size(rng, "tacoma", year, "hs_graduation")
    races = race_counts(rng, "tacoma", year, n_total)
    goal: dict[str, int] = {}
    for race in RACES:
        if (grad, race, year) in targets:
            races[race], goal[race] = representable_n(races[race], targets[(grad, race, year)][0])
    n_total = sum(races.values())
    printed_all = tacoma_target(targets, grad, year, TACOMA_MODEL["All students"])
    while exact_count(n_total, printed_all) is None:  # grow a never-published group until it can
        races["Two or more races"] += 1
        n_total += 1
    k_all = exact_count(n_total, printed_all)
    for race in RACES:
        if race not in goal and race not in TACOMA_ABSORB:
            goal[race] = round(races[race] * TACOMA_MODEL[race][year] / 100)
    absorb = [r for r in TACOMA_ABSORB if r not in goal and races[r] > 0]
    left = k_all - sum(goal.values())
    weights = np.array([races[r] * TACOMA_MODEL[r][year] for r in absorb])
    shares = weights / weights.sum() * left
    counts = np.floor(shares).astype(int)
    counts[np.argsort(-(shares - counts), kind="stable")[: left - counts.sum()]] += 1
    goal.update(zip(absorb, counts.tolist(), strict=True))
    if any(not 0 <= goal[r] <= races[r] for r in goal):
        raise RuntimeError(f"class of {year}: the published rates cannot be met: {goal} of {races}")

    extra: dict[str, int] = {}
    for name, group in (("low_income", "Low income"), ("disability", "Students with disabilities")):
        share = 0.60 if name == "low_income" else 0.13
        if (grad, group, year) in targets:
            extra[name], _ = representable_n(
                round(share * n_total), targets[(grad, group, year)][0]
            )
    cohort = people(rng, "tacoma", races, **extra)
    eta = propensity(cohort, "hs_graduation")
    graduated = np.zeros(len(cohort), dtype=bool)
    for race, k in goal.items():
        members = np.flatnonzero(cohort["race_ethnicity"].to_numpy() == race)
        graduated[members[top_k(rng, eta[members], k)]] = True

    # Hold the published low-income and disability rates by swapping graduation between two
    # students of the same race (and, for disability, the same income): the race counts and
    # the income counts already matched stay matched.
    for name, group, within in (
        ("low_income", "Low income", ["race_ethnicity"]),
        ("disability", "Students with disabilities", ["race_ethnicity", "low_income"]),
    ):
        if (grad, group, year) not in targets:
            continue
        flag = cohort[name].to_numpy() == 1
        want = exact_count(int(flag.sum()), targets[(grad, group, year)][0])
        cells = cohort[within].astype(str).agg("|".join, axis=1).to_numpy()
        while (have := int((graduated & flag).sum())) != want:
            up = have < want  # need one more graduate in the group, or one fewer
            give = np.flatnonzero(flag & (graduated != up))  # group members to flip
            take = np.flatnonzero(~flag & (graduated == up))  # others to flip the other way
            order_give = give[np.argsort(-eta[give] if up else eta[give], kind="stable")]
            for i in order_give:
                partners = take[cells[take] == cells[i]]
                if len(partners):
                    j = partners[np.argmin(eta[partners]) if up else np.argmax(eta[partners])]
                    graduated[i], graduated[j] = up, not up
                    break
            else:
                raise RuntimeError(f"cannot hold the published {group} rate for {year}")
    cohort.insert(0, "graduated", graduated.astype(int))
    cohort.insert(0, "class_of", year)
    return cohort


def tacoma_target(targets: dict, measure: str, year: int, model: dict[int, float]) -> Decimal:
    """The published all-students figure where there is one, else the modelled one."""
    return targets.get((measure, "All students", year), (Decimal(str(model[year])), ""))[0]


def tacoma_students(rng: np.random.Generator, targets: dict) -> pd.DataFrame:
    classes = []
    for year in YEARS:
        cohort = tacoma_class(rng, year, targets)
        order = rng.permutation(len(cohort))
        cohort = cohort.iloc[order].reset_index(drop=True)
        cohort.insert(0, "partnership", "tacoma")
        cohort.insert(0, "student_id", [f"TAC{year}{i:05d}" for i in range(1, len(cohort) + 1)])
        classes.append(cohort)
    students = pd.concat(classes, ignore_index=True)
    students.loc[students["race_ethnicity"] == NOT_REPORTED, "race_ethnicity"] = ""
    return students


# --- counting students into the canonical table ---------------------------------------------------

DIMENSIONS = {
    "race_ethnicity": ("race_ethnicity", None),
    "income": ("low_income", {1: "Low income", 0: "Not low income"}),
    "gender": ("gender", None),
    "disability": (
        "disability",
        {1: "Students with disabilities", 0: "Students without disabilities"},
    ),
    "english_learner": ("english_learner", {1: "English learner", 0: "Not English learner"}),
}
GROUP_ORDER = {
    "race_ethnicity": (*RACES, NOT_REPORTED),
    "income": ("Low income", "Not low income"),
    "gender": ("Female", "Male"),
    "disability": ("Students with disabilities", "Students without disabilities"),
    "english_learner": ("English learner", "Not English learner"),
}


def count_rows(
    cohort: pd.DataFrame, met: np.ndarray, partnership: str, outcome: str, year: int, source: str
) -> list[dict]:
    rows = [
        dict(
            partnership=partnership,
            outcome=outcome,
            year=year,
            dimension="all",
            group="All students",
            numerator=int(met.sum()),
            denominator=len(cohort),
            source=source,
        )
    ]
    for dimension, (column, labels) in DIMENSIONS.items():
        values = cohort[column].to_numpy()
        if labels is not None:
            values = np.array([labels[v] for v in values], dtype=object)
        values = np.where(values == "", NOT_REPORTED, values)
        for group in GROUP_ORDER[dimension]:
            members = values == group
            if members.any():
                rows.append(
                    dict(
                        partnership=partnership,
                        outcome=outcome,
                        year=year,
                        dimension=dimension,
                        group=group,
                        numerator=int(met[members].sum()),
                        denominator=int(members.sum()),
                        source=source,
                    )
                )
    return rows


def outcome_rows(rng: np.random.Generator, students: pd.DataFrame, targets: dict) -> pd.DataFrame:
    rows: list[dict] = []
    for partnership in PARTNERSHIPS:
        for year in YEARS:
            for outcome in ("kindergarten_readiness", "early_grade_reading", "middle_grade_math"):
                n = cohort_size(rng, partnership, year, outcome)
                cohort = people(rng, partnership, race_counts(rng, partnership, year, n))
                met = draw(
                    rng, propensity(cohort, outcome), expected_rate(rng, partnership, outcome, year)
                )
                if (partnership, outcome, year) not in MISSING:
                    rows += count_rows(cohort, met, partnership, outcome, year, SYNTHETIC)
            if partnership == "tacoma":
                cohort = students[students["class_of"] == year].copy()
                cohort["race_ethnicity"] = cohort["race_ethnicity"].replace("", NOT_REPORTED)
                graduated = cohort["graduated"].to_numpy() == 1
                source = MODELLED
            else:
                n = cohort_size(rng, partnership, year, "hs_graduation")
                cohort = people(rng, partnership, race_counts(rng, partnership, year, n))
                rate = expected_rate(rng, partnership, "hs_graduation", year)
                graduated = draw(rng, propensity(cohort, "hs_graduation"), rate)
                source = SYNTHETIC
            rows += count_rows(cohort, graduated, partnership, "hs_graduation", year, source)
            # The class's graduates enroll; its enrollees complete; all of it seeks work.
            eta = propensity(cohort, "postsecondary_enrollment")
            if partnership == "tacoma":
                enrolled = np.zeros(len(cohort), dtype=bool)
                grads = np.flatnonzero(graduated)
                printed = tacoma_target(targets, "college_enrollment_rate", year, TACOMA_ENROLLMENT)
                k = exact_count(len(grads), printed)
                enrolled[grads[top_k(rng, eta[grads], k)]] = True
                enrollees = np.flatnonzero(enrolled)
                completed = np.zeros(len(cohort), dtype=bool)
                printed = tacoma_target(
                    targets,
                    "college_completion_within_6_years_of_enrollees",
                    year,
                    TACOMA_COMPLETION,
                )
                k = exact_count(len(enrollees), printed)
                completed[enrollees[top_k(rng, eta[enrollees], k)]] = True
            else:
                enrolled = graduated & draw(
                    rng, eta, expected_rate(rng, partnership, "postsecondary_enrollment", year)
                )
                completed = enrolled & draw(
                    rng, eta, expected_rate(rng, partnership, "postsecondary_completion", year)
                )
            graduates = cohort[graduated]
            rows += count_rows(
                graduates,
                enrolled[graduated],
                partnership,
                "postsecondary_enrollment",
                year,
                source,
            )
            if (partnership, "postsecondary_completion", year) not in MISSING:
                rows += count_rows(
                    cohort[enrolled],
                    completed[enrolled],
                    partnership,
                    "postsecondary_completion",
                    year,
                    source,
                )
            found = rng.random(len(cohort)) < 0.86  # found in the wage records
            employed = draw(
                rng,
                propensity(cohort, "employment") + 0.8 * graduated,
                expected_rate(rng, partnership, "employment", year),
            )
            if (partnership, "employment", year) not in MISSING:
                rows += count_rows(
                    cohort[found], employed[found], partnership, "employment", year, SYNTHETIC
                )
    table = pd.DataFrame(rows)
    table["numerator"] = table["numerator"].astype("Int64")
    table["denominator"] = table["denominator"].astype("Int64")
    table["rate"] = (table["numerator"] / table["denominator"]).astype(float).round(6)
    table["rate_low"] = np.nan
    table["rate_high"] = np.nan
    table["suppressed"] = False
    name, years, threshold = SOURCE_SUPPRESSED
    withheld = (
        (table["partnership"] == name)
        & table["year"].isin(years)
        & (table["dimension"] != "all")
        & (table["denominator"] < threshold)
    )
    table.loc[withheld, ["numerator", "denominator"]] = pd.NA
    table.loc[withheld, "rate"] = np.nan
    table.loc[withheld, "suppressed"] = True
    table.loc[withheld, "source"] = SYNTHETIC + "; withheld by the source (n<10)"
    tacoma_grad = (table["partnership"] == "tacoma") & table["outcome"].isin(
        ["hs_graduation", "postsecondary_enrollment", "postsecondary_completion"]
    )
    measures = {
        "hs_graduation": "four_year_graduation_rate",
        "postsecondary_enrollment": "college_enrollment_rate",
        "postsecondary_completion": "college_completion_within_6_years_of_enrollees",
    }
    for i in np.flatnonzero(tacoma_grad):
        row = table.iloc[i]
        key = (measures[row["outcome"]], row["group"], int(row["year"]))
        if key in targets:
            printed, source_id = targets[key]
            table.iat[i, table.columns.get_loc("source")] = (
                f"modelled to agree with the published {printed}% "
                f"({source_id}, tacoma_published.csv)"
            )
    return table[list(COLUMNS)]


# --- monthly contributing indicators ----------------------------------------------------------

SCHOOLS = {
    "tacoma": ("High School A", "High School B", "High School C", "High School D", "High School E"),
    "riverton": ("Riverton North High", "Riverton South High", "Riverton Valley High"),
}


def indicator_rows(rng: np.random.Generator) -> pd.DataFrame:
    months = [
        m for m in pd.date_range("2014-09-01", "2019-06-01", freq="MS") if m.month in SCHOOL_DAYS
    ]
    rows: list[dict] = []
    for partnership, schools in SCHOOLS.items():
        base_attendance = rng.normal(0.925, 0.01, len(schools))
        base_absence = rng.normal(0.24, 0.03, len(schools))
        base_passing = rng.normal(0.68, 0.04, len(schools))
        enrolled = rng.integers(900, 1600, len(schools))
        for month in months:
            after = partnership == "tacoma" and month >= STRATEGY_START
            season = {12: -0.012, 1: -0.008, 2: -0.01, 5: -0.006, 6: -0.015}.get(month.month, 0.0)
            days = SCHOOL_DAYS[month.month]
            totals = {
                "attendance_rate": [0, 0],
                "chronic_absence": [0, 0],
                "ninth_grade_course_passing": [0, 0],
            }
            school_rows = []
            for s, school in enumerate(schools):
                students = int(enrolled[s] * (1 + rng.normal(0, 0.01)))
                ninth = int(students * 0.27)
                p_att = float(
                    np.clip(
                        rng.beta(*beta_params(base_attendance[s] + season + 0.01 * after, 3000)),
                        0,
                        1,
                    )
                )
                p_abs = float(
                    np.clip(
                        base_absence[s] - 2.5 * season - 0.045 * after + rng.normal(0, 0.012),
                        0.02,
                        0.9,
                    )
                )
                p_pass = float(
                    np.clip(base_passing[s] + 0.06 * after + rng.normal(0, 0.02), 0.05, 0.99)
                )
                values = {
                    "attendance_rate": (int(rng.binomial(students * days, p_att)), students * days),
                    "chronic_absence": (int(rng.binomial(students, p_abs)), students),
                    "ninth_grade_course_passing": (int(rng.binomial(ninth, p_pass)), ninth),
                }
                for indicator, (num, den) in values.items():
                    totals[indicator][0] += num
                    totals[indicator][1] += den
                    school_rows.append((indicator, "geography", school, num, den))
            for indicator, (num, den) in totals.items():
                rows.append(
                    dict(
                        partnership=partnership,
                        outcome=indicator,
                        period=month.strftime("%Y-%m-%d"),
                        dimension="all",
                        group="All students",
                        numerator=num,
                        denominator=den,
                    )
                )
            for indicator, dimension, group, num, den in school_rows:
                rows.append(
                    dict(
                        partnership=partnership,
                        outcome=indicator,
                        period=month.strftime("%Y-%m-%d"),
                        dimension=dimension,
                        group=group,
                        numerator=num,
                        denominator=den,
                    )
                )
    table = pd.DataFrame(rows).sort_values(
        ["partnership", "outcome", "dimension", "group", "period"], kind="stable"
    )
    table["rate"] = (table["numerator"] / table["denominator"]).round(6)
    table["rate_low"] = np.nan
    table["rate_high"] = np.nan
    table["suppressed"] = False
    table["source"] = SYNTHETIC
    return table


def beta_params(mean: float, concentration: float) -> tuple[float, float]:
    return mean * concentration, (1 - mean) * concentration


# --- main -------------------------------------------------------------------------------


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """Write to a temporary name and move into place, so a failed run leaves the old file."""
    tmp = path.with_name(path.name + ".tmp")
    table.to_csv(tmp, index=False, lineterminator="\n")
    tmp.replace(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write the files to")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    targets = published_targets(HERE / "tacoma_published.csv")
    students = tacoma_students(rng, targets)
    outcomes = outcome_rows(rng, students, targets)
    indicators = indicator_rows(rng)
    write_csv(outcomes, args.out / "outcomes.csv")
    write_csv(students, args.out / "students.csv")
    write_csv(indicators, args.out / "indicators.csv")


if __name__ == "__main__":
    main()

"""The risk score and label: the Python explanation and the SQL that scores millions agree."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from patches import risk

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)

factors = st.builds(
    risk.Factors,
    kev=st.booleans(),
    kev_due=st.one_of(st.none(), st.dates(dt.date(2026, 1, 1), dt.date(2027, 12, 31))),
    ransomware=st.booleans(),
    epss=st.one_of(st.none(), st.floats(0, 1, allow_nan=False)),
    cvss=st.one_of(st.none(), st.decimals("0.0", "10.0", places=1).map(float)),
    severity=st.sampled_from(["critical", "high", "medium", "low", "none", ""]),
    criticality=st.sampled_from(["low", "normal", "high", "critical"]),
    first_seen=st.one_of(
        st.none(), st.datetimes(dt.datetime(2025, 1, 1), dt.datetime(2026, 11, 21), timezones=st.just(dt.UTC))
    ),
)


def sql(f: risk.Factors) -> tuple[float, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT patches_risk_score(%s, %s, %s, %s, %s::numeric, %s, %s, %s, %s),"
            " patches_ssvc_label(%s, %s, %s::numeric, %s, %s)",
            [
                f.kev,
                f.kev_due,
                f.ransomware,
                f.epss,
                f.cvss,
                f.severity,
                f.criticality,
                f.first_seen,
                NOW,
                f.kev,
                f.epss,
                f.cvss,
                f.severity,
                f.criticality,
            ],
        )
        return cursor.fetchone()


@settings(max_examples=300, deadline=None)
@given(factors)
def test_python_and_sql_agree(f):
    score, _ = risk.score(f, NOW)
    assert sql(f) == (score, risk.label(f))


def test_every_kev_finding_outranks_every_other():
    worst_non_kev = risk.Factors(epss=1.0, cvss=10.0, criticality="critical", first_seen=NOW - dt.timedelta(days=400))
    mildest_kev = risk.Factors(
        kev=True, kev_due=dt.date(2027, 6, 1), epss=0.0, cvss=0.0, criticality="low", first_seen=NOW
    )
    assert risk.score(mildest_kev, NOW)[0] > risk.score(worst_non_kev, NOW)[0]


def test_an_overdue_kev_ranks_above_one_due_later():
    overdue = risk.Factors(kev=True, kev_due=dt.date(2026, 11, 1), cvss=7.5)
    later = risk.Factors(kev=True, kev_due=dt.date(2027, 3, 1), cvss=7.5)
    assert risk.score(overdue, NOW)[0] > risk.score(later, NOW)[0]


def test_the_explanation_lists_each_factor():
    _, parts = risk.score(
        risk.Factors(
            kev=True,
            kev_due=dt.date(2026, 11, 25),
            ransomware=True,
            epss=0.5,
            cvss=9.8,
            criticality="high",
            first_seen=NOW - dt.timedelta(days=9),
        ),
        NOW,
    )
    labels = [what for what, _ in parts]
    assert labels == [
        "In CISA KEV",
        "KEV due in 4 days",
        "Known ransomware use",
        "EPSS 0.500",
        "CVSS 9.8",
        "Open 9 days",
        "Device criticality high (scales EPSS, CVSS and age)",
    ]


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        (risk.Factors(kev=True, cvss=9.8), "act"),
        (risk.Factors(kev=True, cvss=5.0, criticality="critical"), "act"),
        (risk.Factors(kev=True, cvss=5.0), "attend"),
        (risk.Factors(epss=0.5, cvss=9.1, criticality="high"), "attend"),
        (risk.Factors(epss=0.5, cvss=9.1), "track*"),
        (risk.Factors(epss=0.5, cvss=5.0), "track"),
        (risk.Factors(epss=0.01, cvss=9.9, criticality="critical"), "track*"),
        (risk.Factors(epss=0.01, cvss=9.9), "track"),
        (risk.Factors(severity="critical", criticality="high"), "track*"),
    ],
)
def test_labels(f, expected):
    assert risk.label(f) == expected

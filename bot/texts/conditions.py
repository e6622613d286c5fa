"""Words for the compliance register: conditions, statuses, evidence, payout decisions."""

from __future__ import annotations

from collections import Counter

from bot.domain.conditions import Condition, Decision, Evidence, Status
from bot.texts.i18n import N_, Translator

CONDITION_LABELS = {
    Condition.ANTENATAL: N_("pregnancy check-ups"),
    Condition.POSTNATAL: N_("check-ups after giving birth"),
    Condition.GROWTH: N_("child weighed at the posyandu"),
    Condition.SCHOOL: N_("school attendance"),
}

CONDITION_STATUS_LABELS = {
    Status.MET: N_("met"),
    Status.NOT_MET: N_("not met"),
    Status.UNKNOWN: N_("not known yet"),
    Status.EXCUSED: N_("excused"),
}

EVIDENCE_LABELS = {
    Evidence.CROSS_CHECKED: N_("household report confirmed by the health worker"),
    Evidence.HEALTH_WORKER: N_("health worker's confirmation"),
    Evidence.HOUSEHOLD: N_("household report verified by the companion"),
    Evidence.SCHOOL: N_("school data"),
    Evidence.NO_SESSION: N_("the posyandu held no session"),
    Evidence.COMPANION_DECISION: N_("the companion accepted the reason"),
}

DECISION_LABELS = {
    Decision.ALL_MET: N_("all conditions met"),
    Decision.SOME_NOT_MET: N_("some conditions not met"),
    Decision.UNKNOWN: N_("not complete yet"),
    Decision.NO_CONDITIONS: N_("no conditions this period"),
}


def condition_label(condition: Condition, t: Translator) -> str:
    return t(CONDITION_LABELS[condition])


def condition_status_label(status: Status, t: Translator) -> str:
    return t(CONDITION_STATUS_LABELS[status])


def evidence_label(evidence: Evidence | None, t: Translator) -> str:
    return "—" if evidence is None else t(EVIDENCE_LABELS[evidence])


def decision_label(decision: Decision, t: Translator) -> str:
    return t(DECISION_LABELS[decision])


SMALL_COUNT = 20  # below this many, a share is shown as "3 of 5", not as a percentage


def met_share(counts: Counter[Status], t: Translator) -> str:
    """How many of the decided member-periods (met or not met) were met, honestly: a count for
    small numbers, a percentage with its count for larger ones."""
    met, decided = counts[Status.MET], counts[Status.MET] + counts[Status.NOT_MET]
    if decided == 0:
        return t("nothing decided yet")
    if decided < SMALL_COUNT:
        return t("{met} of {decided} met").format(met=met, decided=decided)
    return t("{percent} met ({met} of {decided})").format(
        percent=f"{met / decided:.0%}", met=met, decided=decided
    )


def status_counts(counts: Counter[Status]) -> str:
    """ "3 / 2 / 1 / 0": met / not met / not known yet / excused."""
    return " / ".join(
        str(counts[s]) for s in (Status.MET, Status.NOT_MET, Status.UNKNOWN, Status.EXCUSED)
    )

"""Satisfaction ratings of handled copy requests (docs/feedback.md, "Satisfaction ratings").

The requester of a copy request rates it once it was issued, delivered or refused: a scale of
the configuration (its id and, per criterion, an ordinal value 1..levels, 1 = worst) plus an
optional comment. One rating per request; giving it again within FEEDBACK_RATING_CHANGE_DAYS of
the first time changes it, later it is refused. Scales and criteria come from
FEEDBACK_RATING_SCALES_FILE or the packaged data/rating_scales.json, checked when loaded.

Module functions with an explicit session and citizen; they flush, never commit.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal import audit
from portal.copy_requests import services as copy_services
from portal.copy_requests.models import CopyRequest
from portal.copy_requests.workflow import State
from portal.db import utcnow
from portal.errors import InvalidInput, PortalError
from portal.feedback.models import Rating, RatingScore
from portal.identity.models import Citizen

PACKAGED_FILE = Path(__file__).parent / "data" / "rating_scales.json"
#: A request can be rated once the one-stop desk has answered it, either way.
RATEABLE_STATES = frozenset({State.ISSUED, State.DELIVERED, State.REJECTED})
MAX_COMMENT = 1000
DEFAULT_CHANGE_DAYS = 7
# Column sizes of Rating.scale_id and RatingScore.criterion.
_MAX_SCALE_ID, _MAX_CRITERION_ID = 20, 30


# -- configuration --------------------------------------------------------------------------------

class RatingConfigError(ValueError):
    """The scales file is unusable; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Label:
    vi: str
    en: str

    def text(self, lang: str) -> str:
        return self.en if lang == "en" and self.en else self.vi


@dataclass(frozen=True)
class Scale:
    id: str
    label: Label
    #: Worst first: value 1 is levels[0].
    levels: tuple[Label, ...]

    @property
    def size(self) -> int:
        return len(self.levels)

    def level_text(self, value: int, lang: str) -> str:
        return self.levels[value - 1].text(lang) if 1 <= value <= self.size else str(value)


@dataclass(frozen=True)
class Criterion:
    id: str
    label: Label
    required: bool


@dataclass(frozen=True)
class RatingScales:
    default_scale: str
    scales: Mapping[str, Scale]
    criteria: tuple[Criterion, ...]

    @property
    def default(self) -> Scale:
        return self.scales[self.default_scale]

    def criterion(self, criterion_id: str) -> Criterion | None:
        return next((c for c in self.criteria if c.id == criterion_id), None)


def _label(raw: Mapping, where: str, source: str) -> Label:
    vi, en = raw.get("vi") or raw.get("label_vi"), raw.get("en") or raw.get("label_en") or ""
    if not isinstance(vi, str) or not vi.strip() or not isinstance(en, str):
        raise RatingConfigError(f"{source}: {where} needs a Vietnamese label (\"vi\")")
    return Label(vi=vi.strip(), en=en.strip())


def parse_scales(raw: object, source: str = "<rating scales>") -> RatingScales:
    """Check and build the configuration. Raises RatingConfigError naming what is wrong."""
    if not isinstance(raw, Mapping):
        raise RatingConfigError(f"{source}: expected a JSON object")
    scales_raw = raw.get("scales")
    if not isinstance(scales_raw, Mapping) or not scales_raw:
        raise RatingConfigError(f"{source}: \"scales\" must be a non-empty object")
    scales: dict[str, Scale] = {}
    for scale_id, body in scales_raw.items():
        if not scale_id or len(scale_id) > _MAX_SCALE_ID:
            raise RatingConfigError(f"{source}: scale id {scale_id!r} must be 1 to {_MAX_SCALE_ID} "
                                    "characters")
        if not isinstance(body, Mapping):
            raise RatingConfigError(f"{source}: scale {scale_id!r} must be an object")
        levels = body.get("levels")
        if not isinstance(levels, list) or len(levels) < 2 or not all(isinstance(x, Mapping) for x in levels):
            raise RatingConfigError(f"{source}: scale {scale_id!r} needs at least 2 levels, worst first")
        scales[scale_id] = Scale(
            id=scale_id, label=_label(body, f"scale {scale_id!r}", source),
            levels=tuple(_label(level, f"level {n} of scale {scale_id!r}", source)
                         for n, level in enumerate(levels, 1)))
    default_scale = raw.get("default_scale")
    if default_scale not in scales:
        raise RatingConfigError(f"{source}: default_scale {default_scale!r} is not one of the scales "
                                f"{sorted(scales)}")
    criteria_raw = raw.get("criteria")
    if not isinstance(criteria_raw, list) or not criteria_raw:
        raise RatingConfigError(f"{source}: \"criteria\" must be a non-empty list")
    criteria: list[Criterion] = []
    for body in criteria_raw:
        criterion_id = body.get("id") if isinstance(body, Mapping) else None
        if not isinstance(criterion_id, str) or not criterion_id or len(criterion_id) > _MAX_CRITERION_ID:
            raise RatingConfigError(f"{source}: every criterion needs an id of 1 to {_MAX_CRITERION_ID} "
                                    "characters")
        if any(c.id == criterion_id for c in criteria):
            raise RatingConfigError(f"{source}: criterion {criterion_id!r} is listed twice")
        criteria.append(Criterion(id=criterion_id, label=_label(body, f"criterion {criterion_id!r}", source),
                                  required=bool(body.get("required", False))))
    if not any(c.required for c in criteria):
        # A rating with no score at all would count for nothing on the scorecard.
        raise RatingConfigError(f"{source}: at least one criterion must be required (\"overall\")")
    return RatingScales(default_scale=default_scale, scales=scales, criteria=tuple(criteria))


@functools.lru_cache(maxsize=8)
def _load_cached(path: str) -> RatingScales:
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RatingConfigError(f"{path}: cannot be read as JSON ({error})") from None
    return parse_scales(raw, path)


def load_scales(path: str | Path | None = None) -> RatingScales:
    """The scales of ``path`` (default: the packaged file), read once per path.

    Raises RatingConfigError when the file is missing, not JSON, or inconsistent (an unknown
    default scale, a scale of fewer than 2 levels, no required criterion...).
    """
    return _load_cached(str(Path(path or PACKAGED_FILE).resolve()))


def scales_from_config(config: Mapping) -> RatingScales:
    return load_scales(config.get("FEEDBACK_RATING_SCALES_FILE") or None)


def current_scales() -> RatingScales:
    """The app's scales inside an app context, else the packaged ones."""
    return scales_from_config(current_app.config) if has_app_context() else load_scales()


def normalized(value: int, levels: int) -> float:
    """A value of a ``levels``-level scale on 0-100: (value - 1) / (levels - 1) * 100.

    So a 3-level "satisfied" (2 of 3) and a 5-level "neither" (3 of 5) both count 50.
    """
    if levels < 2:
        raise ValueError("a scale has at least 2 levels")
    return (value - 1) / (levels - 1) * 100


# -- the rules ------------------------------------------------------------------------------------

class RatingClosed(PortalError):
    """The request cannot be rated (now): ``reason`` is "not_handled" or "too_late"."""

    status = 409

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidRating(InvalidInput):
    """Scores or comment out of bounds; ``errors`` maps a field ("scale", "comment" or a
    criterion id) to the message for the person."""

    def __init__(self, errors: Mapping[str, object]) -> None:
        super().__init__("invalid: " + ", ".join(errors))  # the messages are lazy: rendered by the page
        self.errors = dict(errors)


def is_handled(request: CopyRequest) -> bool:
    return request.state in RATEABLE_STATES


def change_deadline(rating: Rating, change_days: int = DEFAULT_CHANGE_DAYS) -> datetime:
    """Until when the rating can still be changed: its first giving plus ``change_days``."""
    return rating.created_at + timedelta(days=change_days)


def may_rate(request: CopyRequest, citizen: Citizen | None, now: datetime | None = None, *,
             rating: Rating | None = None, change_days: int = DEFAULT_CHANGE_DAYS) -> bool:
    """Whether ``citizen`` may rate ``request`` now: its requester, once handled, and, when it
    was already rated (``rating``, see `find_rating`), still within the change window."""
    if citizen is None or request.requester_id != citizen.id or not is_handled(request):
        return False
    return rating is None or (now or utcnow()) <= change_deadline(rating, change_days)


def find_rating(session: Session, request: CopyRequest) -> Rating | None:
    return session.scalar(select(Rating).where(Rating.copy_request_id == request.id))


def check_scores(scales: RatingScales, scale_id: str, scores: Mapping[str, object],
                 comment: str) -> tuple[Scale, dict[str, int]]:
    """The scale and the scores as ints. Raises InvalidRating with a message per bad field."""
    errors: dict[str, object] = {}
    scale = scales.scales.get(scale_id)
    if scale is None:
        raise InvalidRating({"scale": _l("This rating scale is not offered any more. Please reload the "
                                         "page and answer again.")})
    values: dict[str, int] = {}
    for criterion_id, raw in scores.items():
        if scales.criterion(criterion_id) is None:
            errors[criterion_id] = _l("This question is not asked any more. Please reload the page.")
            continue
        if raw is None or raw == "":
            continue
        try:
            value = int(raw)
        except (TypeError, ValueError):
            value = 0
        if not 1 <= value <= scale.size:
            errors[criterion_id] = _l("Choose one of the %(levels)s answers offered.", levels=scale.size)
        else:
            values[criterion_id] = value
    for criterion in scales.criteria:
        if criterion.required and criterion.id not in values and criterion.id not in errors:
            errors[criterion.id] = _l("Choose an answer for this question.")
    if len(comment) > MAX_COMMENT:
        errors["comment"] = _l("The comment must be at most %(max)s characters.", max=MAX_COMMENT)
    if errors:
        raise InvalidRating(errors)
    return scale, values


def rate(session: Session, citizen: Citizen, reference: str, scale_id: str, scores: Mapping[str, object],
         comment: str = "", now: datetime | None = None, change_days: int = DEFAULT_CHANGE_DAYS, *,
         scales: RatingScales | None = None) -> Rating:
    """Rate one's own handled request, or change the rating within ``change_days``.

    Raises NotFound (not the citizen's request: no hint that it exists), RatingClosed
    ("not_handled", "too_late"), InvalidRating (unknown scale, value out of 1..levels, a required
    criterion missing, comment too long). Audited as rating.create / rating.change.
    """
    request = copy_services.get_own(session, citizen, reference)
    now = now or utcnow()
    if not is_handled(request):
        raise RatingClosed("not_handled")
    rating = find_rating(session, request)
    if rating is not None and now > change_deadline(rating, change_days):
        raise RatingClosed("too_late")
    comment = (comment or "").strip()
    scale, values = check_scores(scales or current_scales(), scale_id, scores, comment)
    if rating is None:
        rating = _create(session, citizen, request, scale, values, comment, now)
        if rating is not None:
            _audit(session, citizen, request, "rating.create", rating)
            return rating
        # Another submission (a double click) created it meanwhile: this one changes it.
        rating = find_rating(session, request)
    rating.scale_id, rating.scale_levels, rating.comment = scale.id, scale.size, comment
    by_criterion = {score.criterion: score for score in rating.scores}
    for criterion_id, score in by_criterion.items():
        if criterion_id not in values:
            rating.scores.remove(score)  # delete-orphan
    for criterion_id, value in values.items():
        if criterion_id in by_criterion:
            by_criterion[criterion_id].value = value
        else:
            rating.scores.append(RatingScore(criterion=criterion_id, value=value))
    # Set by hand: when only scores change, the rating row itself would not be updated.
    rating.updated_at = now
    session.flush()
    _audit(session, citizen, request, "rating.change", rating)
    return rating


def _create(session: Session, citizen: Citizen, request: CopyRequest, scale: Scale, values: dict[str, int],
            comment: str, now: datetime) -> Rating | None:
    try:
        with session.begin_nested():  # one rating per request: a concurrent first one wins
            rating = Rating(copy_request_id=request.id, citizen_id=citizen.id, unit_id=request.unit_id,
                            scale_id=scale.id, scale_levels=scale.size, comment=comment,
                            created_at=now, updated_at=now,
                            scores=[RatingScore(criterion=c, value=v) for c, v in values.items()])
            session.add(rating)
            session.flush()
    except IntegrityError:
        return None
    return rating


def _audit(session: Session, citizen: Citizen, request: CopyRequest, action: str, rating: Rating) -> None:
    # The comment stays out of the chain: it is free text and may hold personal details.
    audit.record(session, citizen.audit_name, action, f"copy_request:{request.reference}",
                 details={"rating": rating.id, "scale": rating.scale_id,
                          "scores": {s.criterion: s.value for s in rating.scores}})


# -- for the pages --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScoreLine:
    criterion: str
    answer: str


@dataclass(frozen=True)
class RatingSummary:
    """What the request page shows of a rating, in one language."""

    rating: Rating
    lines: list[ScoreLine]
    changeable_until: datetime
    changeable: bool


def summarize(rating: Rating, lang: str, now: datetime | None = None,
              change_days: int = DEFAULT_CHANGE_DAYS, scales: RatingScales | None = None) -> RatingSummary:
    scales = scales or current_scales()
    scale = scales.scales.get(rating.scale_id)
    lines = []
    order = {c.id: n for n, c in enumerate(scales.criteria)}
    for score in sorted(rating.scores, key=lambda s: order.get(s.criterion, len(order))):
        criterion = scales.criterion(score.criterion)
        answer = (scale.level_text(score.value, lang) if scale is not None
                  else f"{score.value}/{rating.scale_levels}")
        lines.append(ScoreLine(criterion=criterion.label.text(lang) if criterion else score.criterion,
                               answer=answer))
    until = change_deadline(rating, change_days)
    return RatingSummary(rating=rating, lines=lines, changeable_until=until,
                         changeable=(now or utcnow()) <= until)

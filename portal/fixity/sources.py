"""Which files the store holds, as the tables that recorded their hashes say.

Three kinds of stored file record a sha256: result scans (`Document`, imported), signed copies
(`IssuedCopy`) and problem-report attachments (`ProblemReport.attachment_sha256`). The store keeps
each content once, so a file is one hash whoever uses it: the union below is distinct. A new kind
of stored file joins the audit by adding its select here.
"""

from __future__ import annotations

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session

from portal.copy_requests.models import IssuedCopy
from portal.feedback.models import ProblemReport
from portal.records.models import Document, Record, RecordFile

#: How many users of a bad file its description names.
NAMED_USERS = 5


def stored_hashes():
    """A subquery with one column, ``sha256``: every stored file once."""
    return union(
        select(Document.sha256.label("sha256")),
        select(IssuedCopy.sha256.label("sha256")),
        select(ProblemReport.attachment_sha256.label("sha256")).where(ProblemReport.attachment_sha256.is_not(None)),
    ).subquery("stored")


def count_stored(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(stored_hashes())) or 0


def used_by(session: Session, sha256: str) -> str:
    """Who records this hash, for a person to find what a bad file was: results (source id and the
    path the batch gave), signed copies (their code), problem reports (their reference)."""
    uses = []
    rows = session.execute(
        select(Record.source_id, RecordFile.original_path).join(RecordFile, RecordFile.record_id == Record.id)
        .where(RecordFile.document_sha256 == sha256).order_by(Record.id).limit(NAMED_USERS)).all()
    uses += [f"result {source_id} ({path})" for source_id, path in rows]
    if not rows and session.get(Document, sha256) is not None:
        uses.append("scan of no result")
    codes = session.scalars(select(IssuedCopy.code).where(IssuedCopy.sha256 == sha256)
                            .order_by(IssuedCopy.id).limit(NAMED_USERS)).all()
    uses += [f"signed copy {code}" for code in codes]
    references = session.scalars(select(ProblemReport.reference)
                                 .where(ProblemReport.attachment_sha256 == sha256)
                                 .order_by(ProblemReport.id).limit(NAMED_USERS)).all()
    uses += [f"problem report {reference}" for reference in references]
    return "; ".join(uses)

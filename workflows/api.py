"""The signed-in person's notifications over the API: the in-app copies of what the worker delivered
(the portal's notification centre, for apps). ``config.api_v1`` mounts the router."""

from __future__ import annotations

from django.utils.translation import gettext as _
from ninja import Field, Query, Router

from core.apitypes import ERRORS, ApiQuery, ApiSchema, Id, OutSchema, PageOut, Pagination, paginate
from core.errors import InvalidInput
from workflows.models import Notification
from workflows.selectors import notifications_for
from workflows.services import notification_mark_read

router = Router(tags=["notifications"], by_alias=True)

#: ids one request may mark read
MAX_MARK_READ = 500


class NotificationOut(OutSchema):
    id: int
    kind: str = Field(..., description="what happened, e.g. appointment.confirmed, follow_up.suggested")
    title: str = Field(..., description="in the request's language (Accept-Language), else as first delivered")
    body: str = Field(..., description="in the request's language (Accept-Language), else as first delivered")
    link: str = Field(..., description="a path on the site, or empty")
    created_at: str
    read_at: str | None
    emailed_at: str | None = Field(..., description="when the email copy reached the mail server")


class NotificationPage(PageOut):
    items: list[NotificationOut]
    unread: int = Field(..., description="all unread notifications, whatever the filter")


class NotificationQuery(ApiQuery):
    unread: bool | None = Field(None, description="true: only unread ones; false: only read ones")


class MarkReadIn(ApiSchema):
    ids: list[Id] = Field(default_factory=list, max_length=MAX_MARK_READ)
    all: bool = False


class MarkReadOut(OutSchema):
    marked: int = Field(..., description="how many were unread and are now read")
    unread: int


def notification_out(note: Notification) -> dict:
    return {
        "id": note.pk,
        "kind": note.kind,
        "title": note.shown_title,
        "body": note.shown_body,
        "link": note.link,
        "created_at": note.created_at.isoformat(),
        "read_at": note.read_at.isoformat() if note.read_at else None,
        "emailed_at": note.email_sent_at.isoformat() if note.email_sent_at else None,
    }


@router.get(
    "/notifications",
    summary="Your notifications, newest first",
    response={200: NotificationPage, **ERRORS},
)
def notification_list(request, query: Query[NotificationQuery], page: Query[Pagination]):
    listing = paginate(notifications_for(request.auth, unread=query.unread), page, notification_out)
    return {**listing, "unread": notifications_for(request.auth, unread=True).count()}


@router.post(
    "/notifications/read",
    summary="Mark your notifications read",
    description="`{ids: [...]}` marks those (other people's ids are ignored); `{all: true}` marks every one.",
    response={200: MarkReadOut, **ERRORS},
)
def notification_read(request, payload: MarkReadIn):
    if not payload.all and not payload.ids:
        raise InvalidInput(_("Send the notifications to mark read (ids), or all: true."), fields=["ids", "all"])
    marked = notification_mark_read(user=request.auth, notification_ids=payload.ids, all=payload.all)
    return {"marked": marked, "unread": notifications_for(request.auth, unread=True).count()}

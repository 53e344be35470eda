"""The clinic back office in the admin: doctor applications, subscriptions, support tickets, reminder
times, the medical-record access log. Each model's admin is registered once, in its own app: this
package registers only the back office's own models (booking, accounts and core own theirs); the
patient page's appointment history is added through accounts' ``page_sections`` hook."""

from workflows.clinic.admin import applications, settings, subscriptions, tickets  # noqa: F401
from workflows.clinic.admin.settings import patient_history_section

__all__ = ["patient_history_section"]

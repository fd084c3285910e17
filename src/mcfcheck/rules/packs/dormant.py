"""Notice periods for SMETS1 Installations with Dormant Devices (TMAD 4.29 and 4.30).

Under TMAD 4.29 and 4.30 (numbered as in the AL v4.1 draft), it is the DCC that gives
the supplier notice of a firmware upgrade or configuration change of an installation
with Dormant Devices (at least 5 Working Days ahead, since the DCC's conclusions of 4
June 2020) and of its migration (at least 15 Working Days ahead, unless a shorter period
is mutually agreed with that supplier). mcfcheck's schema records the notices given;
these rules check that the dates recorded met the periods.

The counting convention is mcfcheck's reading: Working Days are counted after the notice
date, up to and including the planned date; Working Days are weekdays that are not bank
holidays in the maintained holiday calendar (England & Wales by default; ``calendar`` =
"scotland" or "northern-ireland"). ``mcfcheck workdays`` plans dates with the same count.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import ClassVar, Final

from mcfcheck.rules.base import Problem, Rule, RuleContext, Visit
from mcfcheck.rules.options import Option
from mcfcheck.rules.provenance import NOTIFICATION_PERIODS_CONCLUSIONS, Source
from mcfcheck.rules.views import InstallationView
from mcfcheck.rules.workdays import CALENDARS, working_days_of_notice

#: The calendar of bank holidays Working Days are counted in.
CALENDAR: Final = Option("england-and-wales", choices=tuple(CALENDARS))

#: What both rules read into their sources.
NOTICE_READING: Final = (
    "It is the DCC that gives these notices to the supplier; mcfcheck's schema records the notices given "
    "(DormantNotice), and the rule checks that the dates recorded met the period. The counting convention "
    "is mcfcheck's reading: Working Days after the notice date, up to and including the planned date, "
    "weekends and the ``calendar``'s bank holidays excluded."
)


class _NoticePeriod(Rule):
    visits = frozenset({Visit.INSTALLATION})
    #: What the notice is of, as the message says it; and what the message adds after the minimum.
    notice_of: ClassVar[str]
    unless: ClassVar[str] = ""

    def __init__(self, context: RuleContext, options: Mapping[str, object]) -> None:
        super().__init__(context, options)
        self.calendar = str(self.options["calendar"])
        self.minimum = int(str(self.options["working_days"]))

    def short_notice(
        self,
        installation: InstallationView,
        notice: dt.date | None,
        planned: dt.date | None,
        place: str,
    ) -> Iterator[Problem]:
        """A problem when fewer Working Days than the minimum separate ``notice`` from ``planned``."""
        if notice is None or planned is None:
            return
        message = self.short_notice_message(notice, planned, self.calendar, self.minimum)
        if message is not None:
            yield Problem(message, installation.place(place))

    @classmethod
    def short_notice_message(cls, notice: dt.date, planned: dt.date, calendar: str, minimum: int) -> str | None:
        """What the rule says when fewer than ``minimum`` Working Days separate ``notice`` from ``planned``; else None.

        Shared with ``mcfcheck workdays --check``, which says it of a notification schedule's rows.
        """
        # Counted up to the minimum: below it, the count is exact, and it is all the message needs.
        days = working_days_of_notice(notice, planned, calendar, minimum)
        if days >= minimum:
            return None
        return (
            f"the {cls.notice_of} on {planned} has {days} Working Days' notice (from {notice}); "
            f"at least {minimum} are required{cls.unless}"
        )


class FirmwareNoticePeriod(_NoticePeriod):
    """A firmware upgrade or configuration change needs at least 5 Working Days' notice.

    Options: ``working_days`` (5), ``calendar``.

    Fails: ``<FirmwareNoticeDate>2026-02-23</FirmwareNoticeDate>`` and
    ``<PlannedUpgradeDate>2026-02-27</PlannedUpgradeDate>`` (4 Working Days).

    Passes: the same notice and ``<PlannedUpgradeDate>2026-03-02</PlannedUpgradeDate>`` (5).
    """

    code = "DRM001"
    name = "firmware-notice-period"
    sources = (
        Source(
            NOTIFICATION_PERIODS_CONCLUSIONS,
            "Table 2, Clause 4.29 and 4.30",
            "Amended to reflect the approach of reducing the notice period to 5 Working Days for firmware and "
            "configuration changes and allowing further reductions to be agreed.",
        ),
    )
    reading = NOTICE_READING

    reads = frozenset({"status", "firmware_notice_date", "planned_upgrade_date"})
    defaults: ClassVar[Mapping[str, object]] = {"working_days": Option(5, minimum=0), "calendar": CALENDAR}
    notice_of = "firmware upgrade"

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        if installation.dormant:
            yield from self.short_notice(
                installation,
                installation.firmware_notice_date,
                installation.planned_upgrade_date,
                "planned_upgrade_date",
            )


class MigrationNoticePeriod(_NoticePeriod):
    """Migration of a Dormant installation needs at least 15 Working Days' notice, unless agreed.

    A shorter period passes when the file records it as agreed
    (``<ShorterNoticeAgreed>true</ShorterNoticeAgreed>``). Options: ``working_days``
    (15), ``calendar``.

    Fails: ``<MigrationNoticeDate>2026-03-02</MigrationNoticeDate>``,
    ``<PlannedMigrationDate>2026-03-16</PlannedMigrationDate>`` (10 Working Days), not agreed.

    Passes: ``<PlannedMigrationDate>2026-03-23</PlannedMigrationDate>`` (15), or a shorter
    period with ``<ShorterNoticeAgreed>true</ShorterNoticeAgreed>``.
    """

    code = "DRM002"
    name = "migration-notice-period"
    sources = (
        Source(
            NOTIFICATION_PERIODS_CONCLUSIONS,
            "section 4.2.1 (TMAD 4.30)",
            "the notification period for commencing the Migration of SMETS1 Installations containing Dormant "
            "Devices should remain at 15 days for migration with an amendment to allow DCC to mutually agree a "
            "shorter timeframe with each Energy Supplier where possible",
        ),
    )
    reading = NOTICE_READING

    reads = frozenset({"status", "migration_notice_date", "planned_migration_date", "shorter_notice_agreed"})
    defaults: ClassVar[Mapping[str, object]] = {"working_days": Option(15, minimum=0), "calendar": CALENDAR}
    notice_of = "migration"
    unless = " unless a shorter period was agreed with the DCC"

    def installation(self, installation: InstallationView) -> Iterator[Problem]:
        if installation.dormant and not installation.shorter_notice_agreed:
            yield from self.short_notice(
                installation,
                installation.migration_notice_date,
                installation.planned_migration_date,
                "planned_migration_date",
            )


RULES = (FirmwareNoticePeriod, MigrationNoticePeriod)

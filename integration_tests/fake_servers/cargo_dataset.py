"""The deterministic data behind `FakeCargo`: one workspace, two workflows, four plays, a few hundred runs.

Everything comes from a seeded `random.Random`, laid out backwards from an anchor time `now`,
so two fakes built with the same `now` hold identical data (ids, timestamps and outputs).
The output values are chosen to break naive parsers: quotes, commas, CR/LF inside values,
unicode, empty strings, leading zeros, nulls next to the string "N/A", and one JSON column that
only appears in recent runs (a column that shows up after a schema sample).
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

SEED = 20250101
WORKSPACE_UUID = "8f1d6c3e-2b7a-4c59-9e0d-1a2b3c4d5e6f"
ENRICH_WORKFLOW_UUID = "6a1f0b2c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"
SCORE_WORKFLOW_UUID = "d2c4e6f8-1a3b-4c5d-9e7f-0a1b2c3d4e5f"

FINISHED_STATUSES = ("success", "error", "cancelled", "skipped")
UNFINISHED_STATUSES = ("idle", "pending", "running", "cancelling")
RUN_STATUSES = ("idle", "pending", "running", "success", "error", "cancelling", "cancelled", "skipped")
BASE_COLUMNS = ("recordId", "recordTitle", "runUuid", "runStatus", "runCreatedAt")


class Workflow(NamedTuple):
    uuid: str
    name: str  # internal: Cargo workflows have no name, plays do
    output_node_slug: str
    columns: Tuple[str, ...]  # the output node's columns, in file order
    release_uuids: Tuple[str, str]  # old release, then current release (switch at mid-span)


COMPANIES = (
    "Acme, Inc.",
    'The "Quoted" Company',
    "Ünïcødé GmbH",
    "北京科技有限公司",
    "Café Olé S.A.",
    "O'Brien & Sons",
    "Plain Co",
    "  Leading Spaces Ltd",
)
CITIES = ("São Paulo", "Zürich", "Kraków", "Москва", "東京", "Reykjavík", "", "New York, NY")
ZIP_CODES = ("02134", "00501", "90210", "0", "007", "10001")
NOTES = (
    "Line one\nLine two",
    'He said "hi", then left',
    "",
    "comma, separated, values",
    "crlf\r\ninside",
    "emoji 🚀 and tab\there",
    "null",
    "trailing newline\n",
)
PHONES = ("", "N/A", None, "+1 555 0100", "0044 20 7946 0000")
SIGNALS = ("hiring", "funding", "new-cto", "tech:snowflake", 'quote"d', "comma,signal")


def iso(moment: datetime) -> str:
    """Cargo's timestamp shape (JavaScript `toISOString`): UTC, milliseconds, `Z`."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: Any) -> datetime:
    """An ISO-8601 string (naive means UTC) or a datetime, as an aware UTC datetime; ValueError otherwise."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    else:
        raise ValueError(f"{value!r} is not a date-time")
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def default_now() -> datetime:
    """A few minutes ago, on a whole minute: every generated run lies in the past."""
    return datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=5)


def uuid4_from(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class CargoDataset:
    """Workspace, workflows, plays and runs (runs sorted by createdAt, then uuid).

    `output_for(run)` derives a run's output data from its uuid, so it exists as soon as a run
    succeeds (also runs finished later with `FakeCargo.finish_run`) and costs no memory before.
    """

    SPAN = timedelta(days=60)
    LATE_COLUMN_SINCE = timedelta(days=7)  # score's `v2_segment` exists only in runs this recent

    def __init__(self, now: Optional[datetime] = None, n_runs: int = 300, seed: int = SEED) -> None:
        self.now = parse_time(now) if now is not None else default_now()
        self.seed = seed
        rng = random.Random(seed)
        self.workspace_uuid = WORKSPACE_UUID
        self.workflows: Dict[str, Workflow] = {
            ENRICH_WORKFLOW_UUID: Workflow(
                ENRICH_WORKFLOW_UUID,
                "Lead enrichment",
                "enrich",
                ("company", "domain", "employees", "zip_code", "city", "notes", "phone", "linkedin_url", "revenue"),
                (uuid4_from(rng), uuid4_from(rng)),
            ),
            SCORE_WORKFLOW_UUID: Workflow(
                SCORE_WORKFLOW_UUID,
                "Account scoring",
                "score",
                ("account", "score", "tier", "is_customer", "signals", "owner_email", "v2_segment"),
                (uuid4_from(rng), uuid4_from(rng)),
            ),
        }
        self.plays = self._make_plays(rng)
        self.runs: List[Dict[str, Any]] = self._make_runs(rng, n_runs)
        self.output_overrides: Dict[str, Dict[str, Any]] = {}

    def _make_plays(self, rng: random.Random) -> List[Dict[str, Any]]:
        specs = (  # (workflow, name, schedule type, enabled)
            (ENRICH_WORKFLOW_UUID, "Enrich new leads", "cron", True),
            (ENRICH_WORKFLOW_UUID, "Re-enrich stale leads, weekly", "interval", False),
            (SCORE_WORKFLOW_UUID, "Score accounts — hourly", "cron", True),
            (SCORE_WORKFLOW_UUID, "Score on change", "none", True),
        )
        plays = []
        for index, (workflow_uuid, name, schedule_type, enabled) in enumerate(specs):
            created = self.now - self.SPAN - timedelta(days=10 - index)
            plays.append(
                {
                    "uuid": uuid4_from(rng),
                    "workspaceUuid": WORKSPACE_UUID,
                    "workflowUuid": workflow_uuid,
                    "userUuid": uuid4_from(rng),
                    "modelUuid": uuid4_from(rng),
                    "segmentUuid": uuid4_from(rng),
                    "changeKinds": ["added", "updated"] if index % 2 == 0 else ["added"],
                    "runCreationRule": ("always", "once", "noConcurrency", "always")[index],
                    "name": name,
                    "description": "" if index == 3 else f"Play {index + 1}: {name}",
                    "schedule": {
                        "type": schedule_type,
                        "temporalScheduleWorkflowId": f"schedule-{index + 1}",
                        "meta": {},
                    },
                    "isEnabled": enabled,
                    "healthThreshold": 0.9,
                    "healthAlertActions": [],
                    "folderUuid": None,
                    "createdAt": iso(created),
                    "updatedAt": iso(created + timedelta(days=index)),
                    "deletedAt": None,
                }
            )
        return plays

    def _make_runs(self, rng: random.Random, n_runs: int) -> List[Dict[str, Any]]:
        start = self.now - self.SPAN
        n_unfinished = min(6, n_runs)
        moments: List[Tuple[datetime, str, str]] = []  # (createdAt, workflow uuid, status)
        finished_span = (self.SPAN - timedelta(hours=3)).total_seconds()  # finished runs: older than 3 h
        for _ in range(n_runs - n_unfinished):
            workflow_uuid = ENRICH_WORKFLOW_UUID if rng.random() < 0.55 else SCORE_WORKFLOW_UUID
            status = rng.choices(("success", "error", "cancelled"), weights=(85, 12, 3))[0]
            moments.append(
                (start + timedelta(milliseconds=int(rng.uniform(0, finished_span) * 1000)), workflow_uuid, status)
            )
        for index in range(n_unfinished):  # unfinished runs are the recent ones, as in real life
            workflow_uuid = (ENRICH_WORKFLOW_UUID, SCORE_WORKFLOW_UUID)[index % 2]
            created = self.now - timedelta(minutes=10 + 20 * index, milliseconds=rng.randrange(1000))
            moments.append((created, workflow_uuid, ("running", "pending")[index // 2 % 2]))
        moments.sort()
        if len(moments) > 12:  # two runs created in the same millisecond: ordering ties are real
            moments[11] = (moments[10][0], moments[11][1], moments[11][2])
        middle = start + self.SPAN / 2
        runs, batch_counts = [], dict.fromkeys(self.workflows, 0)
        batches = {uuid_: uuid4_from(rng) for uuid_ in self.workflows}
        for created, workflow_uuid, status in moments:
            workflow = self.workflows[workflow_uuid]
            if batch_counts[workflow_uuid] == 25:  # a new batch every 25 runs of a workflow
                batches[workflow_uuid], batch_counts[workflow_uuid] = uuid4_from(rng), 0
            batch_counts[workflow_uuid] += 1
            record = rng.randrange(1, 121)  # records are re-run now and then: recordId is not unique
            runs.append(
                self.make_run(
                    run_uuid=uuid4_from(rng),
                    workflow=workflow,
                    release_uuid=workflow.release_uuids[created >= middle],
                    batch_uuid=batches[workflow_uuid],
                    record_id=f"{record:06d}",
                    record_title=f"{COMPANIES[record % len(COMPANIES)]} #{record}",
                    status=status,
                    created_at=created,
                    duration=timedelta(milliseconds=rng.randrange(2_000, 600_000)),
                )
            )
        runs.sort(key=lambda run: (run["createdAt"], run["uuid"]))
        return runs

    @staticmethod
    def make_run(
        run_uuid: str,
        workflow: Workflow,
        release_uuid: str,
        batch_uuid: Optional[str],
        record_id: str,
        record_title: str,
        status: str,
        created_at: datetime,
        duration: timedelta = timedelta(seconds=30),
    ) -> Dict[str, Any]:
        """A Run object with every field of api-notes §1."""
        finished = status in FINISHED_STATUSES
        updated = created_at + (duration if finished else timedelta(seconds=1))
        node_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"cargo:{workflow.uuid}:{workflow.output_node_slug}"))
        return {
            "uuid": run_uuid,
            "workspaceUuid": WORKSPACE_UUID,
            "workflowUuid": workflow.uuid,
            "releaseUuid": release_uuid,
            "batchUuid": batch_uuid,
            "recordId": record_id,
            "recordTitle": record_title,
            "parentUuid": None,
            "parentBatchUuid": None,
            "parentNodeUuid": None,
            "isGroupParent": False,
            "status": status,
            "errorMessage": "Enrichment provider answered 502 Bad Gateway" if status == "error" else None,
            "executions": [
                {
                    "nodeUuid": node_uuid,
                    "nodeSlug": workflow.output_node_slug,
                    "status": status,
                    "startedAt": iso(created_at),
                    "finishedAt": iso(updated) if finished else None,
                }
            ],
            "createdAt": iso(created_at),
            "updatedAt": iso(updated),
            "finishedAt": iso(updated) if finished else None,
            "deletedAt": None,
        }

    def output_for(self, run: Dict[str, Any]) -> Dict[str, Any]:
        """The output node's data of a run: generated for successful runs, empty for the others."""
        if run["uuid"] in self.output_overrides:
            return dict(self.output_overrides[run["uuid"]])
        if run["status"] != "success":
            return {}
        rng = random.Random(f"{self.seed}:{run['uuid']}")
        if run["workflowUuid"] == ENRICH_WORKFLOW_UUID:
            company = rng.choice(COMPANIES)
            return {
                "company": company,
                "domain": "".join(ch for ch in company.lower() if ch.isascii() and ch.isalnum())[:12] + ".example",
                "employees": rng.choice((0, 7, 42, 1200, 250000)),
                "zip_code": rng.choice(ZIP_CODES),
                "city": rng.choice(CITIES),
                "notes": rng.choice(NOTES),
                "phone": rng.choice(PHONES),
                "linkedin_url": rng.choice(("", f"https://www.linkedin.com/company/{rng.randrange(10**6)}")),
                "revenue": rng.choice((None, 0.0, 1234.5, 98765432.1)),
            }
        output = {
            "account": rng.choice(COMPANIES),
            "score": rng.choice((round(rng.uniform(0, 100), 2), 0, 100)),
            "tier": rng.choice(("A", "B", "C")),
            "is_customer": rng.random() < 0.3,
            "signals": rng.sample(SIGNALS, rng.randrange(0, 3)),
            "owner_email": rng.choice((None, "ana@example.com", "żółw@example.pl")),
        }
        if parse_time(run["createdAt"]) >= self.now - self.LATE_COLUMN_SINCE:
            output["v2_segment"] = rng.choice(("enterprise", "mid-market", ""))
        return output

"""The automations `vlmhb deploy` keeps on the Prefect server (idempotent: created when missing, updated when
they differ from what the settings say, else left alone).

    vlmhb: crash silent per-model runs  a per-model run (tag vlmhb-heartbeat) that sent a heartbeat, then
                                        none for VLMHB_DEAD_AFTER_S, is marked Crashed: the zombie automation
                                        of Prefect's docs (docs.prefect.io/v3/advanced/detect-zombie-flows),
                                        scoped to the runs whose heartbeat frequency this project sets
    vlmhb: benchmark failed             a `benchmark` run that ends Failed (pairs failed, or a quality gate),
                                        Crashed (pairs errored by the harness) or TimedOut posts to the
                                        webhook VLMHB_ALERT_WEBHOOK_URL: the nightly is the run nobody watches

The webhook's URL lives in a Prefect Webhook block (vlmhb-alerts, a secret field), never in the automation.
"""

from __future__ import annotations

from datetime import timedelta

from flows.liveness import HEARTBEAT_TAG

ZOMBIES = "vlmhb: crash silent per-model runs"
ALERTS = "vlmhb: benchmark failed"
WEBHOOK_BLOCK = "vlmhb-alerts"
ENDED_BADLY = ("prefect.flow-run.Failed", "prefect.flow-run.Crashed", "prefect.flow-run.TimedOut")
ALERT_PAYLOAD = """{
  "text": {{ ("VLMHyperBench: benchmark run " ~ flow_run.name ~ " ended " ~ flow_run.state.name ~ ": "
             ~ (flow_run.state.message or "")) | tojson }},
  "flow_run": "{{ flow_run.id }}",
  "name": {{ flow_run.name | tojson }},
  "state": "{{ flow_run.state.name }}",
  "message": {{ (flow_run.state.message or "") | tojson }},
  "deployment": {{ (deployment.name if deployment else "") | tojson }},
  "url": {{ (flow_run | ui_url or "") | tojson }}
}"""
"""Valid JSON whatever the message holds (tojson); `text` is what Slack, Mattermost or Teams show."""


def zombie_automation(dead_after_s: float):
    from prefect.automations import Automation
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    return Automation(
        name=ZOMBIES,
        description=(
            f"A VLMHyperBench per-model run (tag {HEARTBEAT_TAG}) that sent no heartbeat for "
            f"{dead_after_s:g} s is marked Crashed: its host died. Made by vlmhb deploy (VLMHB_DEAD_AFTER_S)."
        ),
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
            },
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            match_related=ResourceSpecification(
                {"prefect.resource.role": "tag", "prefect.resource.id": f"prefect.tag.{HEARTBEAT_TAG}"}
            ),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=dead_after_s),
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message=f"no heartbeat for {dead_after_s:g} s: its host is taken for dead (vlmhb deploy)",
            )
        ],
    )


def alert_automation(block_document_id):
    from prefect.automations import Automation
    from prefect.events.actions import CallWebhook
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification

    return Automation(
        name=ALERTS,
        description="A VLMHyperBench benchmark run ended Failed, Crashed or TimedOut: the webhook "
        f"of the block {WEBHOOK_BLOCK} is called. Made by `vlmhb deploy` (VLMHB_ALERT_WEBHOOK_URL).",
        trigger=EventTrigger(
            expect=set(ENDED_BADLY),
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            match_related=ResourceSpecification(
                {"prefect.resource.role": "flow", "prefect.resource.name": "benchmark"}
            ),
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[CallWebhook(block_document_id=block_document_id, payload=ALERT_PAYLOAD)],
    )


def _shape(automation) -> dict:
    """What makes two automations the same: everything but their ids."""
    data = automation.model_dump(mode="json", exclude={"id", "owner_resource", "created", "updated"})
    data["trigger"].pop("id", None)
    return data


async def ensure_automation(client, wanted) -> str:
    """Creates WANTED, or updates the automation of its name where it differs; returns what it did."""
    from prefect.automations import AutomationCore

    found = await client.read_automations_by_name(wanted.name)
    if not found:
        await client.create_automation(AutomationCore(**wanted.model_dump(exclude={"id"})))
        return f"automation {wanted.name!r}: created"
    existing = found[0]
    if _shape(existing) == _shape(wanted):
        return f"automation {wanted.name!r}: exists"
    core = AutomationCore(**wanted.model_dump(exclude={"id", "owner_resource"}))
    await client.update_automation(automation_id=existing.id, automation=core)
    return f"automation {wanted.name!r}: updated"


async def ensure_webhook_block(url: str) -> tuple[object, str]:
    """The Webhook block that holds URL (made or overwritten only when it differs); (its id, what it did)."""
    from prefect.blocks.webhook import Webhook

    headers = {"Content-Type": "application/json"}
    try:
        block = await Webhook.aload(WEBHOOK_BLOCK)
    except ValueError:  # no such block yet
        block = None
    if (
        block is not None
        and block.url.get_secret_value() == url
        and block.headers.get_secret_value() == headers
    ):
        return block._block_document_id, f"webhook block {WEBHOOK_BLOCK}: exists"
    made = "updated" if block is not None else "created"
    block_id = await Webhook(url=url, headers=headers).asave(WEBHOOK_BLOCK, overwrite=True)
    return block_id, f"webhook block {WEBHOOK_BLOCK}: {made}"


async def ensure_automations() -> list[str]:
    """The zombie automation always; the alert one when VLMHB_ALERT_WEBHOOK_URL is set."""
    from prefect import get_client

    from vlmhb_core.settings import Settings

    settings = Settings()
    done = []
    async with get_client() as client:
        done.append(await ensure_automation(client, zombie_automation(settings.dead_after_s)))
        if settings.alert_webhook_url is None:
            done.append(f"automation {ALERTS!r}: not made (set VLMHB_ALERT_WEBHOOK_URL to be told)")
            return done
        block_id, line = await ensure_webhook_block(settings.alert_webhook_url.get_secret_value())
        done.append(line)
        done.append(await ensure_automation(client, alert_automation(block_id)))
    return done

"""``/mara schedule …`` in Slack and the App Home's schedule list with Pause / Resume, over signed
HTTP requests against the running app and the fake Slack Web API (``tests/test_slack.py``)."""

from __future__ import annotations

import itertools
import json
from urllib.parse import urlencode

import pytest

from assistant.testing.fake_slack import TEAM_ID
from tests.test_slack import Slack, slack
from tests.test_slack_home import home_opened, signed_form

__all__ = ["slack"]

_n = itertools.count(1)


def slash(fx: Slack, text: str, user: str = "USCHED1", channel: str = "CSCHEDULE1") -> str:
    body = urlencode({"command": "/mara", "text": text, "team_id": TEAM_ID, "user_id": user, "channel_id": channel,
                      "response_url": f"{fx.fake.base_url}/response/{next(_n)}", "trigger_id": f"t{next(_n)}"})
    answer = signed_form(fx, body)
    assert answer.status_code == 200, answer.text
    return answer.text  # the ephemeral answer (Bolt acks with plain text)


@pytest.mark.integration
def test_slash_schedule_saves_a_question_for_this_channel_owned_by_the_user(slack: Slack) -> None:
    said = slash(slack, "schedule every Monday at 9:00 Europe/Berlin: how many customers do we have")
    sid = said.split()[1].rstrip(":")
    schedule = slack.bot.runtime.schedules.store.get(sid)
    assert (schedule.owner, schedule.cron, schedule.timezone, schedule.destinations) == (
        f"slack:{TEAM_ID}:USCHED1", "0 9 * * mon", "Europe/Berlin", ["slack:CSCHEDULE1"])


@pytest.mark.integration
def test_slash_schedule_with_a_bad_cadence_says_what_is_accepted(slack: Slack) -> None:
    said = slash(slack, "schedule whenever you like: revenue")
    assert said.startswith("Not scheduled: I can't read the cadence 'whenever you like'")


@pytest.mark.integration
def test_another_slack_user_cannot_pause_it(slack: Slack) -> None:
    said = slash(slack, "schedule every day at 7am: how many orders")
    sid = said.split()[1].rstrip(":")
    assert slash(slack, f"schedule pause {sid}", user="UOTHER") == f"You have no schedule '{sid}'. `/mara schedule list` shows yours."
    assert slash(slack, f"schedule pause {sid}").startswith("Paused:")


@pytest.mark.integration
def test_app_home_lists_the_users_schedules_and_pauses_with_a_click(slack: Slack) -> None:
    sid = slash(slack, "schedule every day at 8:00: how many customers", user="UHOMES").split()[1].rstrip(":")
    assert slack.post(home_opened("UHOMES")).status_code == 200
    view = slack.fake.wait_for(lambda calls: any(c.method == "views.publish" and c.params.get("user_id") == "UHOMES"
                                                 for c in calls))
    published = [c for c in view if c.method == "views.publish" and c.params.get("user_id") == "UHOMES"][-1]
    blocks = published.params["view"]
    blocks = (json.loads(blocks) if isinstance(blocks, str) else blocks)["blocks"]
    button = next(b["accessory"] for b in blocks if b.get("accessory", {}).get("value") == sid)
    payload = {"type": "block_actions", "team": {"id": TEAM_ID}, "user": {"id": "UHOMES", "team_id": TEAM_ID},
               "api_app_id": "AMARA", "token": "x", "trigger_id": f"{next(_n)}.1.a",
               "container": {"type": "view", "view_id": "V1"}, "view": {"id": "V1", "type": "home"},
               "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "b", "value": sid,
                            "action_ts": "1800000000.1"}]}
    assert signed_form(slack, urlencode({"payload": json.dumps(payload)})).status_code == 200
    slack.fake.wait_for(lambda calls: len([c for c in calls if c.method == "views.publish"
                                           and c.params.get("user_id") == "UHOMES"]) >= 2)
    assert button["text"]["text"] == "Pause" and slack.bot.runtime.schedules.store.get(sid).paused

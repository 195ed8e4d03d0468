"""`mara eval routing`: which capability a request reaches, read from the turn's tool calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.evaluation.answers import QuestionSetError
from assistant.evaluation.routing import load_routing_set, reached, run_routing_set
from foundation.settings import MaraSettings

DEV_SET = Path(__file__).parent / "data" / "answers" / "routing_dev.yaml"


def test_run_sql_counts_as_a_data_question() -> None:
    assert reached([{"name": "run_sql", "args": {}}]) == "query_data"


def test_offer_lookup_before_drafting_counts_as_copy() -> None:
    calls = [{"name": "search_knowledge", "args": {"query": "win-back offer code"}}, {"name": "draft_copy", "args": {}}]
    assert reached(calls) == "draft_copy"


def test_knowledge_search_alone_stays_knowledge() -> None:
    assert reached([{"name": "search_knowledge", "args": {}}]) == "search_knowledge"


def test_no_tool_call_is_none() -> None:
    assert reached([]) == "none"


def test_the_first_call_decides() -> None:
    assert reached([{"name": "predict_churn", "args": {}}, {"name": "draft_copy", "args": {}}]) == "predict_churn"


def test_dev_set_has_forty_requests_over_every_capability() -> None:
    _, requests = load_routing_set(DEV_SET)
    assert len(requests) >= 40 and len({r.expect for r in requests}) == 9


def test_unknown_capability_names_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("requests:\n- {id: x-1, request: hello, expect: make_coffee}\n")
    with pytest.raises(QuestionSetError, match="entry x-1 expects 'make_coffee', not a capability"):
        load_routing_set(path)


@pytest.mark.integration
def test_requests_reach_their_capability_in_the_real_loop(settings: MaraSettings, tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        "requests:\n"
        "- {id: a, request: 'How many customers do we have?', expect: query_data}\n"
        "- {id: b, request: 'what tables do we have?', expect: describe_data}\n"
        "- {id: c, request: 'orders by channel', expect: query_data}\n"
        "- {id: d, follow_up: true, request: 'make that a pie chart', expect: make_chart}\n"
    )
    report = run_routing_set(path, home=settings.home, settings=settings)
    assert [r.got for r in report.results] == ["query_data", "describe_data", "query_data", "make_chart"]


MARKETER = Path(__file__).parent / "data" / "answers" / "routing_marketer.yaml"
MARKETER_HOLDOUT = Path(__file__).parent / "data" / "answers" / "routing_marketer_holdout.yaml"


def test_the_help_text_without_a_tool_is_help() -> None:
    from assistant.planner.model import HELP_TEXT

    assert reached([], HELP_TEXT) == "help"


def test_a_clarifying_question_without_a_tool_is_none() -> None:
    assert reached([], "Did you mean revenue or orders?") == "none"


def test_marketer_set_covers_every_capability_but_charts_on_several_schemas() -> None:
    _, requests = load_routing_set(MARKETER)
    assert {r.expect for r in requests} >= {
        "query_data", "describe_data", "rfm_segments", "cluster_customers", "predict_churn", "customer_lifetime_value",
        "recommend_products", "analyze_feedback", "search_knowledge", "draft_copy", "save_audience", "help"}
    assert len({r.data for r in requests}) >= 6


def test_marketer_holdout_shares_no_request_with_the_dev_part() -> None:
    _, dev = load_routing_set(MARKETER)
    _, held = load_routing_set(MARKETER_HOLDOUT)
    assert not {r.request.lower() for r in dev} & {r.request.lower() for r in held}


def test_data_must_name_an_answer_set_beside_the_file(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("requests:\n- {id: x-1, request: revenue by plan, expect: query_data, data: ../../etc}\n")
    with pytest.raises(QuestionSetError, match="entry x-1 names data '../../etc', which is no answer-set folder"):
        load_routing_set(path)


def test_an_analyst_move_answers_a_data_question() -> None:
    from assistant.evaluation.routing import is_right

    assert (is_right("query_data", "compare_periods"), is_right("compare_periods", "query_data"),
            is_right("rfm_segments", "compare_periods")) == (True, False, False)


ROUND4 = Path(__file__).parent / "data" / "answers" / "routing_round4.yaml"


def test_round4_set_covers_every_capability_and_repeats_no_earlier_request() -> None:
    _, round4 = load_routing_set(ROUND4)
    earlier = {r.request.lower() for f in (DEV_SET, MARKETER, MARKETER_HOLDOUT) for r in load_routing_set(f)[1]}
    assert {r.expect for r in round4} >= {
        "query_data", "describe_data", "rfm_segments", "cluster_customers", "predict_churn", "customer_lifetime_value",
        "recommend_products", "analyze_feedback", "search_knowledge", "draft_copy", "save_audience", "help",
        "make_chart", "explain_change", "find_anomalies"}
    assert not {r.request.lower() for r in round4} & earlier



ROUND5 = Path(__file__).parent / "data" / "answers" / "routing_round5.yaml"


def test_round5_set_covers_every_capability_and_repeats_no_earlier_request() -> None:
    _, round5 = load_routing_set(ROUND5)
    earlier = {r.request.lower() for f in (DEV_SET, MARKETER, MARKETER_HOLDOUT, ROUND4) for r in load_routing_set(f)[1]}
    assert {r.expect for r in round5} >= {
        "query_data", "describe_data", "rfm_segments", "cluster_customers", "predict_churn", "customer_lifetime_value",
        "recommend_products", "analyze_feedback", "search_knowledge", "draft_copy", "save_audience", "help",
        "make_chart", "explain_change", "find_anomalies"}
    assert not {r.request.lower() for r in round5} & earlier

def test_after_holding_a_request_is_the_turn_sent_before(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("requests:\n- {id: x-1, after: 'revenue by channel', request: as a pie chart, expect: make_chart}\n")
    _, requests = load_routing_set(path)
    assert requests[0].after == "revenue by channel"


def test_after_naming_an_earlier_id_sends_no_extra_turn(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("requests:\n- {id: x-1, request: revenue by channel, expect: query_data}\n"
                    "- {id: x-2, follow_up: true, after: x-1, request: as a pie chart, expect: make_chart}\n")
    _, requests = load_routing_set(path)
    assert requests[1].after is None


def test_after_naming_an_unknown_id_names_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("requests:\n- {id: x-2, follow_up: true, after: x-1, request: as a pie chart, expect: make_chart}\n")
    with pytest.raises(QuestionSetError, match="entry x-2 comes after 'x-1', which is no earlier entry"):
        load_routing_set(path)


FOLLOWUPS = Path(__file__).parent / "data" / "answers" / "routing_followups.yaml"
FOLLOWUPS_HOLDOUT = Path(__file__).parent / "data" / "answers" / "routing_followups_holdout.yaml"


def test_followups_holdout_shares_no_request_with_the_dev_part() -> None:
    _, dev = load_routing_set(FOLLOWUPS)
    _, held = load_routing_set(FOLLOWUPS_HOLDOUT)
    assert not {r.request.lower() for r in dev} & {r.request.lower() for r in held}

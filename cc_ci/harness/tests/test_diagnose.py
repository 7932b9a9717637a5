"""What a converge or health timeout says, and which causes are the CI's (pure)."""

from __future__ import annotations

import pytest

from cc_ci.contract.record import ErrorClass
from cc_ci.harness.deploy.diagnose import check_command, classify, describe_task, diagnosis
from cc_ci.harness.deploy.lifecycle import unanswered

HC = {"Test": ["CMD-SHELL", "false"], "Interval": 5_000_000_000}


def running(err=""):
    return {"Status": {"State": "running", "Err": err, "ContainerStatus": {"ExitCode": 0}}}


def test_an_unhealthy_task_names_the_check_its_failures_and_its_last_exit():
    health = {"Status": "unhealthy", "FailingStreak": 6, "Log": [{"ExitCode": 1, "Output": ""}]}
    line = describe_task("app", running(), health, HC, 45.2)
    assert line == 'app: unhealthy after 45 s — health check "false" failed 6 times (exit 1)'


def test_the_last_output_of_the_check_is_shown_on_one_line():
    log = [{"ExitCode": 7, "Output": "curl: (7) Failed\n to connect\n"}]
    health = {"Status": "starting", "FailingStreak": 2, "Log": log}
    hc = {"Test": ["CMD", "curl", "-f", "http://localhost/"]}
    line = describe_task("web", running(), health, hc, 30)
    assert line == (
        'web: not healthy yet after 30 s — health check "curl -f http://localhost/" has not '
        "passed (exit 7: curl: (7) Failed to connect)"
    )


def test_a_task_that_failed_says_its_state_error_and_exit_code():
    task = {"Status": {"State": "failed", "Err": "task: non-zero exit (3)",
                       "ContainerStatus": {"ExitCode": 3}}}  # fmt: skip
    assert describe_task("db", task, None, None, 60) == (
        "db: task failed after 60 s — task: non-zero exit (3), exit 3"
    )


def test_a_task_without_an_image_is_an_image_error_and_a_pending_one_a_converge_error():
    no_image = {"Status": {"State": "rejected", "Err": "No such image: replica/x:1"}}
    pending = {"Status": {"State": "pending", "Err": "no suitable node (insufficient resources on 1 node)"}}  # fmt: skip
    crash = {"Status": {"State": "failed", "Err": "task: non-zero exit (1)"}}
    d = diagnosis([describe_task("app", no_image, None, None, 10)])
    assert d.error_class is ErrorClass.IMAGE
    assert d.message() == "app: task rejected after 10 s — No such image: replica/x:1"
    assert diagnosis([describe_task("app", pending, None, None, 10)]).error_class is ErrorClass.CONVERGE  # fmt: skip
    assert diagnosis([describe_task("app", crash, None, None, 10)]).error_class is None


@pytest.mark.parametrize(
    "text,cls",
    [
        ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock", ErrorClass.DOCKER),
        ("Error response from daemon: This node is not a swarm manager.", ErrorClass.DOCKER),
        ("pull access denied for foo, repository does not exist", ErrorClass.IMAGE),
        ("toomanyrequests: You have reached your pull rate limit", ErrorClass.IMAGE),
        ("manifest for nginx:9 not found: manifest unknown", ErrorClass.IMAGE),
        ("abra app deploy failed (exit 1): FATA compose.yml: services.app: bad key", None),
        ("tests failed", None),
    ],
)
def test_messages_are_classed_by_what_docker_says(text, cls):
    assert classify(text) is cls


def test_a_failed_docker_command_of_the_harness_is_the_daemons_trouble():
    from cc_ci.harness.deploy.docker import DockerError

    assert classify("docker service ls failed: EOF", DockerError("x")) is ErrorClass.DOCKER
    assert classify("docker service ls failed: EOF") is None


def test_a_health_check_command_reads_as_the_compose_file_wrote_it():
    assert check_command({"Test": ["NONE"]}) == ""
    assert check_command(None) == ""
    assert check_command({"Test": ["CMD", "pg_isready", "-U", "x"]}) == "pg_isready -U x"


def test_a_health_url_that_answers_wrongly_is_the_recipes_and_a_refused_proxy_the_cis():
    url = "https://app.ci.test/health"
    assert unanswered(url, (200,), 40, 502) == (f"{url} answered 502, not 200, for 40 s", None)
    msg, cls = unanswered(url, (200, 302), 40, ConnectionRefusedError(111, "Connection refused"))
    assert cls is ErrorClass.HEALTH
    assert msg == f"{url} did not answer within 40 s: [Errno 111] Connection refused"
    assert unanswered(url, (200,), 5, TimeoutError("timed out"))[1] is None

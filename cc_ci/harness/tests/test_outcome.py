"""What a run's results mean (cc_ci/harness/outcome.py): every stage outcome, every skip
message, the blame rule for each kind of deployment, and the run's status and exit code.

The strings here are a contract: the run record (docs/run-record.md), the PR comment and the
end-to-end tests read them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cc_ci.contract.names import STAGES
from cc_ci.contract.record import (
    Counts,
    ErrorClass,
    RunStatus,
    StageResult,
    StageStatus,
    Teardown,
    TeardownStatus,
)
from cc_ci.harness.outcome import (
    ENDED_EARLY,
    INTERRUPTED,
    NO_PREVIOUS_RELEASE,
    NO_RECIPE_TESTS,
    ExitCode,
    Fault,
    Outcome,
    PhaseResult,
    Step,
    blame,
    fault_outcome,
    no_tests,
    not_run,
    phase_result,
    pytest_could_not_run,
    run_error_class,
    run_status,
    sandbox_exit,
    stage_outcome,
    teardown_raised,
    teardown_result,
    total,
)
from cc_ci.harness.plan import DeployKind, plan_run

P, F, E, S = StageStatus.PASSED, StageStatus.FAILED, StageStatus.ERROR, StageStatus.SKIPPED
JUNIT = Path("/results/run/install.verify.junit.xml")


def ran(returncode: int, passed: int = 0, failed: int = 0, note: str = "") -> PhaseResult:
    return phase_result(returncode, Counts(passed=passed, failed=failed), JUNIT, note)


# -- one pytest phase ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "returncode,failed,message",
    [
        (0, False, ""),
        (1, True, "tests failed"),
        (2, True, "the suite could not be collected or was interrupted"),
        (5, False, ""),
    ],
)
def test_a_phase_fails_on_pytests_exit_1_or_2_and_says_which(returncode, failed, message):
    result = PhaseResult(returncode, Counts(), JUNIT)
    assert (result.failed, result.message) == (failed, message)


def test_a_phase_cut_short_says_why_instead_of_its_exit_code():
    result = PhaseResult(1, Counts(), None, "pytest timed out after 900s")
    assert result.failed and result.message == "pytest timed out after 900s"


def test_a_phase_cut_short_counts_one_error_unless_its_junit_shows_a_failure():
    assert phase_result(1, Counts(passed=2), None, "killed").counts == Counts(passed=2, errors=1)
    assert phase_result(1, Counts(failed=1), JUNIT, "killed").counts == Counts(failed=1)
    assert phase_result(1, Counts(errors=2), JUNIT, "killed").counts == Counts(errors=2)
    # a phase that pytest finished is counted as its JUnit says
    assert phase_result(1, Counts(passed=2), JUNIT).counts == Counts(passed=2)
    assert phase_result(0, Counts(), None).counts == Counts()


@pytest.mark.parametrize(
    "returncode,wrote_junit,could_not_run",
    [
        (0, True, False),
        (0, False, False),
        (1, True, False),  # a failing test
        (1, False, True),  # failed before any test result was written
        (2, True, False),  # collection errors, reported per file in the JUnit
        (2, False, True),
        (3, True, True),  # pytest's internal error
        (3, False, True),
        (4, True, True),  # a usage error: cc-ci called pytest wrongly
        (4, False, True),
        (5, True, False),  # no tests collected: the stage is skipped, not an error
        (5, False, False),
    ],
)
def test_pytest_itself_failing_is_told_apart_from_a_failing_test(
    returncode, wrote_junit, could_not_run
):
    assert pytest_could_not_run(returncode, wrote_junit) is could_not_run


@pytest.mark.parametrize(
    "exit_code,timed_out,oom,expected",
    [
        (137, True, False, (1, "the recipe's tests timed out after 20s")),
        (0, True, False, (1, "the recipe's tests timed out after 20s")),
        (0, False, False, (0, "")),
        (1, False, False, (1, "")),
        (2, False, False, (2, "")),
        (5, False, False, (5, "")),
        (1, False, True, (1, "")),  # pytest finished; a child of its was OOM-killed
        (137, False, True, (1, "the recipe's tests were killed: over the 2g memory cap")),
        (
            137,
            False,
            False,
            (1, "the recipe's tests ended with exit code 137 (pytest's own are 0-5)"),
        ),
        (3, False, False, (1, "the recipe's tests ended with exit code 3 (pytest's own are 0-5)")),
    ],
)
def test_how_the_recipe_tests_container_ended_is_the_tests_doing(
    exit_code, timed_out, oom, expected
):
    got = sandbox_exit(exit_code, timed_out=timed_out, timeout=20, oom_killed=oom, memory="2g")
    assert got == expected


def test_recipe_tests_killed_at_the_stage_timeout_fail_recipe_local_saying_so():
    code, note = sandbox_exit(137, timed_out=True, timeout=20, oom_killed=False, memory="2g")
    result = stage_outcome("recipe-local", "demo", [phase_result(code, Counts(), None, note)])
    assert result == Outcome(F, "recipe-local: the recipe's tests timed out after 20s")


# -- one stage -------------------------------------------------------------------------------


def test_a_stage_whose_tests_ran_and_passed_passes_with_no_message():
    assert stage_outcome("install", "demo", [ran(0, passed=6)]) == Outcome(P, "")
    phases = [ran(0, passed=1), ran(0, passed=1), ran(0, passed=3)]
    assert stage_outcome("backup", "demo", phases) == Outcome(P, "")


def test_a_stage_fails_by_its_first_failed_phase():
    phases = [ran(0, passed=1), ran(1, failed=1), ran(2)]
    assert stage_outcome("upgrade", "demo", phases) == Outcome(F, "upgrade: tests failed")
    phases = [ran(2), ran(1, failed=1)]
    assert stage_outcome("backup", "demo", phases) == Outcome(
        F, "backup: the suite could not be collected or was interrupted"
    )


def test_a_stage_failed_by_a_timeout_names_the_timeout():
    phases = [ran(0, passed=1), phase_result(1, Counts(), None, "pytest timed out after 900s")]
    assert stage_outcome("install", "demo", phases) == Outcome(
        F, "install: pytest timed out after 900s"
    )


@pytest.mark.parametrize(
    "phases",
    [
        [],  # no phase ran: no test file for the stage
        [PhaseResult(5, Counts(), None)],  # pytest collected nothing
        [PhaseResult(0, Counts(skipped=3), JUNIT)],  # every test skipped itself
        [PhaseResult(5, Counts(), None), PhaseResult(0, Counts(skipped=1), JUNIT)],
    ],
)
def test_a_stage_in_which_no_test_ran_is_skipped_saying_where_tests_were_looked_for(phases):
    assert stage_outcome("backup", "demo", phases) == Outcome(
        S, "no tests for backup in tests/demo/"
    )
    assert stage_outcome("recipe-local", "demo", phases) == Outcome(
        S, "the recipe's tests/ holds no tests"
    )


def test_a_stage_counts_its_phases_together():
    assert total([]) is None
    assert total([ran(0, passed=1), ran(1, passed=2, failed=1)]) == Counts(passed=3, failed=1)


def test_every_skip_message_reads_as_the_run_record_shows_it():
    assert NO_PREVIOUS_RELEASE == "no previous release tag to upgrade from"
    assert Outcome(S, "the recipe ships no tests/") == NO_RECIPE_TESTS
    assert no_tests("install", "keycloak") == "no tests for install in tests/keycloak/"
    assert no_tests("upgrade", "keycloak") == "no tests for upgrade in tests/keycloak/"
    assert no_tests("backup", "keycloak") == "no tests for backup in tests/keycloak/"
    assert no_tests("recipe-local", "keycloak") == "the recipe's tests/ holds no tests"
    assert not_run("deployment failed: x") == "not run: deployment failed: x"
    assert INTERRUPTED == "the run was interrupted"
    assert Outcome(E, "the run ended before this stage ran") == ENDED_EARLY


def test_the_plan_skips_upgrade_without_a_previous_release_with_outcomes_message():
    assert plan_run(("install", "upgrade"), ()).skipped == (("upgrade", NO_PREVIOUS_RELEASE),)


# -- a fault that ended a stage or a deployment ----------------------------------------------

D = "the detail"
H = ErrorClass.HARNESS
FAULTS = [
    # the recipe's fault: the app did not deploy or become healthy → failed
    (Fault.UNHEALTHY, Step.STAGE, Outcome(F, f"deployment failed: {D}")),
    (Fault.UNHEALTHY, Step.RESTORE, Outcome(F, f"unhealthy after restore: {D}")),
    (Fault.UNHEALTHY, Step.UPGRADE, Outcome(F, f"upgrade from 1.0.0+1.0: {D}")),
    (Fault.UNHEALTHY, Step.DEPLOYMENT, Outcome(F, f"deployment failed: {D}")),
    (Fault.UNHEALTHY, Step.RUN, Outcome(F, f"deployment failed: {D}")),
    # the PR's fault: the policy gate refused its compose files → failed, the gate's summary
    (Fault.REFUSED, Step.STAGE, Outcome(F, D)),
    (Fault.REFUSED, Step.RESTORE, Outcome(F, D)),
    (Fault.REFUSED, Step.UPGRADE, Outcome(F, D)),
    (Fault.REFUSED, Step.DEPLOYMENT, Outcome(F, D)),
    (Fault.REFUSED, Step.RUN, Outcome(F, D)),
    # cc-ci could not carry it out → error; inside a stage the stage is named
    # (class `harness` unless a class is given)
    (Fault.CANNOT, Step.STAGE, Outcome(E, f"backup: {D}", H)),
    (Fault.CANNOT, Step.RESTORE, Outcome(E, f"backup: {D}", H)),
    (Fault.CANNOT, Step.UPGRADE, Outcome(E, D, H)),
    (Fault.CANNOT, Step.DEPLOYMENT, Outcome(E, D, H)),
    (Fault.CANNOT, Step.RUN, Outcome(E, D, H)),
    # an interruption is an error wherever it lands
    *[(Fault.INTERRUPTED, step, Outcome(E, "the run was interrupted", H)) for step in Step],
]


def test_the_fault_table_covers_every_fault_at_every_step():
    assert {(f, s) for f, s, _ in FAULTS} == {(f, s) for f in Fault for s in Step}


@pytest.mark.parametrize("fault,step,expected", FAULTS)
def test_a_fault_fails_or_errors_its_stage(fault, step, expected):
    assert fault_outcome(fault, D, step, stage="backup", previous="1.0.0+1.0") == expected


@pytest.mark.parametrize("cls", [ErrorClass.DOCKER, ErrorClass.IMAGE, ErrorClass.CONVERGE])
@pytest.mark.parametrize("step", [Step.DEPLOYMENT, Step.UPGRADE, Step.RESTORE])
def test_an_unhealthy_app_whose_cause_is_the_cis_is_an_error_of_that_class(cls, step):
    got = fault_outcome(Fault.UNHEALTHY, D, step, previous="1.0.0+1.0", error_class=cls)
    assert (got.status, got.error_class) == (E, cls)
    assert D in got.message


def test_cannot_takes_the_class_it_is_given():
    got = fault_outcome(Fault.CANNOT, D, Step.RUN, error_class=ErrorClass.DOCKER)
    assert got == Outcome(E, D, ErrorClass.DOCKER)


def test_a_runs_error_class_is_its_first_errors_and_retryable_only_for_docker_or_image():
    clean, left = Teardown(TeardownStatus.CLEAN), Teardown(TeardownStatus.LEFTOVER, 1.0, ("x",))
    classes = [ErrorClass.IMAGE, ErrorClass.HARNESS]
    assert run_error_class(RunStatus.ERROR, clean, classes) == (ErrorClass.IMAGE, True)
    assert run_error_class(RunStatus.ERROR, left, []) == (ErrorClass.TEARDOWN, False)
    assert run_error_class(RunStatus.ERROR, clean, []) == (ErrorClass.HARNESS, False)
    assert run_error_class(RunStatus.ERROR, clean, [ErrorClass.DOCKER]) == (ErrorClass.DOCKER, True)
    for cls in (ErrorClass.CONVERGE, ErrorClass.HEALTH, ErrorClass.HARNESS):
        assert run_error_class(RunStatus.ERROR, clean, [cls]) == (cls, False)
    for status in (RunStatus.PASSED, RunStatus.FAILED):
        assert run_error_class(status, left, classes) == (None, False)


def test_no_backup_bot_two_is_a_backup_stage_error_naming_it():
    abra = (
        "abra app backup failed (exit 1): "
        "FATA no backupbot service found on this server: deploy the backup-bot-two recipe first"
    )
    result = fault_outcome(Fault.CANNOT, abra, Step.STAGE, stage="backup")
    assert result.status == E
    assert result.message.startswith("backup: abra app backup failed")
    assert "backup-bot-two" in result.message


# -- who is blamed when a deployment fails ---------------------------------------------------


def record(**given: StageStatus) -> tuple[StageResult, ...]:
    """The record's stages in its order (STAGES): those given, with their status
    (recipe_local= for recipe-local), or all four pending."""
    wanted = {k.replace("_", "-"): v for k, v in given.items()}
    wanted = wanted or dict.fromkeys(STAGES, StageStatus.PENDING)
    return tuple(StageResult(n, wanted[n]) for n in STAGES if n in wanted)


FULL = plan_run(STAGES, ("1.0.0+1.0",))
FRESH, UPGRADE = FULL.deployments
REFUSED = Outcome(F, "policy: refused: a bind mount of /var/run/docker.sock")


def test_the_kinds_of_deployment_are_fresh_for_three_stages_and_upgrade_for_one():
    assert (FRESH.kind, FRESH.stages) == (DeployKind.FRESH, ("install", "recipe-local", "backup"))
    assert (UPGRADE.kind, UPGRADE.stages) == (DeployKind.UPGRADE, ("upgrade from 1.0.0+1.0",))


def test_a_fresh_deployment_that_fails_blames_its_first_stage_and_skips_the_others():
    stages = record(
        install=StageStatus.RUNNING,
        upgrade=P,
        backup=StageStatus.PENDING,
        recipe_local=StageStatus.PENDING,
    )
    failed = fault_outcome(Fault.UNHEALTHY, "timed out after 300s", Step.DEPLOYMENT)
    assert blame(stages, failed, FRESH.stages) == (
        ("install", Outcome(F, "deployment failed: timed out after 300s")),
        ("recipe-local", Outcome(S, "not run: deployment failed: timed out after 300s")),
        ("backup", Outcome(S, "not run: deployment failed: timed out after 300s")),
    )


def test_a_fresh_deployment_refused_by_the_gate_fails_install_and_skips_recipe_local():
    stages = record(install=StageStatus.RUNNING, recipe_local=StageStatus.PENDING)
    plan = plan_run(("install", "recipe-local"), ("1.0.0+1.0",))
    assert blame(stages, REFUSED, plan.deployments[0].stages) == (
        ("install", REFUSED),
        ("recipe-local", Outcome(S, f"not run: {REFUSED.message}")),
    )


def test_a_fresh_deployment_that_fails_mid_way_blames_the_running_stage_and_keeps_the_finished():
    stages = record(
        install=P, upgrade=P, backup=StageStatus.PENDING, recipe_local=StageStatus.RUNNING
    )
    crashed = fault_outcome(
        Fault.CANNOT, "pytest could not run the recipe-local suite", Step.DEPLOYMENT
    )
    assert blame(stages, crashed, FRESH.stages) == (
        ("recipe-local", Outcome(E, "pytest could not run the recipe-local suite", H)),
        ("backup", Outcome(S, "not run: pytest could not run the recipe-local suite")),
    )


def test_a_fresh_deployment_with_no_stage_running_blames_its_first_stage_in_run_order():
    # the record lists backup before recipe-local; the deployment runs recipe-local first
    stages = record(backup=StageStatus.PENDING, recipe_local=StageStatus.PENDING)
    plan = plan_run(("backup", "recipe-local"), ())
    assert [s.name for s in stages] == ["backup", "recipe-local"]
    assert blame(stages, REFUSED, plan.deployments[0].stages)[0] == ("recipe-local", REFUSED)


def test_an_upgrade_deployment_blames_only_its_own_row():
    rows = (
        StageResult("install", P),
        StageResult("upgrade from 1.0.0+1.0", StageStatus.RUNNING),
        StageResult("upgrade from 0.9.0+0.9", StageStatus.PENDING),
        StageResult("backup", P),
    )
    crashed = fault_outcome(Fault.CANNOT, "abra app new failed (exit 1): x", Step.DEPLOYMENT)
    assert blame(rows, crashed, UPGRADE.stages) == (
        ("upgrade from 1.0.0+1.0", Outcome(E, "abra app new failed (exit 1): x", H)),
    )


def test_a_deployment_whose_stages_all_finished_blames_nobody():
    stages = record(install=P, upgrade=S, backup=F, recipe_local=E)
    assert blame(stages, REFUSED, FRESH.stages) == ()
    assert blame(stages, ENDED_EARLY) == ()


def test_an_interrupted_run_blames_the_running_stage_and_skips_every_open_one_of_either_deployment():
    stages = record(
        install=P,
        upgrade=StageStatus.PENDING,
        backup=StageStatus.PENDING,
        recipe_local=StageStatus.RUNNING,
    )
    interrupted = fault_outcome(Fault.INTERRUPTED, "", Step.RUN)
    assert blame(stages, interrupted) == (
        ("upgrade", Outcome(S, "not run: the run was interrupted")),
        ("backup", Outcome(S, "not run: the run was interrupted")),
        ("recipe-local", Outcome(E, "the run was interrupted", H)),
    )


def test_a_run_that_fails_before_any_deployment_blames_its_first_stage():
    stages = record()
    failed = fault_outcome(Fault.CANNOT, "git fetch failed: not found", Step.RUN)
    assert blame(stages, failed) == (
        ("install", Outcome(E, "git fetch failed: not found", H)),
        ("upgrade", Outcome(S, "not run: git fetch failed: not found")),
        ("backup", Outcome(S, "not run: git fetch failed: not found")),
        ("recipe-local", Outcome(S, "not run: git fetch failed: not found")),
    )


def test_a_stage_the_plan_skipped_is_not_blamed():
    stages = record(install=StageStatus.RUNNING, upgrade=S)
    assert [n for n, _ in blame(stages, ENDED_EARLY)] == ["install"]


# -- the teardown and the run ----------------------------------------------------------------


def test_the_teardown_is_not_needed_clean_or_leftover():
    assert teardown_result([]) == Teardown(TeardownStatus.NOT_NEEDED, None, (), None)
    assert teardown_result([(3.014, []), (2.0, [])]) == Teardown(
        TeardownStatus.CLEAN, 5.01, (), "teardown.log"
    )
    assert teardown_result([(3.0, []), (1.0, ["volume x_content"])]) == Teardown(
        TeardownStatus.LEFTOVER, 4.0, ("volume x_content",), "teardown.log"
    )


def test_a_teardown_that_raised_leaves_something_unknown_behind():
    left = teardown_raised("docker: connection refused")
    assert left == ["unknown (docker: connection refused)"]
    assert teardown_result([(1.0, left)]).status == TeardownStatus.LEFTOVER


CLEAN, LEFT, NONE = (
    Teardown(TeardownStatus.CLEAN),
    Teardown(TeardownStatus.LEFTOVER, leftovers=("volume x",)),
    Teardown(),
)
R, W = StageStatus.RUNNING, StageStatus.PENDING


@pytest.mark.parametrize(
    "statuses,teardown,expected",
    [
        # one stage, each status, each teardown
        ((P,), CLEAN, (P, 0)),
        ((P,), NONE, (P, 0)),
        ((P,), LEFT, (E, 2)),
        ((F,), CLEAN, (F, 1)),
        ((F,), NONE, (F, 1)),
        ((F,), LEFT, (E, 2)),
        ((E,), CLEAN, (E, 2)),
        ((E,), NONE, (E, 2)),
        ((E,), LEFT, (E, 2)),
        ((S,), CLEAN, (F, 1)),  # nothing was tested: never a pass
        ((S,), NONE, (F, 1)),
        ((S,), LEFT, (E, 2)),
        ((R,), CLEAN, (E, 2)),  # a stage still open never makes a pass
        ((W,), NONE, (E, 2)),
        # error beats failed beats passed; skipped stages beside a pass do not matter
        ((P, P, P, P), CLEAN, (P, 0)),
        ((P, S), CLEAN, (P, 0)),
        ((S, S, S, S), NONE, (F, 1)),
        ((P, F), CLEAN, (F, 1)),
        ((P, F, S), CLEAN, (F, 1)),
        ((P, E), CLEAN, (E, 2)),
        ((F, E), CLEAN, (E, 2)),
        ((P, F, E, S), CLEAN, (E, 2)),
        ((P, P, R), CLEAN, (E, 2)),
    ],
)
def test_the_runs_status_and_exit_code(statuses, teardown, expected):
    stages = tuple(StageResult(n, s) for n, s in zip(STAGES, statuses, strict=False))
    status, code = run_status(stages, teardown)
    assert (status, int(code)) == expected


def test_the_exit_codes_are_0_passed_1_failed_2_error():
    assert [(c.name, int(c)) for c in ExitCode] == [("PASSED", 0), ("FAILED", 1), ("ERROR", 2)]

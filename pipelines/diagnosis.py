"""Why a run did not finish, said in one line: the step's own error, a server of the stack that is
gone, or an orchestrator that never started it."""

from __future__ import annotations

import logging
from typing import Any

from zenml.client import Client
from zenml.enums import ExecutionStatus
from zenml.orchestrators.publish_utils import publish_failed_pipeline_run

from core import errors
from core.errors import OrchestratorError, StackUnreachableError, StepFailedError, UserFacingError
from stacks.health import unreachable_components

# ZenML's local orchestrator logs every failed step with its traceback on the console, before the
# run's failure reaches the CLI, which says it in one line naming the step's log, where the
# traceback is kept (and `--debug` prints the CLI's own). The message stays; the traceback goes.
LOCAL_ORCHESTRATOR_LOGGER = "zenml.orchestrators.local.local_orchestrator"


class _WithoutTraceback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        return True


logging.getLogger(LOCAL_ORCHESTRATOR_LOGGER).addFilter(_WithoutTraceback())


def unfinished_run_error(run: Any) -> OrchestratorError:
    """The orchestrator returned before the run finished. One it never started (no orchestrator run
    id: ZenML's Kubeflow orchestrator only logs an unreachable KFP API) is marked failed, so it
    does not stay `provisioning`; one that is running elsewhere is left to run."""
    orchestrator = Client().active_stack.orchestrator
    where = f"orchestrator '{orchestrator.name}' ({orchestrator.flavor})"
    if run.orchestrator_run_id is None:
        publish_failed_pipeline_run(run.id)
        return OrchestratorError(
            f"{where} did not start run {run.name} (see its log above); the run is marked failed, "
            "nothing was promoted"
        )
    return OrchestratorError(
        f"{where} returned while run {run.name} is {run.status.value}: this command reports finished "
        f"runs only; follow it with `zenml pipeline runs get {run.name}`"
    )


def run_failure_error(run_name_template: str, error: Exception) -> UserFacingError | None:
    """What went wrong with a failed run, as one user-facing error, if the store can tell.

    Orchestrators report a failed run differently (the local one raises, others only record it),
    so the store's record of the run is the one place that tells the same on every stack: a step's
    own user-facing error, a step that failed because a server of the stack is gone, an
    orchestrator that never started the run, or any other error of a step, with its log.
    """
    prefix = run_name_template.split("{", 1)[0]
    suffix = run_name_template.rsplit("}", 1)[-1]
    runs = Client().list_pipeline_runs(name=f"endswith:{suffix}", sort_by="desc:created", size=1)
    for run in runs.items:
        if not run.name.startswith(prefix):
            continue
        for name, step_run in run.steps.items():
            info = step_run.exception_info
            if step_run.status != ExecutionStatus.FAILED or info is None or not info.source:
                continue
            error_class = getattr(errors, info.source.rsplit(".", 1)[-1], None)
            if isinstance(error_class, type) and issubclass(error_class, UserFacingError):
                return error_class(f"step {name}: {info.message}")
        if not run.steps:
            orchestrator = Client().active_stack.orchestrator
            return OrchestratorError(
                f"orchestrator '{orchestrator.name}' ({orchestrator.flavor}) did not start run {run.name}: "
                f"{' '.join(str(error).split())}; no step ran, nothing was promoted"
            )
        failed = [name for name, step_run in run.steps.items() if step_run.status == ExecutionStatus.FAILED]
        problems = unreachable_components(Client().active_stack)
        if problems:
            return StackUnreachableError(
                f"step {', '.join(failed) or '(none)'} failed: {'; '.join(problems)}; nothing was promoted "
                "(`python run.py servers status` shows the local servers)"
            )
        for name in failed:
            step_run = run.steps[name]
            info = step_run.exception_info
            if info is not None:
                kind = info.source.rsplit(".", 1)[-1] if info.source else "error"
                return StepFailedError(
                    f"step {name} of run {run.name} failed: {kind}: {_first_line(info.message)} "
                    f"(its log: {_step_log(step_run)})"
                )
    return None


def _first_line(message: str | None) -> str:
    lines = [line.strip() for line in (message or "").strip().splitlines() if line.strip()]
    return lines[0] if lines else "(no message)"


def _step_log(step_run: Any) -> str:
    """Where the step's own log is kept (a file or a URI of the artifact store), or how to see it."""
    for logs in step_run.log_collection or []:
        if logs.source == "step" and logs.uri:
            return str(logs.uri)
    return f"`zenml pipeline runs get {step_run.pipeline_run_id}`"

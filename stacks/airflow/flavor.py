"""The `local_airflow` orchestrator flavor: ZenML's Airflow orchestrator for an Airflow on this machine.

ZenML's own `airflow` flavor only writes the run's DAG (a zip) into Airflow's dags folder and returns:
the caller gets a run in `provisioning`, and a DAG that never runs leaves it there for good. This
flavor adds what a local, CLI-driven run needs, and nothing else:

- every step's environment gets ZENML_CONFIG_PATH and PYTHONPATH=<source root> (ZenML's step
  entrypoint does `chdir("/app")`, so the project's modules must come from PYTHONPATH), plus the
  project's Python and checkout for the local operator (ZENML_LOCAL_STEP_PYTHON, ZENML_LOCAL_STEP_CWD);
- the operator defaults to `local_operator.LocalSubprocessOperator` (on the Airflow processes'
  PYTHONPATH), which runs each step as a subprocess of that Python;
- the run's metadata names the DAG (`airflow_dag_id`, `airflow_dag_file`); Airflow's run id is the
  run's `orchestrator_run_id`;
- `synchronous: true` (default) waits until the ZenML run is finished and, with `api_url`, until
  Airflow's DagRun is too, then removes the DAG file. It fails the ZenML run (and pauses and removes
  the DAG) when Airflow reports an import error for the DAG file, a DagRun that failed while the
  ZenML run was not finished, or nothing starts within `start_timeout_seconds`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from pydantic import Field, field_validator
from zenml.integrations.airflow.flavors.airflow_orchestrator_flavor import (
    AirflowOrchestratorConfig,
    AirflowOrchestratorFlavor,
    AirflowOrchestratorSettings,
)
from zenml.integrations.airflow.orchestrators.airflow_orchestrator import AirflowOrchestrator
from zenml.orchestrators import SubmissionResult

if TYPE_CHECKING:
    from uuid import UUID

    from zenml.models import PipelineRunResponse, PipelineSnapshotResponse
    from zenml.stack import Stack

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FLAVOR_NAME = "local_airflow"
LOCAL_OPERATOR = "local_operator.LocalSubprocessOperator"
AIRFLOW_DONE = {"success", "failed"}
# The client's settings that ZenML itself does not hand to its steps.
PASSED_TO_STEPS = ("DO_NOT_TRACK", "ZENML_AUTO_OPEN_DASHBOARD", "ZENML_LOGGING_VERBOSITY")


class LocalAirflowOrchestratorSettings(AirflowOrchestratorSettings):
    # ZenML builds settings from the component's *set* fields only, so the default lives here too.
    operator: str = LOCAL_OPERATOR


class LocalAirflowOrchestratorConfig(AirflowOrchestratorConfig):
    operator: str = LOCAL_OPERATOR
    synchronous: bool = Field(default=True, description="Wait until the run is finished.")
    api_url: str | None = Field(
        default=None,
        description="Airflow's API server (e.g. http://127.0.0.1:8080), to see import errors and DagRuns.",
    )
    start_timeout_seconds: float = Field(
        default=300, gt=0, description="Longest wait for Airflow to start the run's first step."
    )
    run_timeout_seconds: float | None = Field(
        default=None, gt=0, description="Longest wait for the whole run."
    )
    remove_dag_file: bool = Field(default=True, description="Remove the run's DAG file once it is finished.")
    poll_seconds: float = Field(default=2, gt=0)

    @field_validator("dag_output_dir")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        """A relative dags folder (the stack's default, in the servers' run folder) is the project's."""
        return value if value is None or os.path.isabs(value) else str(PROJECT_ROOT / value)


class LocalAirflowOrchestrator(AirflowOrchestrator):
    @property
    def config(self) -> LocalAirflowOrchestratorConfig:
        return self._config  # type: ignore[return-value]

    @property
    def settings_class(self) -> type[LocalAirflowOrchestratorSettings]:
        return LocalAirflowOrchestratorSettings

    def submit_pipeline(
        self,
        snapshot: PipelineSnapshotResponse,
        stack: Stack,
        base_environment: dict[str, str],
        step_environments: dict[str, dict[str, str]],
        placeholder_run: PipelineRunResponse | None = None,
    ) -> SubmissionResult | None:
        from zenml.config.global_config import GlobalConfiguration
        from zenml.utils import source_utils

        source_root = source_utils.get_source_root()
        for environment in step_environments.values():
            environment.setdefault("ZENML_CONFIG_PATH", GlobalConfiguration().config_directory)
            environment.setdefault("PYTHONPATH", source_root)
            environment.setdefault("ZENML_LOCAL_STEP_PYTHON", sys.executable)
            environment.setdefault("ZENML_LOCAL_STEP_CWD", source_root)
            for key in PASSED_TO_STEPS:
                if key in os.environ:
                    environment.setdefault(key, os.environ[key])
        self._dag_file: str | None = None
        super().submit_pipeline(snapshot, stack, base_environment, step_environments, placeholder_run)
        dag_file = self._dag_file
        assert dag_file is not None
        dag_id = os.path.basename(dag_file).removesuffix(".zip")
        metadata: dict[str, Any] = {"airflow_dag_id": dag_id, "airflow_dag_file": dag_file}
        if self.config.api_url:
            metadata["airflow_dag_url"] = f"{self.config.api_url.rstrip('/')}/dags/{dag_id}"
        if not self.config.synchronous or placeholder_run is None or snapshot.schedule:
            return SubmissionResult(metadata=metadata)
        run_id = placeholder_run.id
        return SubmissionResult(
            metadata=metadata, wait_for_completion=lambda: self._wait(run_id, dag_id, dag_file)
        )

    def _write_dag(self, dag_config: Any, dag_generator_values: Any, output_dir: str) -> None:
        super()._write_dag(dag_config, dag_generator_values=dag_generator_values, output_dir=output_dir)
        self._dag_file = os.path.join(output_dir, f"{dag_config.id}.zip")

    def _wait(self, run_id: UUID, dag_id: str, dag_file: str) -> None:
        from zenml.client import Client
        from zenml.enums import ExecutionStatus

        store = Client().zen_store
        started = time.monotonic()
        not_started = {ExecutionStatus.INITIALIZING, ExecutionStatus.PROVISIONING}
        while True:
            run = store.get_run(run_id, hydrate=False)
            if run.status.is_finished:
                break
            waited = time.monotonic() - started
            problem = self._airflow_problem(run_id, dag_id, dag_file)
            if problem is None and run.status in not_started and waited > self.config.start_timeout_seconds:
                problem = (
                    f"Airflow did not start DAG {dag_id} within {self.config.start_timeout_seconds:.0f} s: "
                    "are its scheduler and dag-processor running (`python run.py servers status`), "
                    f"with {os.path.dirname(dag_file)} as dags folder?"
                )
            if (
                problem is None
                and self.config.run_timeout_seconds
                and waited > self.config.run_timeout_seconds
            ):
                problem = f"run of DAG {dag_id} not finished after {self.config.run_timeout_seconds:.0f} s"
            if problem is not None:
                self._give_up(run_id, dag_id, dag_file)
                raise RuntimeError(problem)
            time.sleep(self.config.poll_seconds)
        state = self._wait_for_dag_run(dag_id)
        if self.config.remove_dag_file:
            _remove(dag_file)
        if not run.status.is_successful:
            raise RuntimeError(f"pipeline run {run.name} {run.status.value} (Airflow DAG {dag_id}: {state})")

    def _wait_for_dag_run(self, dag_id: str, timeout: float = 60) -> str | None:
        """The DagRun's final state; the last task finishes a moment after the ZenML step."""
        if not self.config.api_url:
            return None
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            runs = (self._api(f"/api/v2/dags/{dag_id}/dagRuns") or {}).get("dag_runs") or []
            state = runs[0]["state"] if runs else None
            if state in AIRFLOW_DONE:
                break
            time.sleep(self.config.poll_seconds / 2)
        return state

    def _airflow_problem(self, run_id: UUID, dag_id: str, dag_file: str) -> str | None:
        """What Airflow's API says is wrong with the DAG: an import error or a failed DagRun."""
        if not self.config.api_url:
            return None
        name = os.path.basename(dag_file)
        errors = self._api("/api/v2/importErrors", filename_pattern=name)
        for error in (errors or {}).get("import_errors", []):
            trace = (error.get("stack_trace") or "").strip().splitlines()
            reason = trace[-1] if trace else "see the dag-processor log"
            return f"Airflow cannot import DAG file {name}: {reason}"
        runs = self._api(f"/api/v2/dags/{dag_id}/dagRuns", state="failed")
        if runs and runs.get("dag_runs"):
            # A step that fails inside ZenML fails the ZenML run itself first; check again to be sure.
            time.sleep(self.config.poll_seconds)
            from zenml.client import Client

            if not Client().zen_store.get_run(run_id, hydrate=False).status.is_finished:
                failed_run = runs["dag_runs"][0]["dag_run_id"]
                return f"Airflow DagRun {failed_run} of {dag_id} failed (see its task logs)"
        return None

    def _api(self, path: str, method: str = "GET", body: Any = None, **query: str) -> dict[str, Any] | None:
        url = f"{(self.config.api_url or '').rstrip('/')}{path}"
        try:
            response = requests.request(method, url, params=query or None, json=body, timeout=10)
            response.raise_for_status()
            return dict(response.json())
        except (requests.RequestException, ValueError):
            return None  # the API being down is not by itself a reason to give up the run

    def _give_up(self, run_id: UUID, dag_id: str, dag_file: str) -> None:
        """Fail the ZenML run, and make sure Airflow never starts it later."""
        from zenml.orchestrators.publish_utils import publish_failed_pipeline_run

        if self.config.api_url:
            self._api(f"/api/v2/dags/{dag_id}", method="PATCH", body={"is_paused": True})
        _remove(dag_file)
        publish_failed_pipeline_run(run_id)


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


class LocalAirflowOrchestratorFlavor(AirflowOrchestratorFlavor):
    @property
    def name(self) -> str:
        return FLAVOR_NAME

    @property
    def config_class(self) -> type[LocalAirflowOrchestratorConfig]:
        return LocalAirflowOrchestratorConfig

    @property
    def implementation_class(self) -> type[LocalAirflowOrchestrator]:
        return LocalAirflowOrchestrator

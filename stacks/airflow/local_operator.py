"""Airflow operator that runs a ZenML step as a local subprocess instead of in a Docker container.

ZenML's Airflow DAG generator hands `image`, `command` and `environment` only to subclasses of
DockerOperator (or KubernetesPodOperator), so this operator subclasses DockerOperator, whose
constructor never contacts Docker, and replaces `execute`: ZenML's step command
(`python -m zenml.entrypoints.entrypoint ...`) runs with the project's interpreter in the
project's checkout (ZENML_LOCAL_STEP_PYTHON and ZENML_LOCAL_STEP_CWD, which the project's
`local_airflow` flavor puts into every step's environment). The image is ignored.

Only the standard library and Airflow are imported: Airflow's own environment loads this file, found
through the PYTHONPATH `python run.py servers up airflow` gives every Airflow process (not the
plugins folder, whose modules Airflow's forked processes keep in memory after an edit).
"""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Any

from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk.exceptions import AirflowException

# Taken from the worker's environment; nothing else of Airflow's (AIRFLOW__*, its venv) reaches the step.
PASSED_THROUGH = ("HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME")
SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")


class LocalSubprocessOperator(DockerOperator):
    """A DockerOperator that runs its command as a subprocess of the project's Python."""

    _process: subprocess.Popen[str] | None = None

    def _step_setting(self, name: str) -> str:
        value = self.environment.get(name)
        if not value:
            raise AirflowException(f"{name} is not in the step's environment: use the `local_airflow` flavor")
        return str(value)

    def _argv(self) -> list[str]:
        command = self.format_command(self.command)
        if not isinstance(command, list) or not command:
            raise AirflowException(f"expected the step command as a non-empty list, got {command!r}")
        argv = [str(part) for part in command]
        if argv[0] in ("python", "python3"):  # ZenML's entrypoint: `python -m zenml.entrypoints...`
            argv[0] = self._step_setting("ZENML_LOCAL_STEP_PYTHON")
        return argv

    def _step_environment(self) -> dict[str, str]:
        environment = {key: os.environ[key] for key in PASSED_THROUGH if key in os.environ}
        python_bin = os.path.dirname(self._step_setting("ZENML_LOCAL_STEP_PYTHON"))
        environment["PATH"] = os.pathsep.join([python_bin, *SYSTEM_PATH])
        environment.update({key: str(value) for key, value in self.environment.items()})
        environment.update({key: str(value) for key, value in self._private_environment.items()})
        return environment

    def execute(self, context: Any) -> None:
        argv = self._argv()
        cwd = self._step_setting("ZENML_LOCAL_STEP_CWD")
        self.log.info("Running in %s: %s", cwd, " ".join(argv))
        self._process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=self._step_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,  # on_kill stops the step and whatever it started
        )
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.log.info("%s", line.rstrip("\n"))
        code = self._process.wait()
        if code != 0:
            raise AirflowException(f"step command exited with code {code}")

    def on_kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)

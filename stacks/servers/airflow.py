"""Airflow 3 in an environment of its own (it cannot share one with ZenML's server extra; made once
in the user's cache): API server, scheduler and DAG processor, on a SQLite database in the run folder."""

from __future__ import annotations

import os

import requests

from stacks.servers.base import Launch, ProcessServer
from stacks.servers.config import PROJECT_ROOT, AirflowServerConfig
from stacks.servers.credentials import Credentials
from stacks.servers.processes import ServerError, run_setup
from stacks.tool_environments import ToolEnvironmentError, cache_root, ensure_environment


class AirflowServer(ProcessServer):
    name = "airflow"
    ready_path = "/api/v2/monitor/health"

    @property
    def config(self) -> AirflowServerConfig:
        return self.servers.airflow

    def is_ready(self, response: requests.Response) -> bool:
        """Every part the health endpoint lists is healthy, not just the API server."""
        if response.status_code >= 500:
            return False
        health = response.json()
        return all(
            health.get(part, {}).get("status") == "healthy"
            for part in ("metadatabase", "scheduler", "dag_processor")
        )

    def launch(self, credentials: Credentials) -> Launch:
        config, host, port = self.config, self.config.host, self.config.port
        home = self.folder / "home"
        timeout = self.servers.startup_timeout_seconds
        try:
            venv = ensure_environment(cache_root("airflow-envs"), "airflow-env", config.packages, timeout)
        except ToolEnvironmentError as error:
            raise ServerError(f"airflow: {error}") from None
        (home / "dags").mkdir(parents=True, exist_ok=True)
        env = self.environment(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
                # No login for the UI and REST API: every caller is admin, on loopback only.
                "AIRFLOW__CORE__AUTH_MANAGER": (
                    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__API__HOST": host,
                "AIRFLOW__API__PORT": str(port),
                "AIRFLOW__API__BASE_URL": config.url,
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{config.url}/execution/",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": str(config.dag_refresh_seconds),
                "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
                "PYTHONPATH": str(PROJECT_ROOT / "stacks" / "airflow"),  # local_operator.py
            }
        )
        setup_log = self.log.with_name("airflow-setup.log")
        airflow = str(venv / "bin" / "airflow")
        if not (home / "airflow.db").is_file():
            run_setup([airflow, "db", "migrate"], setup_log, timeout, env)
        return Launch(
            commands=[
                [airflow, "api-server", "--host", host, "--port", str(port), "--workers", "1"],
                [airflow, "scheduler", "--skip-serve-logs"],  # its log server would bind 0.0.0.0
                [airflow, "dag-processor"],
            ],
            env=env,
        )

# The image remote orchestrators (Kubernetes, Kubeflow, Airflow with containers) run the steps in:
# the project and its locked dependencies on a slim Python, as a non-root user. ZenML uses it as the
# parent image through the `docker` settings in configs/ and adds the active stack's requirements.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ZENML_ANALYTICS_OPT_IN=false

RUN groupadd --system --gid 1000 app \
    && useradd --system --uid 1000 --gid app --create-home --home-dir /home/app app

WORKDIR /app

# Dependencies first (a layer that changes only with the lock), then the code.
COPY pyproject.toml constraints.txt README.md ./
COPY cli/ cli/
COPY core/ core/
COPY steps/ steps/
COPY pipelines/ pipelines/
COPY stacks/ stacks/
RUN pip install --no-cache-dir --constraint constraints.txt ".[kubeflow,seldon]"

COPY --chown=app:app . .

USER 1000:1000
ENV HOME=/home/app
CMD ["python", "run.py", "--help"]

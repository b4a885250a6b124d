"""The running count a send's quota check reads (sending/daily.py): what is queued counts at
once, a refused write's count goes, and a bucket as committed (other engines' counts in it)
replaces the count, whatever order the writes are told in."""

from __future__ import annotations

from inbound.sending.daily import DailyCounts

A, B = "2026-12-05T10:00:00.000Z", "2026-12-05T10:15:00.000Z"


def test_queued_counts_count_and_a_refused_one_goes() -> None:
    daily = DailyCounts([(A, 4)])
    first = daily.queue(A, 2, A)
    second = daily.queue(A, 3, A)
    assert daily.since(A) == 9
    daily.done(second, False, None)
    assert daily.since(A) == 6
    daily.done(first, True, None)
    assert daily.since(A) == 6


def test_a_bucket_as_committed_replaces_the_count_told_in_any_order() -> None:
    daily = DailyCounts([])
    first, second, third = (daily.queue(A, 1, A) for _ in range(3))
    # Another engine counted 10 in A: the second write's commit says A holds 12 (its own two
    # and the other's), the third is still queued. The first, told after, changes nothing.
    daily.done(second, True, 12)
    assert daily.since(A) == 13
    daily.done(first, True, 11)
    assert daily.since(A) == 13
    daily.done(third, True, 13)
    assert daily.since(A) == 13


def test_a_new_bucket_drops_those_before_the_day() -> None:
    daily = DailyCounts([(A, 4)])
    daily.queue(B, 1, B)
    assert (daily.since(A), daily.since(B)) == (1, 1)


def test_a_write_never_told_is_settled_by_a_later_commit() -> None:
    daily = DailyCounts([])
    daily.queue(A, 1, A)  # its caller went away: never told
    later = daily.queue(A, 1, A)
    daily.done(later, True, 1)  # the first was refused: A holds the later one only
    assert daily.since(A) == 1

"""portal.concurrency: the thread pool that runs provider calls, and hands their results back in order as they
finish (the automation pass writes one chunk while the next is in flight)."""
import threading
import time

import pytest

from portal.concurrency import iter_on_threads, run_on_threads


def test_results_come_back_in_the_items_order_whatever_order_they_finish_in():
    delays = [0.05, 0.0, 0.03, 0.0, 0.01, 0.02]

    def work(index):
        time.sleep(delays[index])
        return index * 10

    assert run_on_threads(list(range(6)), work, threads=3, name="t") == [0, 10, 20, 30, 40, 50]


def test_an_early_result_is_handed_over_while_later_items_are_still_running():
    release = threading.Event()

    def work(index):
        if index > 0:
            assert release.wait(5), "the caller never saw the first result"
        return index

    results = iter_on_threads([0, 1, 2, 3], work, threads=4, name="t")
    assert next(results) == 0  # items 1–3 are blocked until the caller has this one
    release.set()
    assert list(results) == [1, 2, 3]


def test_a_failing_item_raises_at_its_turn_after_the_results_before_it():
    def work(index):
        if index == 2:
            raise ValueError("item 2 failed")
        return index

    results = iter_on_threads(list(range(5)), work, threads=2, name="t")
    assert [next(results), next(results)] == [0, 1]
    with pytest.raises(ValueError, match="item 2 failed"):
        next(results)


def test_one_thread_runs_every_item_in_the_callers_thread():
    caller = threading.get_ident()
    assert run_on_threads([1, 2], lambda item: threading.get_ident() == caller, threads=1, name="t") == [True, True]
    assert run_on_threads([], lambda item: item, threads=8, name="t") == []

"""Provider calls at once: the one thread-pool loop the automation pass and the VoIP sweep share."""
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connections


def run_on_threads(items, work, *, threads, name):
    """`work(item)` for every item on up to `threads` threads; the results in the items' order."""
    return list(iter_on_threads(items, work, threads=threads, name=name))


def iter_on_threads(items, work, *, threads, name):
    """`work(item)` for every item on up to `threads` threads, yielding the results in the items' order, each as
    soon as it and all before it are done: the caller can use the first results (write them to the database)
    while later items are still in flight.

    Each thread takes the next item when it is free and uses its own database connection, closed when it is
    done. With one thread (or one item) everything runs in the caller, on the caller's connection. An exception
    raised by `work` is raised to the caller when its item's turn comes."""
    threads = min(threads, len(items))
    if threads <= 1:
        for item in items:
            yield work(item)
        return
    finished = {}  # index → (result, exception)
    ready = threading.Condition()
    todo = queue.SimpleQueue()
    for index, item in enumerate(items):
        todo.put((index, item))

    def drain():
        try:
            while True:
                try:
                    index, item = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    outcome = (work(item), None)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller at this item's turn
                    outcome = (None, exc)
                with ready:
                    finished[index] = outcome
                    ready.notify()
        finally:
            connections.close_all()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name) as pool:
        for _ in range(threads):
            pool.submit(drain)
        for index in range(len(items)):
            with ready:
                ready.wait_for(lambda: index in finished)  # noqa: B023 - evaluated within this iteration
                result, exc = finished.pop(index)
            if exc is not None:
                raise exc
            yield result

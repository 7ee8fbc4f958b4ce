"""Provider calls at once: the one thread-pool loop the automation pass and the VoIP sweep share."""
import queue
from concurrent.futures import ThreadPoolExecutor

from django.db import connections


def run_on_threads(items, work, *, threads, name):
    """`work(item)` for every item on up to `threads` threads; the results in the items' order.

    Each thread takes the next item when it is free and uses its own database connection, closed when it is
    done. With one thread (or one item) everything runs in the caller, on the caller's connection."""
    threads = min(threads, len(items))
    if threads <= 1:
        return [work(item) for item in items]
    results = [None] * len(items)
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
                results[index] = work(item)
        finally:
            connections.close_all()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name) as pool:
        for future in [pool.submit(drain) for _ in range(threads)]:
            future.result()
    return results

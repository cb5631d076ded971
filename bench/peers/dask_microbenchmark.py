#!/usr/bin/python3
"""The workloads of `halo microbenchmark`, run on Dask distributed (Debian's python3-distributed) on this
machine, printing the same `name: value unit` lines. A local cluster of one worker process per CPU, one thread
each, as Halo's local cluster runs one worker per CPU.

Usage: bench/peers/dask_microbenchmark.py [--duration-s 2] [--clients 2]
"""
import argparse
import os
import sys
import time

from distributed import Client, LocalCluster, get_client, secede, rejoin


def noop(x):
    return x


def client_rounds(rounds, batch):
    """One client of multi_client_tasks_async, running inside a worker like Halo's nested clients."""
    client = get_client()
    done = 0
    secede()  # do not hold the worker's thread while waiting, as Halo's CPU-0 client tasks hold no CPU
    for _ in range(rounds):
        futures = client.map(noop, range(batch), pure=False)
        done += len(client.gather(futures))
    rejoin()
    return done


def rate(duration_s, body):
    start = time.perf_counter()
    units = 0
    while True:
        units += body()
        elapsed = time.perf_counter() - start
        if elapsed >= duration_s:
            return units / elapsed


def show(name, value, unit):
    print(f"{name}: {value:.2f} {unit}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration-s", type=float, default=2.0)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args()
    d = args.duration_s
    cpus = os.cpu_count() or 1
    with LocalCluster(n_workers=cpus, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1", silence_logs=40) as cluster, Client(cluster) as client:
        client.submit(noop, 0, pure=False).result()

        show("single_client_tasks_sync", rate(d, lambda: 1 if client.submit(noop, 1, pure=False).result() == 1 else 0),
             "tasks/s")

        def async_round():
            return len(client.gather(client.map(noop, range(1000), pure=False)))
        show("single_client_tasks_async", rate(d, async_round), "tasks/s")

        def multi_round():
            clients = [client.submit(client_rounds, 5, 1000, pure=False) for _ in range(args.clients)]
            return sum(client.gather(clients))
        show("multi_client_tasks_async", rate(d, multi_round), "tasks/s")

        def put_round():
            for i in range(100):
                client.scatter(i)
            return 100
        show("single_client_put_calls", rate(d, put_round), "calls/s")

        ready = client.scatter(7)
        def get_round():
            for _ in range(100):
                ready.result()
            return 100
        show("single_client_get_calls", rate(d, get_round), "calls/s")

        big = b"x" * (100 * 1024 * 1024)
        def put_big():
            future = client.scatter(big)
            future.release()
            return 1
        show("single_client_put_gigabytes", rate(d, put_big) * len(big) / 1e9, "GB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The broker/claims Redis stops answering mid-burst (a TCP proxy that stalls every
connection, new ones accepted and never answered) for HOLD seconds, then heals: either the
stalled bytes flow again (a partition that heals) or every connection is reset.

usage: s40_blackhole.py [heal|reset] [hold] [seed]
"""

import random, sys, threading, time
import lib
from proxy import Proxy

HEAL = sys.argv[1] if len(sys.argv) > 1 else "heal"
HOLD = float(sys.argv[2]) if len(sys.argv) > 2 else 8
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else 1


def run() -> None:
    rnd = random.Random(SEED)
    r = lib.Run(f"blackhole-{HEAL}", ATK_ORPHAN="12")
    red = r.redis(durable=True)
    pport = lib.free_port()
    proxy = Proxy(r.redis_port, pport)
    r.env["ATK_BROKER"] = f"redis://127.0.0.1:{pport}/0"
    workers = {"w1": r.worker("w1", 2), "w2": r.worker("w2", 2)}
    stop = threading.Event()
    restarts = []

    def supervise() -> None:
        while not stop.is_set():
            for n, w in list(workers.items()):
                if w.process.poll() is not None:
                    restarts.append(n)
                    workers[n] = r.worker(n, 2, wait=False)
            time.sleep(0.5)

    threading.Thread(target=supervise, daemon=True).start()
    _, p1 = r.gunicorn()
    _, p2 = r.gunicorn()
    items = [
        (
            rnd.choice([p1, p2]),
            "msg" if i % 2 else "voice",
            f"b{SEED}-{i}",
            f"sleep={rnd.uniform(0.05, 0.4):.2f}",
        )
        for i in range(120)
    ]
    sender = threading.Thread(target=r.send_many, args=(items, 8, 0.15))
    sender.start()
    time.sleep(rnd.uniform(1.5, 3))
    print(f"stall at {time.time():.1f}", flush=True)
    proxy.stall()
    time.sleep(HOLD)
    proxy.heal(reset=HEAL == "reset")
    print(f"healed ({HEAL}) at {time.time():.1f}", flush=True)
    sender.join()
    time.sleep(3)
    print("re-sent (Bandwidth's retry)", r.resend_failed(p1), flush=True)
    ok = r.wait_settled(150, quiet=5)
    stop.set()
    print("settled", ok, "worker restarts", restarts)
    r.verdict(f"blackhole {HEAL} hold={HOLD} seed={SEED}")
    slow = sorted((round(d, 1), i) for i, rs in r.sent.items() for _, d in rs)[-5:]
    print("slowest answers", slow)


lib.main(run)

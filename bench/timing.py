#!/usr/bin/env python3
"""Timing-oracle check (SECURITY.md J-08, E-14): do near-miss and random wrong secrets take the
same time? Sends N requests of each kind, interleaved, over one keep-alive connection, and
compares the latency distributions with a two-sample Kolmogorov-Smirnov test.

    bench/timing.py verify URL GATEWAY_ID GATEWAY_SECRET REAL_KEY [N]
    bench/timing.py client URL CLIENT_ID CLIENT_SECRET [N]

Prints medians, their difference and the KS p-value. It measures; it asserts nothing.
"""
import base64
import http.client
import json
import math
import random
import secrets
import statistics
import string
import sys
import time
from urllib.parse import urlparse

ALPHABET = string.ascii_letters + string.digits + "-_"


def ks_pvalue(a, b):
    """Two-sample KS statistic and its asymptotic p-value (Kolmogorov distribution)."""
    a, b = sorted(a), sorted(b)
    i = j = 0
    d = 0.0
    while i < len(a) and j < len(b):
        if a[i] <= b[j]:
            i += 1
        else:
            j += 1
        d = max(d, abs(i / len(a) - j / len(b)))
    n = len(a) * len(b) / (len(a) + len(b))
    lam = (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * d
    p = 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return d, min(max(p, 0.0), 1.0)


def near_miss(real):
    """Same prefix and first characters as the real secret; only the tail differs."""
    keep = len(real) - 4
    tail = "".join(random.choice(ALPHABET) for _ in range(4))
    return real[:keep] + (tail if tail != real[keep:] else "AAAA")


def random_like(real, prefix):
    return prefix + "".join(random.choice(ALPHABET) for _ in range(len(real) - len(prefix)))


def main():
    mode, url = sys.argv[1], urlparse(sys.argv[2])
    conn = http.client.HTTPConnection(url.hostname, url.port)
    if mode == "verify":
        gateway, gateway_secret, real = sys.argv[3:6]
        n = int(sys.argv[6]) if len(sys.argv) > 6 else 5000
        auth = base64.b64encode(f"{gateway}:{gateway_secret}".encode()).decode()
        headers = {"Authorization": f"Basic {auth}", "Content-Type": "application/json"}

        def send(secret):
            # Each request names its own source so the guess throttle does not get in the way.
            ip = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
            body = json.dumps({"key": secret, "ip": ip})
            conn.request("POST", "/api-keys/verify", body=body, headers=headers)
            return conn.getresponse().read()

        kinds = {"near miss": lambda: near_miss(real), "random": lambda: random_like(real, "pcak_")}
    else:
        client, real = sys.argv[3:5]
        n = int(sys.argv[5]) if len(sys.argv) > 5 else 5000
        form = {"Content-Type": "application/x-www-form-urlencoded"}

        def send(secret):
            auth = base64.b64encode(f"{client}:{secret}".encode()).decode()
            body = "grant_type=client_credentials&scope=quote:read"
            conn.request("POST", "/oauth2/token", body=body, headers={**form, "Authorization": f"Basic {auth}"})
            return conn.getresponse().read()

        kinds = {"near miss": lambda: near_miss(real), "random": lambda: random_like(real, "pcs_")}

    samples = {name: [] for name in kinds}
    for _ in range(200):  # warm-up
        send(kinds["random"]())
    order = [name for name in kinds for _ in range(n)]
    random.shuffle(order)
    for name in order:
        secret = kinds[name]()
        start = time.perf_counter_ns()
        send(secret)
        samples[name].append((time.perf_counter_ns() - start) / 1000)

    a, b = samples["near miss"], samples["random"]
    d, p = ks_pvalue(a, b)
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"TIMING mode={mode} n={n} median_near_miss_us={ma:.1f} median_random_us={mb:.1f} "
          f"median_diff_us={ma - mb:+.1f} ks_d={d:.4f} ks_p={p:.3f}")


if __name__ == "__main__":
    main()

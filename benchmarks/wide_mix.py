"""Wide-mix seeded flows CSV for timing: python wide_mix.py N_ROWS > flows.csv (1000 streams, 5000 commissioners, 500 pools,
100k providers; allocations, pooled contributions, commissioner transfers, contracts, subcontracts)."""

import random
import sys

n = int(sys.argv[1])
rnd = random.Random(1)
S, C, B, P = 1000, 5000, 500, 100_000
out = sys.stdout
out.write(
    "payer_id,payer_name,payer_kind,payee_id,payee_name,payee_kind,amount,currency,date,stream_id,reference\n"
)
i = 0


def row(a, ak, b, bk, amt):
    global i
    out.write(
        f"{a},{a},{ak},{b},{b},{bk},{amt}.{rnd.randrange(100):02d},GBP,2021-0{rnd.randint(4, 9)}-1{rnd.randint(0, 9)},,r{i}\n"
    )
    i += 1


for c in range(C):
    for s in rnd.sample(range(S), 2):
        row(f"S{s}", "stream", f"C{c}", "commissioner", rnd.randint(100000, 900000))
while i < n:
    r = rnd.random()
    c = rnd.randrange(C)
    reg = c // 50
    if r < 0.03:
        row(f"C{c}", "commissioner", f"C{(c + rnd.randint(1, 60)) % C}", "commissioner", rnd.randint(10, 500))
    elif r < 0.08:
        row(f"C{c}", "commissioner", f"B{reg * 5 + rnd.randrange(5)}", "stream", rnd.randint(100, 5000))
    elif r < 0.18:
        row(
            f"B{rnd.randrange(B)}",
            "stream",
            f"P{(reg * 1000 + rnd.randrange(1000)) % P}",
            "provider",
            rnd.randint(10, 900),
        )
    elif r < 0.21:
        row(f"P{rnd.randrange(P)}", "provider", f"P{rnd.randrange(P)}", "provider", rnd.randint(10, 300))
    else:
        row(
            f"C{c}",
            "commissioner",
            f"P{(reg * 1000 + rnd.randrange(1000)) % P}",
            "provider",
            rnd.randint(10, 2000),
        )

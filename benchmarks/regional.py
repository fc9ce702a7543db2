"""Seeded flows CSV with local mixing: python regional.py N_ROWS > flows.csv
(50 national streams, 200 regions x 25 commissioners, 5 pools a region, providers paid inside their region)."""

import random
import sys

n = int(sys.argv[1])
rnd = random.Random(2)
S, R, CPR, BPR = 50, 200, 25, 5
P = max(1000, n // 10)
PPR = P // R
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


for r in range(R):
    for c in range(CPR):
        for s in rnd.sample(range(S), 3):
            row(f"S{s}", "stream", f"C{r}-{c}", "commissioner", rnd.randint(500000, 2000000))
while i < n:
    x = rnd.random()
    r = rnd.randrange(R)
    c = rnd.randrange(CPR)
    if x < 0.01:
        row(f"C{r}-{c}", "commissioner", f"C{r}-{rnd.randrange(CPR)}", "commissioner", rnd.randint(10, 500))
    elif x < 0.05:
        row(f"C{r}-{c}", "commissioner", f"B{r}-{rnd.randrange(BPR)}", "stream", rnd.randint(100, 5000))
    elif x < 0.25:
        row(
            f"B{r}-{rnd.randrange(BPR)}",
            "stream",
            f"P{r * PPR + rnd.randrange(PPR)}",
            "provider",
            rnd.randint(10, 900),
        )
    elif x < 0.27:
        row(
            f"P{r * PPR + rnd.randrange(PPR)}",
            "provider",
            f"P{r * PPR + rnd.randrange(PPR)}",
            "provider",
            rnd.randint(10, 300),
        )
    else:
        row(
            f"C{r}-{c}", "commissioner", f"P{r * PPR + rnd.randrange(PPR)}", "provider", rnd.randint(10, 2000)
        )

"""Generated risk-rules orders and the verdicts the handler gives them under
`go test`: the reference the browser and the edge suites compare with."""

import json
import os
import random
import subprocess
from pathlib import Path

import buildtools as build


def generated_orders(count: int = 200) -> list:
    rng = random.Random(5150)
    regions = ["US", "US", "CA", "GB", "DE", "FR", "JP", "CN", "BR", "KP", "IR", "RU"]
    orders = []
    for _ in range(count):
        items = []
        for _ in range(rng.choice([1, 1, 2, 3])):
            sku = rng.choice(["A1", "B2", "C3", "GIFT-CARD"])
            qty = rng.choice([1, 1, 2, 3, 5, 60]) if sku != "GIFT-CARD" else rng.choice([1, 2, 3])
            items.append({"sku": sku, "qty": qty, "price": round(rng.choice([9.99, 25, 120, 999, 2500, 4200]) * rng.random() + 1, 2)})
        amount = round(sum(it["qty"] * it["price"] for it in items), 2)
        order = {"user": f"gen-{rng.randrange(25)}", "region": rng.choice(regions), "amount": amount,
                 "currency": rng.choice(["USD", "EUR", "GBP", "JPY"]), "items": items}
        flaw = rng.random()
        if flaw < 0.04:
            order["region"] = "usa"
        elif flaw < 0.07:
            order["amount"] = round(amount + 5, 2)
        elif flaw < 0.09:
            order["currency"] = "DOGE"
        orders.append(order)
    return orders


def go_test_verdicts(orders: list, scratch: Path) -> list:
    """[{status, body}] for ``orders`` sent in order to one v1 handler, by the engine's own go test."""
    (scratch / "orders.json").write_text(json.dumps(orders))
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off", "EDGEBOX_ORDERS": str(scratch / "orders.json"),
           "EDGEBOX_VERDICTS": str(scratch / "verdicts.json")}
    result = subprocess.run([build.go_binary(), "test", "-count=1", "-run", "TestVerdictsFor", "./riskrules/engine"],
                            cwd=build.ROOT / "modules", env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((scratch / "verdicts.json").read_text())

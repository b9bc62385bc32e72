#!/usr/bin/env python3
# Checks events.jsonl against range-proof and the checkpoint's root.
import base64, hashlib, json
m = json.load(open("manifest.json"))
a, b, n = m["first_seq"], m["last_seq"], m["tree_size"]
text = open("checkpoint").read().split("\n\n")[0].split("\n")
root = base64.b64decode(text[2])
assert int(text[1]) == n, "checkpoint size is not tree_size"
leaves, last_time = [], ""
for i, line in enumerate(open("events.jsonl", "rb").read().split(b"\n")[:-1]):
    e = json.loads(line)
    assert e["seq"] == a + i, f"line {i + 1}: seq {e['seq']}, expected {a + i}"
    if e.get("redacted"):
        leaves.append(base64.b64decode(e["leaf_hash"]))
        continue
    assert e["time"] >= last_time, f"seq {e['seq']}: time goes backwards"
    last_time = e["time"]
    leaves.append(hashlib.sha256(b"\0" + line).digest())
assert len(leaves) == b - a + 1, "events.jsonl has the wrong number of lines"
proof = iter(base64.b64decode(h) for h in open("range-proof").read().split())
def mth(lo, hi):
    if hi <= a or lo > b: return next(proof)
    if hi - lo == 1: return leaves[lo - a]
    k = 1
    while 2 * k < hi - lo: k *= 2
    return hashlib.sha256(b"\1" + mth(lo, lo + k) + mth(lo + k, hi)).digest()
assert mth(0, n) == root and next(proof, None) is None, "range proof does not match the root"
print(f"events {a}..{b} are in the signed tree of {n} events")
